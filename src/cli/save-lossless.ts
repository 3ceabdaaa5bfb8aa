/**
 * `ipvsadm -S [-n] --lossless`, an extension: the `-S` rules plus what `-S` drops, written so
 * that every line is accepted by Debian's `ipvsadm -R` (and ours) and rebuilds the same state.
 *
 * Compared with `-S` (spec §5.8), in this order of output:
 * - first `--set <tcp> <tcpfin> <udp>`, the current timeouts, so that connections made while the
 *   rest is restored already get them;
 * - the `-A` / `-a` lines of `-S`, except that
 *   - a fwmark is written unsigned (`-S` writes `-f -1`, which `-R` refuses and aborts on),
 *   - an address:port is never cut to 59 bytes,
 *   - `-M` is written whenever the mask is not the single-address one, persistent or not
 *     (`-S` drops the mask of a non-persistent service, which the kernel keeps),
 *   - scheduler-flag bits without an sh/mh name are written `flag-3` (`-S` writes them as an
 *     empty `-b `, which `-R` refuses), since `-b flag-3` is accepted with every scheduler,
 *   - `-a` lines end with ` -x <upper>` and ` -y <lower>` when they are not 0;
 * - last `--start-daemon master|backup --mcast-interface <if> --syncid <id>` per running sync
 *   daemon, with `--sync-maxlen`, `--mcast-group`, `--mcast-port`, `--mcast-ttl` when they
 *   differ from what the kernel would choose without them. Daemons come last because a daemon
 *   start is the line most likely to fail on another host (missing interface) and nothing else
 *   depends on it.
 *
 * Not restorable through any ipvsadm line, so not written: counters, connections, and the
 * `Local` forwarding method (written `-g`, as `-S` does).
 */
import type { ServiceWithDestinations } from '../model/ipvs.js';
import {
  AF_INET6,
  IPPROTO,
  IP_VS_CONN_F,
  IP_VS_STATE,
  IP_VS_SVC_F,
  IP_VS_TUNNEL_TYPE,
  isFwmarkKey,
  type DestinationEntry,
  type Family,
  type Netmask,
  type SyncDaemon,
  type Timeouts,
} from '../wire/index.js';
import type { Resolver } from './types.js';
import { endpointView, type EndpointView } from './view.js';

/** What `-S --lossless` prints: `-L --timeout`'s timeouts, `-S`'s table in its order, `-L --daemon`'s daemons. */
export interface LosslessTable {
  timeouts: Timeouts;
  /** Sorted as `-S` sorts (services and each one's real servers). */
  services: readonly ServiceWithDestinations[];
  daemons: readonly SyncDaemon[];
}

/** The kernel's sync defaults (spec §3.10) that a `--start-daemon` line need not repeat. */
const SYNC_DEFAULTS = { group: '224.0.0.81', port: 8848, ttl: 1, masterMtu: 1500 } as const;

/** `-S --lossless` (extension of ipvsadm's `-S`): the whole text, newlines included. */
export function renderLosslessSave(table: LosslessTable, numeric: boolean, resolver: Resolver): string {
  const t = table.timeouts;
  let out = `--set ${t.tcp >>> 0} ${t.tcpFin >>> 0} ${t.udp >>> 0}\n`;
  for (const s of table.services) {
    const name = serviceName(s, numeric, resolver);
    out += `${serviceRule(s, name)}\n`;
    for (const d of s.destinations) out += `${destinationRule(s, d, name, numeric, resolver)}\n`;
  }
  for (const d of table.daemons) {
    const line = daemonRule(d);
    if (line !== undefined) out += `${line}\n`;
  }
  return out;
}

/** `addr:port` or `[addr]:port`, names when resolved, never cut. */
function endpointText(e: EndpointView): string {
  const a = e.host ?? e.address;
  const p = e.portName ?? String(e.port);
  return e.family === AF_INET6 ? `[${a}]:${p}` : `${a}:${p}`;
}

/** The service options of every line: `-t a:p`, `-u a:p`, `--sctp-service a:p`, `-f mark [-6]`. */
function serviceName(s: ServiceWithDestinations, numeric: boolean, resolver: Resolver): string {
  const k = s.key;
  if (isFwmarkKey(k)) return `-f ${k.fwmark >>> 0}${k.family === AF_INET6 ? ' -6' : ''}`;
  const option =
    k.protocol === IPPROTO.TCP
      ? '-t'
      : k.protocol === IPPROTO.UDP
        ? '-u'
        : k.protocol === IPPROTO.SCTP
          ? '--sctp-service'
          : '--xxx-service';
  return `${option} ${endpointText(endpointView(k.family, k.address, k.port, k.protocol, numeric, resolver))}`;
}

/** The `-M` value of a mask other than the single-address one (/32, /128), as `-S` writes it; else undefined. */
export function maskOption(netmask: Netmask, family: Family): string | undefined {
  // As -S does, the mask is read in the service's family, whatever the kernel reported it as.
  const raw = (netmask.family === AF_INET6 ? netmask.prefix : netmask.mask) >>> 0;
  if (family === AF_INET6) return raw === 128 ? undefined : String(raw);
  if (raw === 0xffffffff) return undefined;
  return `${raw >>> 24}.${(raw >>> 16) & 0xff}.${(raw >>> 8) & 0xff}.${raw & 0xff}`;
}

/**
 * The `-b` value that sets exactly the service's scheduler-flag bits: the sh/mh names where they
 * exist (as `-S`), `flag-N` for the rest; undefined when no bit is set.
 */
export function restorableSchedFlags(scheduler: string, flags: number): string | undefined {
  const named = scheduler === 'sh' || scheduler === 'mh';
  const names: string[] = [];
  if (flags & IP_VS_SVC_F.SCHED1) names.push(named ? `${scheduler}-fallback` : 'flag-1');
  if (flags & IP_VS_SVC_F.SCHED2) names.push(named ? `${scheduler}-port` : 'flag-2');
  if (flags & IP_VS_SVC_F.SCHED3) names.push('flag-3');
  return names.length > 0 ? names.join(',') : undefined;
}

function serviceRule(s: ServiceWithDestinations, name: string): string {
  const c = s.config;
  let line = `-A ${name} -s ${c.scheduler}`;
  if (c.flags & IP_VS_SVC_F.PERSISTENT) line += ` -p ${c.timeout >>> 0}`;
  const mask = maskOption(c.netmask, s.key.family);
  if (mask !== undefined) line += ` -M ${mask}`;
  if (c.pe) line += ` --pe ${c.pe}`;
  if (c.flags & IP_VS_SVC_F.ONEPACKET) line += ' -o';
  const flags = restorableSchedFlags(c.scheduler, c.flags);
  if (flags !== undefined) line += ` -b ${flags}`;
  return line;
}

const FORWARD_SWITCH: Readonly<Record<number, string>> = {
  [IP_VS_CONN_F.MASQ]: '-m',
  [IP_VS_CONN_F.LOCALNODE]: '-g',
  [IP_VS_CONN_F.TUNNEL]: '-i',
  [IP_VS_CONN_F.DROUTE]: '-g',
};

const TUNNEL_FLAG_OPTIONS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'] as const;

/** `--tun-type …` of a tunnel destination, as `-S` writes it ('' for other methods). */
function tunnelOptions(d: DestinationEntry): string {
  const c = d.config;
  if ((c.forward & IP_VS_CONN_F.FWD_MASK) !== IP_VS_CONN_F.TUNNEL) return '';
  const flag = TUNNEL_FLAG_OPTIONS[c.tunnelFlags] ?? '?';
  switch (c.tunnelType) {
    case IP_VS_TUNNEL_TYPE.IPIP:
      return ' --tun-type ipip';
    case IP_VS_TUNNEL_TYPE.GUE:
      return ` --tun-type gue --tun-port ${c.tunnelPort} ${flag}`;
    case IP_VS_TUNNEL_TYPE.GRE:
      return ` --tun-type gre ${flag}`;
    default:
      return '';
  }
}

function destinationRule(
  s: ServiceWithDestinations,
  d: DestinationEntry,
  name: string,
  numeric: boolean,
  resolver: Resolver,
): string {
  const protocol = isFwmarkKey(s.key) ? 0 : s.key.protocol;
  const endpoint = endpointText(endpointView(d.key.family, d.key.address, d.key.port, protocol, numeric, resolver));
  const c = d.config;
  const forward = FORWARD_SWITCH[c.forward & IP_VS_CONN_F.FWD_MASK] ?? '(null)';
  let line = `-a ${name} -r ${endpoint} ${forward} -w ${c.weight | 0}${tunnelOptions(d)}`;
  if (c.upperThreshold >>> 0 !== 0) line += ` -x ${c.upperThreshold >>> 0}`;
  if (c.lowerThreshold >>> 0 !== 0) line += ` -y ${c.lowerThreshold >>> 0}`;
  return line;
}

/**
 * The maximum sync message length the kernel picks for a master when none is given: the
 * interface-independent 1500 minus the IP and UDP headers (28 for IPv4, 48 for an IPv6 group).
 * A backup's default follows the interface's MTU at start time, so a backup's length is
 * always written: that pins the value it has now.
 */
function masterDefaultMaxLen(group: string | undefined): number {
  return SYNC_DEFAULTS.masterMtu - (group?.includes(':') ? 48 : 28);
}

/** One `--start-daemon` line; undefined for a state that is neither master nor backup. */
function daemonRule(d: SyncDaemon): string | undefined {
  const role = d.state === IP_VS_STATE.MASTER ? 'master' : d.state === IP_VS_STATE.BACKUP ? 'backup' : undefined;
  if (role === undefined) return undefined;
  let line = `--start-daemon ${role} --mcast-interface ${d.interface} --syncid ${d.syncId >>> 0}`;
  const maxLen = (d.maxLen ?? 0) >>> 0;
  if (maxLen !== 0 && (role === 'backup' || maxLen !== masterDefaultMaxLen(d.group))) line += ` --sync-maxlen ${maxLen}`;
  if (d.group !== undefined && d.group !== SYNC_DEFAULTS.group) line += ` --mcast-group ${d.group}`;
  if (d.port && d.port !== SYNC_DEFAULTS.port) line += ` --mcast-port ${d.port}`;
  if (d.ttl && d.ttl !== SYNC_DEFAULTS.ttl) line += ` --mcast-ttl ${d.ttl}`;
  return line;
}
