/**
 * ipvsadm's exact text for every view of `view.ts` (spec 4 and 5): widths, truncation, trailing
 * spaces and all. Pure functions returning what goes to stdout, newlines included.
 *
 * Widths and cuts count bytes, as C's printf and snprintf do; a cut never splits a UTF-8
 * character (ipvsadm would leave a partial one, which a JS string cannot hold).
 */
import type { DisplayMode } from './types.js';
import type {
  ConnectionsView,
  DaemonsView,
  DestinationView,
  EndpointView,
  HeaderView,
  ListingView,
  ServiceView,
  TimeoutsView,
} from './view.js';
import { AF_INET6, IPPROTO, IP_VS_CONN_F, IP_VS_TUNNEL_TYPE } from '../wire/index.js';

/**
 * C widths count bytes. Listing fields are short and nearly always ASCII, where the byte count
 * is the length: counted here, without a call into Buffer for every field of every line.
 */
function byteLength(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  }
  return s.length;
}

/** Runs of spaces for the column widths of a listing (at most 33), made once. */
const SPACES = Array.from({ length: 34 }, (_, n) => ' '.repeat(n));

function spaces(n: number): string {
  return SPACES[n] ?? ' '.repeat(n);
}

/** `%-Ns`: left-justified in at least `width` bytes. */
function left(s: string | number | bigint, width: number): string {
  const t = String(s);
  // A number's digits are ASCII.
  const n = typeof s === 'string' ? byteLength(t) : t.length;
  return n >= width ? t : t + spaces(width - n);
}

/** `%Ns`: right-justified in at least `width` bytes. */
function right(s: string | number | bigint, width: number): string {
  const t = String(s);
  const n = typeof s === 'string' ? byteLength(t) : t.length;
  return n >= width ? t : spaces(width - n) + t;
}

/** The first `max` bytes of `s` (never splitting a character): a C buffer of max+1 bytes. */
function cut(s: string, max: number): string {
  // A UTF-16 unit is at most 3 UTF-8 bytes.
  if (s.length * 3 <= max || (s.length <= max && byteLength(s) <= max)) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = byteLength(ch);
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

/** ipvsadm's address:port text (spec 5.7): `a:p` or `[a]:p`, names when resolved, at most 59 bytes. */
export function endpointText(e: EndpointView): string {
  const a = e.host ?? e.address;
  const p = e.portName ?? String(e.port);
  return cut(e.family === AF_INET6 ? `[${a}]:${p}` : `${a}:${p}`, 59);
}

/** A `--stats`/`--rate` number in 9 columns, abbreviated unless exact (spec 5.11). */
export function largeNumber(v: bigint, exact: boolean): string {
  if (exact) {
    const s = v.toString();
    return right(s, s.length <= 8 ? 9 : s.length + 1);
  }
  if (v < 100_000_000n) return right(v, 9);
  if (v < 1_000_000_000n) return `${right(v / 1_000n, 8)}K`;
  if (v < 100_000_000_000n) return `${right(v / 1_000_000n, 8)}M`;
  if (v < 100_000_000_000_000n) return `${right(v / 1_000_000_000n, 8)}G`;
  return `${right(v / 1_000_000_000_000n, 8)}T`;
}

/** `IP Virtual Server version 1.2.1 (size=4096)` with its newline. */
export function renderHeader(h: HeaderView): string {
  return `IP Virtual Server version ${h.version} (size=${h.connTabSize})\n`;
}

const LABEL = 'Prot LocalAddress:Port';
const DEST_TITLE = '  -> RemoteAddress:Port';
const PLAIN_TITLE = 'Prot LocalAddress:Port Scheduler Flags';

/** A 33-column label and titled columns, then the real-server title alone. */
function columnsTitle(columns: readonly string[]): string {
  return `${left(LABEL, 33)}${columns.join('')}\n${DEST_TITLE}\n`;
}

/** The two title lines of a display mode (spec 5.3). */
export function renderTitle(mode: DisplayMode): string {
  switch (mode) {
    case 'stats':
      return columnsTitle(['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes'].map((t) => ` ${right(t, 8)}`));
    case 'rate':
      return columnsTitle(['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'].map((t) => ` ${right(t, 8)}`));
    case 'thresholds':
      return columnsTitle(['Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn'].map((t) => ` ${left(t, 10)}`));
    case 'persistent-conn':
      return columnsTitle(
        (
          [
            ['Weight', 9],
            ['PersistConn', 11],
            ['ActiveConn', 10],
            ['InActConn', 10],
          ] as const
        ).map(([t, w]) => ` ${left(t, w)}`),
      );
    case 'tun-info':
      return `${PLAIN_TITLE}\n${left(DEST_TITLE, 33)} Forward TunnelInfo    Weight ActiveConn InActConn\n`;
    case 'default':
      return `${PLAIN_TITLE}\n${left(DEST_TITLE, 33)} Forward Weight ActiveConn InActConn\n`;
  }
}

/** The svc_name of listings (spec 5.4): cut to 33 bytes unless IPv6. */
export function serviceLabel(s: ServiceView): string {
  if (s.fwmark !== undefined) return `FWM  ${s.fwmark}${s.family === AF_INET6 ? ' IPv6' : ''}`;
  const name = `${left(s.protocolName, 4)} ${s.endpoint ? endpointText(s.endpoint) : ''}`;
  return s.family === AF_INET6 ? name : cut(name, 33);
}

/** The service identity of `-S` lines (spec 5.8): `-t addr:port`, `-f mark [-6]`, … */
export function serviceRuleName(s: ServiceView): string {
  if (s.fwmark !== undefined) return `-f ${s.fwmark}${s.family === AF_INET6 ? ' -6' : ''}`;
  let option: string;
  switch (s.protocol) {
    case IPPROTO.TCP:
      option = '-t';
      break;
    case IPPROTO.UDP:
      option = '-u';
      break;
    case IPPROTO.SCTP:
      option = '--sctp-service';
      break;
    default:
      option = '--xxx-service';
  }
  return `${option} ${s.endpoint ? endpointText(s.endpoint) : ''}`;
}

function numbers(values: readonly bigint[], exact: boolean): string {
  return values.map((v) => largeNumber(v, exact)).join('');
}

function serviceLine(s: ServiceView, view: ListingView): string {
  const label = serviceLabel(s);
  const c = s.counters;
  if (view.mode === 'stats') {
    return `${left(label, 33)}${numbers([c.conns, c.inPkts, c.outPkts, c.inBytes, c.outBytes], view.exact)}`;
  }
  if (view.mode === 'rate') {
    return `${left(label, 33)}${numbers([c.cps, c.inPps, c.outPps, c.inBps, c.outBps], view.exact)}`;
  }
  let line = `${label} ${s.scheduler}`;
  if (s.schedFlags !== undefined) line += ` (${s.schedFlags})`;
  if (s.persistence) {
    line += ` persistent ${s.persistence.timeout}`;
    if (s.persistence.mask !== undefined) line += ` mask ${s.persistence.mask}`;
    if (s.pe) line += ` pe ${s.pe}`;
  }
  if (s.onePacket) line += ' ops';
  return line;
}

/** The destination column: cut to 28 bytes unless IPv6 (spec 5.6). */
function destinationLabel(d: DestinationView): string {
  const t = endpointText(d.endpoint);
  return d.endpoint.family === AF_INET6 ? t : cut(t, 28);
}

function destinationLine(d: DestinationView, view: ListingView): string {
  const head = `  -> ${left(destinationLabel(d), 28)}`;
  const c = d.counters;
  switch (view.mode) {
    case 'stats':
      return `${head}${numbers([c.conns, c.inPkts, c.outPkts, c.inBytes, c.outBytes], view.exact)}`;
    case 'rate':
      // cps, inpps and outpps are plain %8llu here, never abbreviated.
      return `${head} ${right(c.cps, 8)} ${right(c.inPps, 8)} ${right(c.outPps, 8)}${numbers([c.inBps, c.outBps], view.exact)}`;
    default:
      break;
  }
  const fwd = d.forwardName ?? '(null)';
  const conns = `${left(d.activeConns, 10)} ${left(d.inactiveConns, 10)}`;
  switch (view.mode) {
    case 'thresholds':
      return `${head} ${left(d.upperThreshold, 10)} ${left(d.lowerThreshold, 10)} ${conns}`;
    case 'persistent-conn':
      // The weight goes through %u here.
      return `${head} ${left(d.weight >>> 0, 9)} ${left(d.persistentConns, 11)} ${conns}`;
    case 'tun-info':
      return `${head} ${left(fwd, 7)} ${left(d.tunnel.info ?? 'n/a', 13)} ${left(d.weight, 6)} ${conns}`;
    case 'default':
      return `${head} ${left(fwd, 7)} ${left(d.weight, 6)} ${conns}`;
  }
}

/** `-L` / `-L <service>`: version line (full listing only), titles, services and real servers. */
export function renderListing(view: ListingView): string {
  return `${view.header ? renderHeader(view.header) : ''}${renderTitle(view.mode)}${renderServices(view)}`;
}

/** The service and real-server lines of `-L`, without version line and titles. */
export function renderServices(view: ListingView): string {
  let out = '';
  for (const s of view.services) {
    out += `${serviceLine(s, view)}\n`;
    for (const d of s.destinations) out += `${destinationLine(d, view)}\n`;
  }
  return out;
}

/** The `-S` flag of a forwarding method. */
function forwardSwitch(forward: number): string {
  switch (forward & IP_VS_CONN_F.FWD_MASK) {
    case IP_VS_CONN_F.MASQ:
      return '-m';
    case IP_VS_CONN_F.TUNNEL:
      return '-i';
    case IP_VS_CONN_F.LOCALNODE:
    case IP_VS_CONN_F.DROUTE:
      return '-g';
    default:
      return '(null)';
  }
}

/** `--tun-nocsum`, `--tun-csum`, `--tun-remcsum` by flag value; `?` beyond them (see view.ts). */
function tunnelFlagOption(flags: number): string {
  return ['--tun-nocsum', '--tun-csum', '--tun-remcsum'][flags] ?? '?';
}

function serviceRule(s: ServiceView): string {
  let line = `-A ${serviceRuleName(s)} -s ${s.scheduler}`;
  if (s.persistence) {
    line += ` -p ${s.persistence.timeout}`;
    if (s.persistence.mask !== undefined) line += ` -M ${s.persistence.mask}`;
  }
  if (s.pe) line += ` --pe ${s.pe}`;
  if (s.onePacket) line += ' -o';
  if (s.schedFlags !== undefined) line += ` -b ${s.schedFlags}`;
  return line;
}

function destinationRule(service: string, d: DestinationView): string {
  const base = `-a ${service} -r ${endpointText(d.endpoint)} ${forwardSwitch(d.forward)} -w ${d.weight}`;
  if (d.forward !== IP_VS_CONN_F.TUNNEL) return base;
  switch (d.tunnel.type) {
    case IP_VS_TUNNEL_TYPE.IPIP:
      return `${base} --tun-type ipip`;
    case IP_VS_TUNNEL_TYPE.GUE:
      return `${base} --tun-type gue --tun-port ${d.tunnel.port} ${tunnelFlagOption(d.tunnel.flags)}`;
    case IP_VS_TUNNEL_TYPE.GRE:
      return `${base} --tun-type gre ${tunnelFlagOption(d.tunnel.flags)}`;
    default:
      return base;
  }
}

/** `-S`: one `-A` line per service and one `-a` line per real server (spec 5.8). */
export function renderSave(view: ListingView): string {
  let out = '';
  for (const s of view.services) {
    out += `${serviceRule(s)}\n`;
    const name = serviceRuleName(s);
    for (const d of s.destinations) out += `${destinationRule(name, d)}\n`;
  }
  return out;
}

/** `-L --timeout`. */
export function renderTimeouts(view: TimeoutsView): string {
  return `Timeout (tcp tcpfin udp): ${view.tcp} ${view.tcpFin} ${view.udp}\n`;
}

/** `-L --daemon`: nothing when no daemon runs. */
export function renderDaemons(view: DaemonsView): string {
  let out = '';
  for (const d of view.daemons) {
    out += `${d.role} sync daemon (mcast=${d.interface}, syncid=${d.syncId}`;
    if (d.maxLen) out += `, maxlen=${d.maxLen}`;
    if (d.group !== undefined) out += `, group=${d.group}`;
    if (d.port) out += `, port=${d.port}`;
    if (d.ttl) out += `, ttl=${d.ttl}`;
    out += ')\n';
  }
  return out;
}

function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}

/**
 * `-L -c`: title and one line per entry (spec 5.12). When ipvsadm would fail before printing
 * (no first line) this is empty; the failure itself is in the view.
 */
export function renderConnections(view: ConnectionsView): string {
  if (view.failure?.message !== undefined) return '';
  let out = 'IPVS connection entries\n';
  out += view.persistentConn
    ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ` +
      `${left('pe name', 16)} pe_data\n`
    : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination\n`;
  for (const r of view.rows) {
    const expires = r.expires >>> 0;
    const expire = `${twoDigits(Math.floor(expires / 60))}:${twoDigits(expires % 60)}`;
    const head =
      `${left(r.protocol, 3)} ${left(expire, 6)} ${left(r.state, 11)} ` +
      `${left(endpointText(r.client), 18)} ${left(endpointText(r.virtual), 18)} `;
    const dest = endpointText(r.destination);
    out +=
      view.persistentConn && r.pe
        ? `${head}${left(dest, 16)} ${left(r.pe.name, 18)} ${r.pe.data}\n`
        : `${head}${dest}\n`;
  }
  return out;
}

/** `-v` / `--version`, and the first line of `-h`. */
export const VERSION_LINE = 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)';

/** `-v`: the version line with its newline. */
export function versionText(): string {
  return `${VERSION_LINE}\n`;
}

/** `-h` (spec 4): the whole help text, every Usage line naming `argv0`. */
export function helpText(argv0: string): string {
  const usage = [
    '-A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]',
    '-D virtual-service',
    '-C',
    '-R',
    '-S [-n]',
    '-a|e virtual-service -r server-address [options]',
    '-d virtual-service -r server-address',
    '-L|l [virtual-service] [options]',
    '-Z [virtual-service]',
    '--set tcp tcpfin udp',
    '--start-daemon {master|backup} [daemon-options]',
    '--stop-daemon {master|backup}',
    '-h',
  ].map((u) => `  ${argv0} ${u}`);
  const rest = [
    '',
    'Commands:',
    'Either long or short options are allowed.',
    '  --add-service     -A        add virtual service with options',
    '  --edit-service    -E        edit virtual service with options',
    '  --delete-service  -D        delete virtual service',
    '  --clear           -C        clear the whole table',
    '  --restore         -R        restore rules from stdin',
    '  --save            -S        save rules to stdout',
    '  --add-server      -a        add real server with options',
    '  --edit-server     -e        edit real server with options',
    '  --delete-server   -d        delete real server',
    '  --list            -L|-l     list the table',
    '  --zero            -Z        zero counters in a service or all services',
    '  --set tcp tcpfin udp        set connection timeout values',
    '  --start-daemon              start connection sync daemon',
    '  --stop-daemon               stop connection sync daemon',
    '  --help            -h        display this help message',
    '',
    'virtual-service:',
    '  --tcp-service|-t  service-address   service-address is host[:port]',
    '  --udp-service|-u  service-address   service-address is host[:port]',
    '  --sctp-service    service-address   service-address is host[:port]',
    '  --fwmark-service|-f fwmark          fwmark is an integer greater than zero',
    '',
    'Options:',
    '  --ipv6         -6                   fwmark entry uses IPv6',
    '  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,',
    '                                      the default scheduler is wlc.',
    '  --pe            engine              alternate persistence engine may be sip,',
    '                                      not set by default.',
    '  --persistent   -p [timeout]         persistent service',
    '  --netmask      -M netmask           persistent granularity mask',
    '  --real-server  -r server-address    server-address is host (and port)',
    '  --gatewaying   -g                   gatewaying (direct routing) (default)',
    '  --ipip         -i                   ipip encapsulation (tunneling)',
    '  --masquerading -m                   masquerading (NAT)',
    '  --tun-type      type                one of ipip|gue|gre,',
    '                                      the default tunnel type is ipip.',
    '  --tun-port      port                tunnel destination port',
    '  --tun-nocsum                        tunnel encapsulation without checksum',
    '  --tun-csum                          tunnel encapsulation with checksum',
    '  --tun-remcsum                       tunnel encapsulation with remote checksum',
    '  --weight       -w weight            capacity of real server',
    '  --u-threshold  -x uthreshold        upper threshold of connections',
    '  --l-threshold  -y lthreshold        lower threshold of connections',
    '  --connection   -c                   output of current IPVS connections',
    '  --timeout                           output of timeout (tcp tcpfin udp)',
    '  --daemon                            output of daemon information',
    '  --stats                             output of statistics information',
    '  --rate                              output of rate information',
    '  --exact                             expand numbers (display exact values)',
    '  --thresholds                        output of thresholds information',
    '  --persistent-conn                   output of persistent connection info',
    '  --tun-info                          output of tunnel information',
    '  --nosort                            disable sorting output of service/server entries',
    '  --sort                              does nothing, for backwards compatibility',
    '  --ops          -o                   one-packet scheduling',
    '  --numeric      -n                   numeric output of addresses and ports',
    '  --sched-flags  -b flags             scheduler flags (comma-separated)',
    'Daemon Options:',
    '  --syncid sid                        syncid for connection sync (default=255)',
    '  --sync-maxlen length                Max sync message length (default=1472)',
    '  --mcast-interface interface         multicast interface for connection sync',
    '  --mcast-group address               IPv4/IPv6 group (default=224.0.0.81)',
    '  --mcast-port port                   UDP port (default=8848)',
    '  --mcast-ttl ttl                     Multicast TTL (default=1)',
  ];
  return `${[VERSION_LINE, 'Usage:', ...usage, ...rest].join('\n')}\n`;
}
