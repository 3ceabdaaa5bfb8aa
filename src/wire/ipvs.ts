import { addressToBytes, bytesToAddress, type Family } from './address.js';
import { AttrCursor, AttrWriter, get, readAttrs, type RawAttr } from './attributes.js';
import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F,
  IP_VS_SVC_F,
  IPVS_CMD,
  IPVS_CMD_ATTR,
  IPVS_DAEMON_ATTR,
  IPVS_DEST_ATTR,
  IPVS_INFO_ATTR,
  IPVS_STATS_ATTR,
  IPVS_SVC_ATTR,
} from './constants.js';
import { WireError } from './errors.js';
import {
  isFwmarkKey,
  type DestinationConfig,
  type DestinationEntry,
  type DestinationKey,
  type IpvsInfo,
  type Netmask,
  type ServiceConfig,
  type ServiceEntry,
  type ServiceKey,
  type Stats,
  type SyncDaemon,
  type Timeouts,
} from './types.js';

/** One IPVS request ready for framing: the command, whether it is a dump, and its attributes. */
export interface IpvsRequest {
  cmd: number;
  dump: boolean;
  attrs: Uint8Array;
}

const NO_ATTRS = new Uint8Array(0);

function writeServiceKey(w: AttrWriter, key: ServiceKey): void {
  w.u16(IPVS_SVC_ATTR.AF, key.family);
  if (isFwmarkKey(key)) {
    w.u32(IPVS_SVC_ATTR.FWMARK, key.fwmark);
  } else {
    w.u16(IPVS_SVC_ATTR.PROTOCOL, key.protocol);
    w.bytes(IPVS_SVC_ATTR.ADDR, addressToBytes(key.family, key.address));
    w.u16be(IPVS_SVC_ATTR.PORT, key.port);
  }
}

function writeNetmask(w: AttrWriter, netmask: Netmask): void {
  // IPv4 masks travel as their four bytes in network order, IPv6 as a host-order prefix length.
  if (netmask.family === AF_INET) w.u32be(IPVS_SVC_ATTR.NETMASK, netmask.mask);
  else w.u32(IPVS_SVC_ATTR.NETMASK, netmask.prefix);
}

/** Attribute order exactly as ipvsadm sends it (spec 7.4), so traces compare byte for byte. */
function writeService(w: AttrWriter, key: ServiceKey, config: ServiceConfig, flagsMask: number): void {
  writeServiceKey(w, key);
  w.string(IPVS_SVC_ATTR.SCHED_NAME, config.scheduler);
  if (config.pe !== '') w.string(IPVS_SVC_ATTR.PE_NAME, config.pe);
  w.u32pair(IPVS_SVC_ATTR.FLAGS, config.flags, flagsMask);
  w.u32(IPVS_SVC_ATTR.TIMEOUT, config.timeout);
  writeNetmask(w, config.netmask);
}

function writeDestination(w: AttrWriter, key: DestinationKey, config: DestinationConfig): void {
  w.u16(IPVS_DEST_ATTR.ADDR_FAMILY, key.family);
  w.bytes(IPVS_DEST_ATTR.ADDR, addressToBytes(key.family, key.address));
  w.u16be(IPVS_DEST_ATTR.PORT, key.port);
  w.u32(IPVS_DEST_ATTR.FWD_METHOD, config.forward & IP_VS_CONN_F.FWD_MASK);
  w.u32(IPVS_DEST_ATTR.WEIGHT, config.weight);
  w.u8(IPVS_DEST_ATTR.TUN_TYPE, config.tunnelType);
  w.u16be(IPVS_DEST_ATTR.TUN_PORT, config.tunnelPort);
  w.u16(IPVS_DEST_ATTR.TUN_FLAGS, config.tunnelFlags);
  w.u32(IPVS_DEST_ATTR.U_THRESH, config.upperThreshold);
  w.u32(IPVS_DEST_ATTR.L_THRESH, config.lowerThreshold);
}

/**
 * The configuration ipvsadm puts in the service nest of commands that only name a service
 * (`-D -Z -a -e -d`): no scheduler, no flags, mask /32 or /128. The kernel reads only the
 * identity; we send the same bytes so traces compare with the reference.
 */
export function serviceReference(family: Family): ServiceConfig {
  return {
    scheduler: '',
    flags: 0,
    timeout: 0,
    netmask: family === AF_INET ? { family: AF_INET, mask: 0xffffffff } : { family: AF_INET6, prefix: 128 },
    pe: '',
  };
}

/** The all-zero template of `ipvsadm -L <service>` (netmask 0 as well). */
function lookupTemplate(family: Family): ServiceConfig {
  const base = serviceReference(family);
  return { ...base, netmask: family === AF_INET ? { family: AF_INET, mask: 0 } : { family: AF_INET6, prefix: 0 } };
}

function serviceNest(w: AttrWriter, key: ServiceKey, config: ServiceConfig): void {
  w.nested(IPVS_CMD_ATTR.SERVICE, () => writeService(w, key, config, 0xffffffff));
}

function build(cmd: number, fill: (w: AttrWriter) => void, dump = false): IpvsRequest {
  const w = new AttrWriter();
  fill(w);
  return { cmd, dump, attrs: w.finish() };
}

function bare(cmd: number, dump = false): IpvsRequest {
  return { cmd, dump, attrs: NO_ATTRS };
}

/** Builders for every IPVS request; each names the ipvsadm command that sends the same bytes. */
export const ipvsRequest = {
  /** `ipvsadm -A`: IPVS_CMD_NEW_SERVICE. */
  newService(key: ServiceKey, config: ServiceConfig, flagsMask = 0xffffffff): IpvsRequest {
    return build(IPVS_CMD.NEW_SERVICE, (w) =>
      w.nested(IPVS_CMD_ATTR.SERVICE, () => writeService(w, key, config, flagsMask)),
    );
  },
  /** `ipvsadm -E`: IPVS_CMD_SET_SERVICE (a full replacement when flagsMask is all ones). */
  setService(key: ServiceKey, config: ServiceConfig, flagsMask = 0xffffffff): IpvsRequest {
    return build(IPVS_CMD.SET_SERVICE, (w) =>
      w.nested(IPVS_CMD_ATTR.SERVICE, () => writeService(w, key, config, flagsMask)),
    );
  },
  /** `ipvsadm -D`: IPVS_CMD_DEL_SERVICE. */
  delService(key: ServiceKey, template = serviceReference(key.family)): IpvsRequest {
    return build(IPVS_CMD.DEL_SERVICE, (w) => serviceNest(w, key, template));
  },
  /** `ipvsadm -L <service>`: IPVS_CMD_GET_SERVICE for one service (not a dump). */
  getService(key: ServiceKey, template = lookupTemplate(key.family)): IpvsRequest {
    return build(IPVS_CMD.GET_SERVICE, (w) => serviceNest(w, key, template));
  },
  /** `ipvsadm -L`: IPVS_CMD_GET_SERVICE dump of every service. */
  getServices(): IpvsRequest {
    return bare(IPVS_CMD.GET_SERVICE, true);
  },
  /** `ipvsadm -a`: IPVS_CMD_NEW_DEST. */
  newDest(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig,
    template = serviceReference(service.family),
  ): IpvsRequest {
    return build(IPVS_CMD.NEW_DEST, (w) => {
      serviceNest(w, service, template);
      w.nested(IPVS_CMD_ATTR.DEST, () => writeDestination(w, key, config));
    });
  },
  /** `ipvsadm -e`: IPVS_CMD_SET_DEST. */
  setDest(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig,
    template = serviceReference(service.family),
  ): IpvsRequest {
    return build(IPVS_CMD.SET_DEST, (w) => {
      serviceNest(w, service, template);
      w.nested(IPVS_CMD_ATTR.DEST, () => writeDestination(w, key, config));
    });
  },
  /** `ipvsadm -d`: IPVS_CMD_DEL_DEST (the kernel reads only family, address and port). */
  delDest(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig = DEFAULT_DEST_CONFIG,
    template = serviceReference(service.family),
  ): IpvsRequest {
    return build(IPVS_CMD.DEL_DEST, (w) => {
      serviceNest(w, service, template);
      w.nested(IPVS_CMD_ATTR.DEST, () => writeDestination(w, key, config));
    });
  },
  /** The destination half of `ipvsadm -L`: IPVS_CMD_GET_DEST dump of one service. */
  getDests(service: ServiceKey): IpvsRequest {
    return build(IPVS_CMD.GET_DEST, (w) => w.nested(IPVS_CMD_ATTR.SERVICE, () => writeServiceKey(w, service)), true);
  },
  /** `ipvsadm --start-daemon`: IPVS_CMD_NEW_DAEMON; optional fields are sent only when set. */
  newDaemon(d: SyncDaemon): IpvsRequest {
    return build(IPVS_CMD.NEW_DAEMON, (w) =>
      w.nested(IPVS_CMD_ATTR.DAEMON, () => {
        w.u32(IPVS_DAEMON_ATTR.STATE, d.state);
        w.string(IPVS_DAEMON_ATTR.MCAST_IFN, d.interface);
        w.u32(IPVS_DAEMON_ATTR.SYNC_ID, d.syncId);
        if (d.maxLen) w.u16(IPVS_DAEMON_ATTR.SYNC_MAXLEN, d.maxLen);
        // Unlike service ports, the multicast port is host order on the wire.
        if (d.port) w.u16(IPVS_DAEMON_ATTR.MCAST_PORT, d.port);
        if (d.ttl) w.u8(IPVS_DAEMON_ATTR.MCAST_TTL, d.ttl);
        if (d.group !== undefined && d.group !== '') {
          if (d.group.includes(':')) w.bytes(IPVS_DAEMON_ATTR.MCAST_GROUP6, addressToBytes(AF_INET6, d.group));
          else w.bytes(IPVS_DAEMON_ATTR.MCAST_GROUP, addressToBytes(AF_INET, d.group).subarray(0, 4));
        }
      }),
    );
  },
  /** `ipvsadm --stop-daemon`: IPVS_CMD_DEL_DAEMON. */
  delDaemon(state: number, syncId = 0): IpvsRequest {
    return build(IPVS_CMD.DEL_DAEMON, (w) =>
      w.nested(IPVS_CMD_ATTR.DAEMON, () => {
        w.u32(IPVS_DAEMON_ATTR.STATE, state);
        w.string(IPVS_DAEMON_ATTR.MCAST_IFN, '');
        w.u32(IPVS_DAEMON_ATTR.SYNC_ID, syncId);
      }),
    );
  },
  /** `ipvsadm -L --daemon`: IPVS_CMD_GET_DAEMON dump. */
  getDaemons(): IpvsRequest {
    return bare(IPVS_CMD.GET_DAEMON, true);
  },
  /** `ipvsadm --set tcp tcpfin udp`: IPVS_CMD_SET_CONFIG (0 keeps a value). */
  setConfig(t: Timeouts): IpvsRequest {
    return build(IPVS_CMD.SET_CONFIG, (w) => {
      w.u32(IPVS_CMD_ATTR.TIMEOUT_TCP, t.tcp);
      w.u32(IPVS_CMD_ATTR.TIMEOUT_TCP_FIN, t.tcpFin);
      w.u32(IPVS_CMD_ATTR.TIMEOUT_UDP, t.udp);
    });
  },
  /** `ipvsadm -L --timeout`: IPVS_CMD_GET_CONFIG. */
  getConfig(): IpvsRequest {
    return bare(IPVS_CMD.GET_CONFIG);
  },
  /** The start-up query of every ipvsadm run: IPVS_CMD_GET_INFO. */
  getInfo(): IpvsRequest {
    return bare(IPVS_CMD.GET_INFO);
  },
  /** `ipvsadm -Z [service]`: IPVS_CMD_ZERO; without a service every counter is zeroed. */
  zero(service?: ServiceKey, template = service && serviceReference(service.family)): IpvsRequest {
    if (!service || !template) return bare(IPVS_CMD.ZERO);
    return build(IPVS_CMD.ZERO, (w) => serviceNest(w, service, template));
  },
  /** `ipvsadm -C`: IPVS_CMD_FLUSH. */
  flush(): IpvsRequest {
    return bare(IPVS_CMD.FLUSH);
  },
};

/** The destination ipvsadm builds before options apply: DR, weight 1, no thresholds, ipip. */
export const DEFAULT_DEST_CONFIG: DestinationConfig = Object.freeze({
  forward: IP_VS_CONN_F.DROUTE,
  weight: 1,
  upperThreshold: 0,
  lowerThreshold: 0,
  tunnelType: 0,
  tunnelPort: 0,
  tunnelFlags: 0,
});

/** Counters of a service or destination nobody has used yet. */
export const ZERO_STATS: Readonly<Stats> = Object.freeze({
  conns: 0n,
  inPkts: 0n,
  outPkts: 0n,
  inBytes: 0n,
  outBytes: 0n,
  cps: 0n,
  inPps: 0n,
  outPps: 0n,
  inBps: 0n,
  outBps: 0n,
});

// ---------------------------------------------------------------------------------------------
// Decoding. Every decoder takes the attribute area of one reply (after the genl header).

function view(payload: Uint8Array): DataView {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
}

function family(value: number, at: number): Family {
  if (value !== AF_INET && value !== AF_INET6) throw new WireError(`unknown address family ${value}`, at);
  return value;
}

/** Finds the one top-level nest `type` in a reply; WireError when it is missing. */
function topNest(v: DataView, type: number, what: string): RawAttr {
  let found: RawAttr | undefined;
  for (const a = new AttrCursor(v, 0, v.byteLength); a.next(); ) {
    if (a.type === type && !found) found = a.copy();
  }
  if (!found) throw new WireError(`${what} reply without its ${what} attribute`, 0);
  return found;
}

function decodeStats(v: DataView, nest: RawAttr, wide: boolean): Stats {
  const s: Stats = { ...ZERO_STATS };
  // In the 32-bit flavour only the byte counters are u64.
  const num = (a: RawAttr): bigint => (wide ? get.u64(v, a) : BigInt(get.u32(v, a)));
  readAttrs(v, nest.start, nest.start + nest.length, (a) => {
    switch (a.type) {
      case IPVS_STATS_ATTR.CONNS: s.conns = num(a); break;
      case IPVS_STATS_ATTR.INPKTS: s.inPkts = num(a); break;
      case IPVS_STATS_ATTR.OUTPKTS: s.outPkts = num(a); break;
      case IPVS_STATS_ATTR.INBYTES: s.inBytes = get.u64(v, a); break;
      case IPVS_STATS_ATTR.OUTBYTES: s.outBytes = get.u64(v, a); break;
      case IPVS_STATS_ATTR.CPS: s.cps = num(a); break;
      case IPVS_STATS_ATTR.INPPS: s.inPps = num(a); break;
      case IPVS_STATS_ATTR.OUTPPS: s.outPps = num(a); break;
      case IPVS_STATS_ATTR.INBPS: s.inBps = num(a); break;
      case IPVS_STATS_ATTR.OUTBPS: s.outBps = num(a); break;
      default: break; // PAD and attributes of future kernels
    }
  });
  return s;
}

function missing(what: string, attr: string, at: number): never {
  throw new WireError(`${what} lacks ${attr}`, at);
}

/**
 * Decodes one IPVS_CMD_NEW_SERVICE message (a service dump entry or GET_SERVICE reply); without
 * `withStats` the counters are skipped (they are most of the work and only --stats/--rate show them).
 */
export function decodeService(payload: Uint8Array, withStats = true): ServiceEntry {
  const v = view(payload);
  const nest = topNest(v, IPVS_CMD_ATTR.SERVICE, 'service');
  let af: number | undefined;
  let protocol: number | undefined;
  let addr: RawAttr | undefined;
  let port: number | undefined;
  let fwmark: number | undefined;
  let scheduler: string | undefined;
  let pe = '';
  let flags: number | undefined;
  let timeout: number | undefined;
  let netmask: RawAttr | undefined;
  let stats: Stats | undefined;
  let stats64: Stats | undefined;
  // A cursor, not readAttrs' object per attribute: a listing decodes every service.
  for (const a = new AttrCursor(v, nest.start, nest.start + nest.length); a.next(); ) {
    switch (a.type) {
      case IPVS_SVC_ATTR.AF: af = get.u16(v, a); break;
      case IPVS_SVC_ATTR.PROTOCOL: protocol = get.u16(v, a); break;
      case IPVS_SVC_ATTR.ADDR: addr = a.copy(); break;
      case IPVS_SVC_ATTR.PORT: port = get.u16be(v, a); break;
      case IPVS_SVC_ATTR.FWMARK: fwmark = get.u32(v, a); break;
      case IPVS_SVC_ATTR.SCHED_NAME: scheduler = get.string(v, a); break;
      case IPVS_SVC_ATTR.PE_NAME: pe = get.string(v, a); break;
      case IPVS_SVC_ATTR.FLAGS: {
        const raw = get.bytes(v, a, 8);
        const fv = new DataView(raw.buffer, raw.byteOffset, 8);
        flags = (fv.getUint32(0, true) & fv.getUint32(4, true) & ~IP_VS_SVC_F.HASHED) >>> 0;
        break;
      }
      case IPVS_SVC_ATTR.TIMEOUT: timeout = get.u32(v, a); break;
      case IPVS_SVC_ATTR.NETMASK: netmask = a.copy(); break;
      case IPVS_SVC_ATTR.STATS: if (withStats) stats = decodeStats(v, a, false); break;
      case IPVS_SVC_ATTR.STATS64: if (withStats) stats64 = decodeStats(v, a, true); break;
      default: break;
    }
  }
  const at = nest.start;
  if (af === undefined) missing('service', 'AF', at);
  const fam = family(af, at);
  let key: ServiceKey;
  if (fwmark !== undefined) {
    key = { family: fam, fwmark };
  } else {
    if (protocol === undefined || addr === undefined || port === undefined) {
      missing('service', 'FWMARK or PROTOCOL/ADDR/PORT', at);
    }
    const bytes = get.bytes(v, addr, fam === AF_INET ? 4 : 16);
    key = { family: fam, protocol, address: bytesToAddress(fam, bytes), port };
  }
  if (scheduler === undefined) missing('service', 'SCHED_NAME', at);
  if (flags === undefined) missing('service', 'FLAGS', at);
  if (timeout === undefined) missing('service', 'TIMEOUT', at);
  if (netmask === undefined) missing('service', 'NETMASK', at);
  const mask: Netmask =
    fam === AF_INET ? { family: AF_INET, mask: get.u32be(v, netmask) } : { family: AF_INET6, prefix: get.u32(v, netmask) };
  const entry: ServiceEntry = { key, config: { scheduler, flags, timeout, netmask: mask, pe } };
  if (stats) entry.stats = stats;
  if (stats64) entry.stats64 = stats64;
  return entry;
}

/**
 * Decodes one IPVS_CMD_NEW_DEST dump entry. `serviceFamily` stands in for a missing
 * ADDR_FAMILY, as on kernels before 3.18; without `withStats` the counters are skipped.
 */
export function decodeDestination(payload: Uint8Array, serviceFamily: Family, withStats = true): DestinationEntry {
  const v = view(payload);
  const nest = topNest(v, IPVS_CMD_ATTR.DEST, 'destination');
  let addr: RawAttr | undefined;
  let port: number | undefined;
  let forward: number | undefined;
  let weight: number | undefined;
  let upper: number | undefined;
  let lower: number | undefined;
  let active: number | undefined;
  let inactive: number | undefined;
  let persistent: number | undefined;
  let addrFamily = 0;
  let tunnelType = 0;
  let tunnelPort = 0;
  let tunnelFlags = 0;
  let stats: Stats | undefined;
  let stats64: Stats | undefined;
  for (const a = new AttrCursor(v, nest.start, nest.start + nest.length); a.next(); ) {
    switch (a.type) {
      case IPVS_DEST_ATTR.ADDR: addr = a.copy(); break;
      case IPVS_DEST_ATTR.PORT: port = get.u16be(v, a); break;
      case IPVS_DEST_ATTR.FWD_METHOD: forward = get.u32(v, a) & IP_VS_CONN_F.FWD_MASK; break;
      case IPVS_DEST_ATTR.WEIGHT: weight = get.i32(v, a); break;
      case IPVS_DEST_ATTR.U_THRESH: upper = get.u32(v, a); break;
      case IPVS_DEST_ATTR.L_THRESH: lower = get.u32(v, a); break;
      case IPVS_DEST_ATTR.ACTIVE_CONNS: active = get.u32(v, a); break;
      case IPVS_DEST_ATTR.INACT_CONNS: inactive = get.u32(v, a); break;
      case IPVS_DEST_ATTR.PERSIST_CONNS: persistent = get.u32(v, a); break;
      case IPVS_DEST_ATTR.ADDR_FAMILY: addrFamily = get.u16(v, a); break;
      case IPVS_DEST_ATTR.TUN_TYPE: tunnelType = get.u8(v, a); break;
      case IPVS_DEST_ATTR.TUN_PORT: tunnelPort = get.u16be(v, a); break;
      case IPVS_DEST_ATTR.TUN_FLAGS: tunnelFlags = get.u16(v, a); break;
      case IPVS_DEST_ATTR.STATS: if (withStats) stats = decodeStats(v, a, false); break;
      case IPVS_DEST_ATTR.STATS64: if (withStats) stats64 = decodeStats(v, a, true); break;
      default: break;
    }
  }
  const at = nest.start;
  if (addr === undefined) missing('destination', 'ADDR', at);
  if (port === undefined) missing('destination', 'PORT', at);
  if (forward === undefined) missing('destination', 'FWD_METHOD', at);
  if (weight === undefined) missing('destination', 'WEIGHT', at);
  if (upper === undefined) missing('destination', 'U_THRESH', at);
  if (lower === undefined) missing('destination', 'L_THRESH', at);
  if (active === undefined) missing('destination', 'ACTIVE_CONNS', at);
  if (inactive === undefined) missing('destination', 'INACT_CONNS', at);
  if (persistent === undefined) missing('destination', 'PERSIST_CONNS', at);
  const fam = addrFamily === 0 ? serviceFamily : family(addrFamily, at);
  const entry: DestinationEntry = {
    key: { family: fam, address: bytesToAddress(fam, get.bytes(v, addr, fam === AF_INET ? 4 : 16)), port },
    config: { forward, weight, upperThreshold: upper, lowerThreshold: lower, tunnelType, tunnelPort, tunnelFlags },
    activeConns: active,
    inactiveConns: inactive,
    persistentConns: persistent,
  };
  if (stats) entry.stats = stats;
  if (stats64) entry.stats64 = stats64;
  return entry;
}

/** Decodes one IPVS_CMD_NEW_DAEMON dump entry (`-L --daemon`). */
export function decodeDaemon(payload: Uint8Array): SyncDaemon {
  const v = view(payload);
  const nest = topNest(v, IPVS_CMD_ATTR.DAEMON, 'daemon');
  let state: number | undefined;
  let ifn: string | undefined;
  let syncId: number | undefined;
  const d: Partial<SyncDaemon> = {};
  readAttrs(v, nest.start, nest.start + nest.length, (a) => {
    switch (a.type) {
      case IPVS_DAEMON_ATTR.STATE: state = get.u32(v, a); break;
      case IPVS_DAEMON_ATTR.MCAST_IFN: ifn = get.string(v, a); break;
      case IPVS_DAEMON_ATTR.SYNC_ID: syncId = get.u32(v, a); break;
      case IPVS_DAEMON_ATTR.SYNC_MAXLEN: d.maxLen = get.u16(v, a); break;
      case IPVS_DAEMON_ATTR.MCAST_PORT: d.port = get.u16(v, a); break;
      case IPVS_DAEMON_ATTR.MCAST_TTL: d.ttl = get.u8(v, a); break;
      case IPVS_DAEMON_ATTR.MCAST_GROUP: d.group = bytesToAddress(AF_INET, get.bytes(v, a, 4)); break;
      case IPVS_DAEMON_ATTR.MCAST_GROUP6: d.group = bytesToAddress(AF_INET6, get.bytes(v, a, 16)); break;
      default: break;
    }
  });
  if (state === undefined) missing('daemon', 'STATE', nest.start);
  if (ifn === undefined) missing('daemon', 'MCAST_IFN', nest.start);
  if (syncId === undefined) missing('daemon', 'SYNC_ID', nest.start);
  return { state, interface: ifn, syncId, ...d };
}

/** Decodes the IPVS_CMD_GET_CONFIG reply (`-L --timeout`). */
export function decodeTimeouts(payload: Uint8Array): Timeouts {
  const v = view(payload);
  const t: Timeouts = { tcp: 0, tcpFin: 0, udp: 0 };
  readAttrs(v, 0, v.byteLength, (a) => {
    if (a.type === IPVS_CMD_ATTR.TIMEOUT_TCP) t.tcp = get.u32(v, a);
    else if (a.type === IPVS_CMD_ATTR.TIMEOUT_TCP_FIN) t.tcpFin = get.u32(v, a);
    else if (a.type === IPVS_CMD_ATTR.TIMEOUT_UDP) t.udp = get.u32(v, a);
  });
  return t;
}

/** Decodes the IPVS_CMD_GET_INFO reply (the version line of `-L`). */
export function decodeInfo(payload: Uint8Array): IpvsInfo {
  const v = view(payload);
  let version: number | undefined;
  let connTabSize: number | undefined;
  readAttrs(v, 0, v.byteLength, (a) => {
    if (a.type === IPVS_INFO_ATTR.VERSION) version = get.u32(v, a);
    else if (a.type === IPVS_INFO_ATTR.CONN_TAB_SIZE) connTabSize = get.u32(v, a);
  });
  if (version === undefined) missing('info', 'VERSION', 0);
  if (connTabSize === undefined) missing('info', 'CONN_TAB_SIZE', 0);
  return { version, connTabSize };
}
