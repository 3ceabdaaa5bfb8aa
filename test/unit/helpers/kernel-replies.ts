import {
  AttrWriter,
  IPVS_CMD_ATTR,
  IPVS_DEST_ATTR,
  IPVS_STATS_ATTR,
  IPVS_SVC_ATTR,
  addressToBytes,
  type Family,
  type Stats,
} from '../../../src/wire/index.js';

/**
 * Builders of reply attribute areas as the kernel writes them (spec 7.5), independent of the
 * project's request encoders. Nests are written without NLA_F_NESTED, as the kernel does.
 */

export type StatsFlavour = 'stats' | 'stats64';

const STATS_ORDER: [number, keyof Stats][] = [
  [IPVS_STATS_ATTR.CONNS, 'conns'],
  [IPVS_STATS_ATTR.INPKTS, 'inPkts'],
  [IPVS_STATS_ATTR.OUTPKTS, 'outPkts'],
  [IPVS_STATS_ATTR.INBYTES, 'inBytes'],
  [IPVS_STATS_ATTR.OUTBYTES, 'outBytes'],
  [IPVS_STATS_ATTR.CPS, 'cps'],
  [IPVS_STATS_ATTR.INPPS, 'inPps'],
  [IPVS_STATS_ATTR.OUTPPS, 'outPps'],
  [IPVS_STATS_ATTR.INBPS, 'inBps'],
  [IPVS_STATS_ATTR.OUTBPS, 'outBps'],
];

/** A STATS (32-bit counters, u64 bytes) or STATS64 (all u64) nest body; `pad` inserts PAD attributes. */
export function statsBody(s: Stats, flavour: StatsFlavour, pad = false): Uint8Array {
  const w = new AttrWriter();
  for (const [type, field] of STATS_ORDER) {
    // nla_put_u64_64bit may put a zero-length PAD before a u64; the decoder must skip it.
    if (pad) w.bytes(IPVS_STATS_ATTR.PAD, new Uint8Array(0));
    const wide = flavour === 'stats64' || type === IPVS_STATS_ATTR.INBYTES || type === IPVS_STATS_ATTR.OUTBYTES;
    if (wide) w.u64(type, s[field]);
    else w.u32(type, Number(s[field]));
  }
  return w.finish();
}

export function zeroStats(): Stats {
  return { conns: 0n, inPkts: 0n, outPkts: 0n, inBytes: 0n, outBytes: 0n, cps: 0n, inPps: 0n, outPps: 0n, inBps: 0n, outBps: 0n };
}

export interface KernelService {
  family: Family;
  fwmark?: number;
  protocol?: number;
  address?: string;
  port?: number;
  scheduler?: string;
  pe?: string;
  /** Kernel flags, HASHED (0x2) included as a live service would have it. */
  flags?: number;
  timeout?: number;
  /** Raw NETMASK u32: the v4 mask (written big-endian) or the v6 prefix (host order). */
  netmask?: number;
  stats?: Stats;
  stats64?: Stats;
  /** Attributes to leave out, to build malformed replies. */
  omit?: number[];
}

/** The attribute area of a NEW_SERVICE reply message (one SERVICE nest). */
export function serviceReply(s: KernelService): Uint8Array {
  const skip = new Set(s.omit ?? []);
  const n = new AttrWriter();
  const put = (type: number, write: () => void): void => {
    if (!skip.has(type)) write();
  };
  put(IPVS_SVC_ATTR.AF, () => n.u16(IPVS_SVC_ATTR.AF, s.family));
  if (s.fwmark !== undefined) {
    put(IPVS_SVC_ATTR.FWMARK, () => n.u32(IPVS_SVC_ATTR.FWMARK, s.fwmark as number));
  } else {
    put(IPVS_SVC_ATTR.PROTOCOL, () => n.u16(IPVS_SVC_ATTR.PROTOCOL, s.protocol ?? 6));
    put(IPVS_SVC_ATTR.ADDR, () => n.bytes(IPVS_SVC_ATTR.ADDR, addressToBytes(s.family, s.address ?? (s.family === 2 ? '10.0.0.1' : '::1'))));
    put(IPVS_SVC_ATTR.PORT, () => n.u16be(IPVS_SVC_ATTR.PORT, s.port ?? 80));
  }
  put(IPVS_SVC_ATTR.SCHED_NAME, () => n.string(IPVS_SVC_ATTR.SCHED_NAME, s.scheduler ?? 'wlc'));
  if (s.pe) put(IPVS_SVC_ATTR.PE_NAME, () => n.string(IPVS_SVC_ATTR.PE_NAME, s.pe as string));
  const flags = new Uint8Array(8);
  new DataView(flags.buffer).setUint32(0, (s.flags ?? 0x2) >>> 0, true);
  new DataView(flags.buffer).setUint32(4, 0xffffffff, true);
  put(IPVS_SVC_ATTR.FLAGS, () => n.bytes(IPVS_SVC_ATTR.FLAGS, flags));
  put(IPVS_SVC_ATTR.TIMEOUT, () => n.u32(IPVS_SVC_ATTR.TIMEOUT, s.timeout ?? 0));
  const mask = s.netmask ?? (s.family === 2 ? 0xffffffff : 128);
  put(IPVS_SVC_ATTR.NETMASK, () => (s.family === 2 ? n.u32be(IPVS_SVC_ATTR.NETMASK, mask) : n.u32(IPVS_SVC_ATTR.NETMASK, mask)));
  put(IPVS_SVC_ATTR.STATS, () => n.bytes(IPVS_SVC_ATTR.STATS, statsBody(s.stats ?? zeroStats(), 'stats')));
  put(IPVS_SVC_ATTR.STATS64, () => n.bytes(IPVS_SVC_ATTR.STATS64, statsBody(s.stats64 ?? zeroStats(), 'stats64')));
  return new AttrWriter().bytes(IPVS_CMD_ATTR.SERVICE, n.finish()).finish();
}

export interface KernelDestination {
  /** ADDR_FAMILY; undefined leaves the attribute out (kernels before 3.18). */
  family: Family | undefined;
  /** The family whose address size is written in ADDR (always 16 bytes on the wire). */
  addressFamily: Family;
  address: string;
  port: number;
  forward: number;
  weight: number;
  tunnelType?: number;
  tunnelPort?: number;
  tunnelFlags?: number;
  upper: number;
  lower: number;
  active: number;
  inactive: number;
  persistent: number;
  stats?: Stats;
  stats64?: Stats;
  pad?: boolean;
  omit?: number[];
}

/** The attribute area of a NEW_DEST dump message, attribute order of spec 7.5. */
export function destinationReply(d: KernelDestination): Uint8Array {
  const skip = new Set(d.omit ?? []);
  const n = new AttrWriter();
  const put = (type: number, write: () => void): void => {
    if (!skip.has(type)) write();
  };
  put(IPVS_DEST_ATTR.ADDR, () => n.bytes(IPVS_DEST_ATTR.ADDR, addressToBytes(d.addressFamily, d.address)));
  put(IPVS_DEST_ATTR.PORT, () => n.u16be(IPVS_DEST_ATTR.PORT, d.port));
  put(IPVS_DEST_ATTR.FWD_METHOD, () => n.u32(IPVS_DEST_ATTR.FWD_METHOD, d.forward));
  put(IPVS_DEST_ATTR.WEIGHT, () => n.u32(IPVS_DEST_ATTR.WEIGHT, d.weight));
  if (d.tunnelType !== undefined) put(IPVS_DEST_ATTR.TUN_TYPE, () => n.u8(IPVS_DEST_ATTR.TUN_TYPE, d.tunnelType as number));
  if (d.tunnelPort !== undefined) put(IPVS_DEST_ATTR.TUN_PORT, () => n.u16be(IPVS_DEST_ATTR.TUN_PORT, d.tunnelPort as number));
  if (d.tunnelFlags !== undefined) put(IPVS_DEST_ATTR.TUN_FLAGS, () => n.u16(IPVS_DEST_ATTR.TUN_FLAGS, d.tunnelFlags as number));
  put(IPVS_DEST_ATTR.U_THRESH, () => n.u32(IPVS_DEST_ATTR.U_THRESH, d.upper));
  put(IPVS_DEST_ATTR.L_THRESH, () => n.u32(IPVS_DEST_ATTR.L_THRESH, d.lower));
  put(IPVS_DEST_ATTR.ACTIVE_CONNS, () => n.u32(IPVS_DEST_ATTR.ACTIVE_CONNS, d.active));
  put(IPVS_DEST_ATTR.INACT_CONNS, () => n.u32(IPVS_DEST_ATTR.INACT_CONNS, d.inactive));
  put(IPVS_DEST_ATTR.PERSIST_CONNS, () => n.u32(IPVS_DEST_ATTR.PERSIST_CONNS, d.persistent));
  if (d.family !== undefined) put(IPVS_DEST_ATTR.ADDR_FAMILY, () => n.u16(IPVS_DEST_ATTR.ADDR_FAMILY, d.family as number));
  if (d.stats) n.bytes(IPVS_DEST_ATTR.STATS, statsBody(d.stats, 'stats', d.pad));
  if (d.stats64) n.bytes(IPVS_DEST_ATTR.STATS64, statsBody(d.stats64, 'stats64', d.pad));
  return new AttrWriter().bytes(IPVS_CMD_ATTR.DEST, n.finish()).finish();
}
