/**
 * The view model of every ipvsadm listing: what `-L`, `-L <service>`, `-S`, `-L -c`,
 * `-L --timeout` and `-L --daemon` show, as plain data, before any text layout.
 *
 * Builders here take what the kernel (or /proc) returned plus the list format and a Resolver,
 * and decide everything that is not layout: order (spec 5.9), which counters (spec 5.11 and 10
 * item 14), name resolution (spec 5.7), signed fwmarks, flag names (spec 5.10), forwarding and
 * tunnel names (spec 5.6). `format-text.ts` turns a view into ipvsadm's exact bytes; a JSON
 * renderer can take the same views. Pure functions, no I/O.
 */
import type { DisplayMode, ListFormat, Resolver } from './types.js';
import { sortDestinations, sortServices } from './sort.js';
import type { ServiceWithDestinations } from '../model/ipvs.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO,
  IP_VS_CONN_F,
  IP_VS_STATE,
  IP_VS_SVC_F,
  IP_VS_TUNNEL_TYPE,
  bytesToAddress,
  isFwmarkKey,
  parseIPv4,
  parseIPv6,
  ZERO_STATS,
} from '../wire/index.js';
import type {
  DestinationEntry,
  Family,
  IpvsInfo,
  Netmask,
  Stats,
  SyncDaemon,
  Timeouts,
} from '../wire/index.js';

/** Counters of a row, as ipvsadm reads them (spec 5.11): the same fields as the kernel's Stats. */
export type Counters = Stats;

/** An address and port as a listing names them (spec 5.7). */
export interface EndpointView {
  family: Family;
  /** Numeric text (glibc inet_ntop form). */
  address: string;
  port: number;
  /** Reverse-lookup result; only looked up without `-n`. */
  host?: string;
  /** Service name of the port for the row's protocol; only looked up without `-n`. */
  portName?: string;
}

/** Persistence of a service (`-p`), with its granularity when it is not a single address. */
export interface PersistenceView {
  timeout: number;
  /** `255.255.255.0` (IPv4) or `64` (IPv6 prefix); absent for /32 and /128. */
  mask?: string;
}

/** One virtual service line and its real servers. */
export interface ServiceView {
  family: Family;
  /** Firewall mark as ipvsadm prints it (signed 32-bit); absent for address services. */
  fwmark?: number;
  /** IP protocol number; 0 for fwmark services. */
  protocol: number;
  /** `TCP`, `UDP`, `SCTP`, or `?` for an unknown protocol; '' for fwmark services. */
  protocolName: string;
  /** Address and port; absent for fwmark services. */
  endpoint?: EndpointView;
  scheduler: string;
  /** IP_VS_SVC_F_* bits as the kernel reported them. */
  flags: number;
  /** Scheduler-flag names joined with `,` (spec 5.10) when any of bits 0x38 is set; may be ''. */
  schedFlags?: string;
  /** Present when the service is persistent. */
  persistence?: PersistenceView;
  /** Persistence engine, '' for none (listings show it only when persistent, `-S` always). */
  pe: string;
  /** One-packet scheduling (`-o`). */
  onePacket: boolean;
  counters: Counters;
  destinations: DestinationView[];
}

/** Tunnel parameters of a real server (`--tun-info`, `-S`). */
export interface TunnelView {
  /** IP_VS_TUNNEL_TYPE_*; meaningful only for the Tunnel method. */
  type: number;
  /** `ipip`, `gue`, `gre`, or undefined for an unknown type. */
  typeName?: string;
  port: number;
  /** IP_VS_TUNNEL_ENCAP_FLAG_* value as the kernel reported it. */
  flags: number;
  /** The `--tun-info` column, e.g. `gue:6080:r+c`; undefined prints `n/a`. */
  info?: string;
}

/** One real server line. */
export interface DestinationView {
  endpoint: EndpointView;
  /** IP_VS_CONN_F forwarding method (0..7). */
  forward: number;
  /** `Masq`, `Local`, `Tunnel`, `Route`; undefined for other values (ipvsadm prints `(null)`). */
  forwardName?: string;
  /** Signed, as ipvsadm prints it. */
  weight: number;
  upperThreshold: number;
  lowerThreshold: number;
  activeConns: number;
  inactiveConns: number;
  persistentConns: number;
  tunnel: TunnelView;
  counters: Counters;
}

/** `-L`, `-L <service>` and `-S`: services in display order. */
export interface ListingView {
  kind: 'services';
  /** The `IP Virtual Server version …` line: only for the full listing. */
  header?: HeaderView;
  numeric: boolean;
  exact: boolean;
  mode: DisplayMode;
  services: ServiceView[];
}

/** The version line of a full listing. */
export interface HeaderView {
  /** `1.2.1`. */
  version: string;
  connTabSize: number;
}

/** `-L --timeout`. */
export interface TimeoutsView {
  kind: 'timeouts';
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** One running sync daemon as `-L --daemon` prints it. */
export interface DaemonView {
  role: 'master' | 'backup';
  interface: string;
  /** Signed, as ipvsadm prints it. */
  syncId: number;
  /** 0 = not shown. */
  maxLen: number;
  /** Shown when the kernel reported a group. */
  group?: string;
  /** 0 = not shown. */
  port: number;
  /** 0 = not shown. */
  ttl: number;
}

/** `-L --daemon`. */
export interface DaemonsView {
  kind: 'daemons';
  daemons: DaemonView[];
}

/** One entry of /proc/net/ip_vs_conn. */
export interface ConnectionView {
  /** Protocol text as the kernel wrote it (`TCP`, `UDP`, `SCTP`, `IP`, …). */
  protocol: string;
  /** Seconds left. */
  expires: number;
  state: string;
  client: EndpointView;
  virtual: EndpointView;
  destination: EndpointView;
  /** Persistence-engine name and data, when the line carries both. */
  pe?: { name: string; data: string };
}

/** `-L -c`. */
export interface ConnectionsView {
  kind: 'connections';
  /** `--persistent-conn`: the long title and the PE columns. */
  persistentConn: boolean;
  rows: ConnectionView[];
  /**
   * ipvsadm stops with exit status 1: with `message` (for stderr) before printing anything when the
   * file has no first line; without one after printing `rows` when a read chunk holds no field.
   */
  failure?: { status: 1; message?: string };
}

/** Every view this module builds. */
export type View = ListingView | TimeoutsView | DaemonsView | ConnectionsView;


const U32 = 0xffffffffn;

/** Signed 32-bit reading of a value, as C's `%d` of an int. */
export function signed32(n: number): number {
  return n | 0;
}

/** The version text of IP_VS_VERSION_CODE-style numbers: 0x010201 → `1.2.1`. */
export function versionText(code: number): string {
  return `${(code >> 16) & 0xff}.${(code >> 8) & 0xff}.${code & 0xff}`;
}

/** The version line's data. */
export function headerView(info: IpvsInfo): HeaderView {
  return { version: versionText(info.version), connTabSize: info.connTabSize };
}

/** Protocol name for getservbyport, or undefined when ipvsadm does not look ports up. */
function lookupProtocol(protocol: number): string | undefined {
  switch (protocol) {
    case IPPROTO.TCP:
      return 'tcp';
    case IPPROTO.UDP:
      return 'udp';
    case IPPROTO.SCTP:
      return 'sctp';
    default:
      return undefined;
  }
}

/** The protocol column of a service line. */
export function protocolName(protocol: number): string {
  switch (protocol) {
    case IPPROTO.TCP:
      return 'TCP';
    case IPPROTO.UDP:
      return 'UDP';
    case IPPROTO.SCTP:
      return 'SCTP';
    default:
      return '?';
  }
}

/** An address:port, resolved unless numeric; the port is named only for TCP, UDP and SCTP. */
export function endpointView(
  family: Family,
  address: string,
  port: number,
  protocol: number,
  numeric: boolean,
  resolver: Resolver,
): EndpointView {
  const e: EndpointView = { family, address, port };
  if (numeric) return e;
  const host = resolver.hostName(address, family);
  if (host !== undefined) e.host = host;
  const proto = lookupProtocol(protocol);
  if (proto !== undefined) {
    const name = resolver.serviceName(port, proto);
    if (name !== undefined) e.portName = name;
  }
  return e;
}

/** Scheduler-flag names (spec 5.10): they depend on the scheduler. */
export function schedFlagNames(scheduler: string, flags: number): string {
  const names: string[] = [];
  if (scheduler === 'sh' || scheduler === 'mh') {
    if (flags & IP_VS_SVC_F.SCHED1) names.push(`${scheduler}-fallback`);
    if (flags & IP_VS_SVC_F.SCHED2) names.push(`${scheduler}-port`);
  } else {
    if (flags & IP_VS_SVC_F.SCHED1) names.push('flag-1');
    if (flags & IP_VS_SVC_F.SCHED2) names.push('flag-2');
    if (flags & IP_VS_SVC_F.SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

const SCHED_FLAGS = IP_VS_SVC_F.SCHED1 | IP_VS_SVC_F.SCHED2 | IP_VS_SVC_F.SCHED3;

/** inet_ntoa of an IPv4 mask held as its host-order value (0xffffff00 → 255.255.255.0). */
function maskText(netmask: Netmask, family: Family): string | undefined {
  // ipvsadm looks at the service's family; the mask is whatever the kernel stored for it.
  const raw = netmask.family === AF_INET ? netmask.mask : netmask.prefix;
  if (family === AF_INET) {
    const m = raw >>> 0;
    if (m === 0xffffffff) return undefined;
    return `${m >>> 24}.${(m >>> 16) & 0xff}.${(m >>> 8) & 0xff}.${m & 0xff}`;
  }
  if (raw >>> 0 === 128) return undefined;
  return String(signed32(raw));
}

/** Service counters: the 64-bit nest if the kernel sent it, else the 32-bit one. */
function serviceCounters(stats64: Stats | undefined, stats: Stats | undefined): Counters {
  const s = stats64 ?? stats;
  return s === undefined ? NO_COUNTERS : { ...s };
}

/**
 * The counters of an entry decoded without them (`-S`, `-L` without --stats/--rate): one shared
 * object, so a big listing does no 64-bit arithmetic per line.
 */
const NO_COUNTERS: Counters = Object.freeze({ ...ZERO_STATS });

/**
 * Real-server counters: ipvsadm reads the 64-bit nest with its 32-bit reader, so connections,
 * packets and all rates keep only their low 32 bits; the byte counters are whole.
 */
function destinationCounters(stats64: Stats | undefined, stats: Stats | undefined): Counters {
  const s = stats64 ?? stats;
  if (s === undefined) return NO_COUNTERS;
  return {
    conns: s.conns & U32,
    inPkts: s.inPkts & U32,
    outPkts: s.outPkts & U32,
    inBytes: s.inBytes,
    outBytes: s.outBytes,
    cps: s.cps & U32,
    inPps: s.inPps & U32,
    outPps: s.outPps & U32,
    inBps: s.inBps & U32,
    outBps: s.outBps & U32,
  };
}

/** Forwarding-method names of the listing's Forward column. */
export function forwardName(forward: number): string | undefined {
  switch (forward & IP_VS_CONN_F.FWD_MASK) {
    case IP_VS_CONN_F.MASQ:
      return 'Masq';
    case IP_VS_CONN_F.LOCALNODE:
      return 'Local';
    case IP_VS_CONN_F.TUNNEL:
      return 'Tunnel';
    case IP_VS_CONN_F.DROUTE:
      return 'Route';
    default:
      return undefined;
  }
}

const TUNNEL_NAMES: Readonly<Record<number, string>> = {
  [IP_VS_TUNNEL_TYPE.IPIP]: 'ipip',
  [IP_VS_TUNNEL_TYPE.GUE]: 'gue',
  [IP_VS_TUNNEL_TYPE.GRE]: 'gre',
};

/** Short checksum names of the TunnelInfo column: nocsum, csum, remcsum. */
const TUNNEL_FLAG_SHORT = ['-c', '+c', 'r+c'] as const;

/**
 * The checksum part of a tunnel's info. ipvsadm indexes a three-entry table with the raw value;
 * values the kernel accepts beyond it (csum|remcsum = 3) are not reachable through ipvsadm and
 * print `?` here.
 */
function tunnelFlagShort(flags: number): string {
  return TUNNEL_FLAG_SHORT[flags] ?? '?';
}

function tunnelView(d: DestinationEntry): TunnelView {
  const c = d.config;
  const t: TunnelView = { type: c.tunnelType, port: c.tunnelPort, flags: c.tunnelFlags };
  const name = TUNNEL_NAMES[c.tunnelType];
  if (name !== undefined) t.typeName = name;
  if ((c.forward & IP_VS_CONN_F.FWD_MASK) === IP_VS_CONN_F.TUNNEL) {
    let info: string | undefined;
    switch (c.tunnelType) {
      case IP_VS_TUNNEL_TYPE.IPIP:
        info = 'ipip';
        break;
      case IP_VS_TUNNEL_TYPE.GUE:
        info = `gue:${c.tunnelPort}:${tunnelFlagShort(c.tunnelFlags)}`;
        break;
      case IP_VS_TUNNEL_TYPE.GRE:
        info = `gre:${tunnelFlagShort(c.tunnelFlags)}`;
        break;
      default:
        info = undefined;
    }
    // ipvsadm formats it into a 16-byte buffer.
    if (info !== undefined) t.info = info.slice(0, 15);
  }
  return t;
}

function destinationView(d: DestinationEntry, protocol: number, numeric: boolean, resolver: Resolver): DestinationView {
  const v: DestinationView = {
    endpoint: endpointView(d.key.family, d.key.address, d.key.port, protocol, numeric, resolver),
    forward: d.config.forward & IP_VS_CONN_F.FWD_MASK,
    weight: signed32(d.config.weight),
    upperThreshold: d.config.upperThreshold >>> 0,
    lowerThreshold: d.config.lowerThreshold >>> 0,
    activeConns: d.activeConns >>> 0,
    inactiveConns: d.inactiveConns >>> 0,
    persistentConns: d.persistentConns >>> 0,
    tunnel: tunnelView(d),
    counters: destinationCounters(d.stats64, d.stats),
  };
  const name = forwardName(d.config.forward);
  if (name !== undefined) v.forwardName = name;
  return v;
}

function serviceView(s: ServiceWithDestinations, format: ListFormat, resolver: Resolver): ServiceView {
  const k = s.key;
  const c = s.config;
  const fw = isFwmarkKey(k);
  const protocol = fw ? 0 : k.protocol;
  const v: ServiceView = {
    family: k.family,
    protocol,
    protocolName: fw ? '' : protocolName(protocol),
    scheduler: c.scheduler,
    flags: c.flags,
    pe: c.pe,
    onePacket: (c.flags & IP_VS_SVC_F.ONEPACKET) !== 0,
    counters: serviceCounters(s.stats64, s.stats),
    destinations: [],
  };
  if (fw) v.fwmark = signed32(k.fwmark);
  else v.endpoint = endpointView(k.family, k.address, k.port, protocol, format.numeric, resolver);
  if (c.flags & SCHED_FLAGS) v.schedFlags = schedFlagNames(c.scheduler, c.flags);
  if (c.flags & IP_VS_SVC_F.PERSISTENT) {
    const p: PersistenceView = { timeout: c.timeout >>> 0 };
    const mask = maskText(c.netmask, k.family);
    if (mask !== undefined) p.mask = mask;
    v.persistence = p;
  }
  const dests = format.sort ? sortDestinations(s.destinations) : s.destinations;
  v.destinations = dests.map((d) => destinationView(d, protocol, format.numeric, resolver));
  return v;
}

/**
 * `-L` (pass `info`: the version line is printed) or `-L <service>` (no `info`): services in the
 * kernel's dump order, each with its real servers in dump order; sorted here unless `--nosort`.
 */
export function buildListingView(
  services: readonly ServiceWithDestinations[],
  format: ListFormat,
  resolver: Resolver,
  info?: IpvsInfo,
): ListingView {
  const ordered = format.sort ? sortServices(services) : services;
  const view: ListingView = {
    kind: 'services',
    numeric: format.numeric,
    exact: format.exact,
    mode: format.mode,
    services: ordered.map((s) => serviceView(s, format, resolver)),
  };
  if (info) view.header = headerView(info);
  return view;
}

/** The list format of `-S [-n]`: always sorted, names unless numeric. */
export function saveFormat(numeric: boolean): ListFormat {
  return { numeric, exact: false, mode: 'default', sort: true };
}

/** `-S [-n]`: the listing view that `renderSave` prints. */
export function buildSaveView(
  services: readonly ServiceWithDestinations[],
  numeric: boolean,
  resolver: Resolver,
): ListingView {
  return buildListingView(services, saveFormat(numeric), resolver);
}

/** `-L --timeout`. */
export function buildTimeoutsView(t: Timeouts): TimeoutsView {
  return { kind: 'timeouts', tcp: signed32(t.tcp), tcpFin: signed32(t.tcpFin), udp: signed32(t.udp) };
}

/**
 * `-L --daemon`: ipvsadm keeps two slots, the first daemon in the first and every later one
 * overwriting the second, then prints each slot whose state has the master or backup bit.
 */
export function buildDaemonsView(daemons: readonly SyncDaemon[]): DaemonsView {
  const slots: SyncDaemon[] = [];
  daemons.forEach((d, i) => {
    slots[i === 0 ? 0 : 1] = d;
  });
  const out: DaemonView[] = [];
  for (const d of slots) {
    let role: DaemonView['role'];
    if (d.state & IP_VS_STATE.MASTER) role = 'master';
    else if (d.state & IP_VS_STATE.BACKUP) role = 'backup';
    else continue;
    const v: DaemonView = {
      role,
      interface: d.interface,
      syncId: signed32(d.syncId),
      maxLen: (d.maxLen ?? 0) >>> 0,
      port: (d.port ?? 0) >>> 0,
      ttl: (d.ttl ?? 0) >>> 0,
    };
    if (d.group !== undefined) v.group = d.group;
    out.push(v);
  }
  return { kind: 'daemons', daemons: out };
}

// ---------------------------------------------------------------------------------------------
// /proc/net/ip_vs_conn

/** ipvsadm reads the file with fgets into a 256-byte buffer. */
const CONN_LINE_MAX = 255;

/** The pieces fgets returns: lines, with lines longer than 255 characters split. */
function fgetsChunks(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    const end = nl === -1 ? text.length : nl + 1;
    const stop = Math.min(end, i + CONN_LINE_MAX);
    out.push(text.slice(i, stop));
    i = stop;
  }
  return out;
}

const isSpace = (ch: string | undefined): boolean =>
  ch === ' ' || ch === '\t' || ch === '\n' || ch === '\v' || ch === '\f' || ch === '\r';

/** The conversions of ipvsadm's sscanf format for a connection line. */
type Conv = 's' | 'x' | 'd';
const CONN_FORMAT: readonly Conv[] = ['s', 's', 'x', 's', 'x', 's', 'x', 's', 'd', 's', 's'];

/**
 * sscanf of one chunk: returns the converted fields (strings and numbers) and their count, or -1
 * when the input ends before the first conversion.
 */
function scanConnection(chunk: string): { n: number; fields: (string | number)[] } {
  const fields: (string | number)[] = [];
  let i = 0;
  for (const conv of CONN_FORMAT) {
    while (i < chunk.length && isSpace(chunk[i])) i++;
    if (i >= chunk.length) return { n: fields.length === 0 ? -1 : fields.length, fields };
    if (conv === 's') {
      const start = i;
      while (i < chunk.length && !isSpace(chunk[i])) i++;
      fields.push(chunk.slice(start, i));
      continue;
    }
    const m =
      conv === 'x'
        ? /^([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]+)/.exec(chunk.slice(i))
        : /^([+-]?)()([0-9]+)/.exec(chunk.slice(i));
    if (!m) return { n: fields.length, fields };
    i += m[0].length;
    const digits = conv === 'x' ? (m[2] as string) : (m[3] as string);
    let value = BigInt(conv === 'x' ? `0x${digits}` : digits);
    if (m[1] === '-') value = -value;
    // %hX stores into an unsigned short, %d into (here) an unsigned int.
    fields.push(Number(BigInt.asUintN(conv === 'x' ? 16 : 32, value)));
  }
  return { n: fields.length, fields };
}

/** strtoul(text, NULL, 16) reduced to 32 bits: the kernel's `%08X` IPv4 form. */
function strtoul16(text: string): number {
  const m = /^[\t\n\v\f\r ]*([+-]?)(?:0[xX](?=[0-9a-fA-F]))?([0-9a-fA-F]*)/.exec(text);
  if (!m || m[2] === '') return 0;
  let v = BigInt(`0x${m[2]}`);
  if (v > 0xffffffffffffffffn) v = 0xffffffffffffffffn;
  if (m[1] === '-') v = BigInt.asUintN(64, -v);
  return Number(v & U32);
}

/** The kernel's `%08X` form of an IPv4 address (a host-order value), read with strtoul. */
function hexIPv4(text: string): { family: Family; address: string } {
  const n = strtoul16(text);
  return { family: AF_INET, address: `${n >>> 24}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}` };
}

type ConnAddress = { family: Family; address: string };

/** The destination address: IPv6 text, dotted IPv4, or the kernel's 8 hex digits. */
function connAddress(text: string): ConnAddress {
  const v6 = parseIPv6(text);
  if (v6) return { family: AF_INET6, address: bytesToAddress(AF_INET6, v6) };
  const v4 = parseIPv4(text);
  if (v4) return { family: AF_INET, address: bytesToAddress(AF_INET, v4) };
  return hexIPv4(text);
}

/** The client and virtual addresses: the virtual one is read in the form the client one has. */
function connPair(client: string, virt: string): [ConnAddress, ConnAddress] {
  const c6 = parseIPv6(client);
  if (c6) {
    const v6 = parseIPv6(virt) ?? new Uint8Array(16);
    return [
      { family: AF_INET6, address: bytesToAddress(AF_INET6, c6) },
      { family: AF_INET6, address: bytesToAddress(AF_INET6, v6) },
    ];
  }
  const c4 = parseIPv4(client);
  if (c4) {
    const v4 = parseIPv4(virt) ?? new Uint8Array(4);
    return [
      { family: AF_INET, address: bytesToAddress(AF_INET, c4) },
      { family: AF_INET, address: bytesToAddress(AF_INET, v4) },
    ];
  }
  return [hexIPv4(client), hexIPv4(virt)];
}

function connProtocol(text: string): number {
  switch (text) {
    case 'TCP':
      return IPPROTO.TCP;
    case 'UDP':
      return IPPROTO.UDP;
    case 'SCTP':
      return IPPROTO.SCTP;
    default:
      return 0;
  }
}

/**
 * `-L -c [-n] [--persistent-conn]` from the text of /proc/net/ip_vs_conn: the first line is the
 * kernel's title and is skipped; every further fgets chunk is one entry, in file order.
 * Fields a malformed chunk lacks (uninitialised memory in ipvsadm) are taken as empty or 0.
 */
export function buildConnectionsView(procText: string, format: ListFormat, resolver: Resolver): ConnectionsView {
  const persistentConn = format.mode === 'persistent-conn';
  const view: ConnectionsView = { kind: 'connections', persistentConn, rows: [] };
  const chunks = fgetsChunks(procText);
  if (chunks.length === 0) {
    view.failure = { status: 1, message: 'unexpected input from /proc/net/ip_vs_conn' };
    return view;
  }
  for (const chunk of chunks.slice(1)) {
    const { n, fields } = scanConnection(chunk);
    if (n === -1) {
      view.failure = { status: 1 };
      return view;
    }
    const str = (i: number): string => {
      const f = fields[i];
      return typeof f === 'string' ? f : '';
    };
    const num = (i: number): number => {
      const f = fields[i];
      return typeof f === 'number' ? f : 0;
    };
    const protocol = str(0);
    const proto = connProtocol(protocol);
    const [c, v] = connPair(str(1), str(3));
    const d = connAddress(str(5));
    const row: ConnectionView = {
      protocol,
      expires: num(8),
      state: str(7),
      client: endpointView(c.family, c.address, num(2), proto, format.numeric, resolver),
      virtual: endpointView(v.family, v.address, num(4), proto, format.numeric, resolver),
      destination: endpointView(d.family, d.address, num(6), proto, format.numeric, resolver),
    };
    if (n === 11) row.pe = { name: str(9), data: str(10) };
    view.rows.push(row);
  }
  return view;
}
