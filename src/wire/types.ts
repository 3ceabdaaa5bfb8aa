import type { Family } from './address.js';

/** Identity of an address-based virtual service (`-t|-u|--sctp-service host:port`). */
export interface AddressServiceKey {
  family: Family;
  /** IPPROTO_TCP (6), IPPROTO_UDP (17) or IPPROTO_SCTP (132). */
  protocol: number;
  address: string;
  port: number;
}

/** Identity of a firewall-mark virtual service (`-f mark [-6]`). */
export interface FwmarkServiceKey {
  family: Family;
  fwmark: number;
}

/** What names one virtual service: ipvsadm's `virtual-service` argument. */
export type ServiceKey = AddressServiceKey | FwmarkServiceKey;

/** True when the key names a firewall-mark service (`-f`). */
export function isFwmarkKey(key: ServiceKey): key is FwmarkServiceKey {
  return 'fwmark' in key;
}

/** Persistence granularity (`-M`): an IPv4 mask such as 0xffffff00, or an IPv6 prefix length. */
export type Netmask = { family: 2; mask: number } | { family: 10; prefix: number };

/** Configuration of a virtual service, what `-A`/`-E` set besides the identity. */
export interface ServiceConfig {
  /** Scheduler name (`-s`); the kernel reports "none" for a service without one. */
  scheduler: string;
  /** IP_VS_SVC_F_* bits (`-p`, `-o`, `-b`); the kernel-internal HASHED bit is never present. */
  flags: number;
  /** Persistence timeout in seconds (`-p timeout`). */
  timeout: number;
  netmask: Netmask;
  /** Persistence engine (`--pe`), '' for none. */
  pe: string;
}

/** Traffic counters and rates of a service or destination (`--stats`, `--rate`). */
export interface Stats {
  conns: bigint;
  inPkts: bigint;
  outPkts: bigint;
  inBytes: bigint;
  outBytes: bigint;
  cps: bigint;
  inPps: bigint;
  outPps: bigint;
  inBps: bigint;
  outBps: bigint;
}

/** A virtual service as the kernel reports it: identity, configuration and observed counters. */
export interface ServiceEntry {
  key: ServiceKey;
  config: ServiceConfig;
  /** IPVS_SVC_ATTR_STATS: the 32-bit flavour (bytes are 64-bit), if sent. */
  stats?: Stats;
  /** IPVS_SVC_ATTR_STATS64, if sent (kernels since 4.1 always send it). */
  stats64?: Stats;
}

/** Identity of a real server within one service (`-r host:port`). */
export interface DestinationKey {
  /** The destination's own family; differs from the service's only for mixed-family tunnels. */
  family: Family;
  address: string;
  port: number;
}

/** Configuration of a real server, what `-a`/`-e` set besides the identity. */
export interface DestinationConfig {
  /** IP_VS_CONN_F_MASQ (0, `-m`), LOCALNODE (1), TUNNEL (2, `-i`) or DROUTE (3, `-g`). */
  forward: number;
  /** `-w`: 0..2147483647. */
  weight: number;
  /** `-x`: upper connection threshold, 0 = none. */
  upperThreshold: number;
  /** `-y`: lower connection threshold. */
  lowerThreshold: number;
  /** `--tun-type`: IP_VS_TUNNEL_TYPE ipip (0), gue (1), gre (2). */
  tunnelType: number;
  /** `--tun-port`. */
  tunnelPort: number;
  /** `--tun-nocsum` (0), `--tun-csum` (1), `--tun-remcsum` (2). */
  tunnelFlags: number;
}

/** A real server as the kernel reports it: identity, configuration, connection counts, counters. */
export interface DestinationEntry {
  key: DestinationKey;
  config: DestinationConfig;
  activeConns: number;
  inactiveConns: number;
  persistentConns: number;
  stats?: Stats;
  stats64?: Stats;
}

/** A connection-sync daemon (`--start-daemon`, `-L --daemon`). */
export interface SyncDaemon {
  /** IP_VS_STATE_MASTER (1) or IP_VS_STATE_BACKUP (2). */
  state: number;
  /** `--mcast-interface`. */
  interface: string;
  /** `--syncid`. */
  syncId: number;
  /** `--sync-maxlen`; 0 or absent lets the kernel choose. */
  maxLen?: number;
  /** `--mcast-group`, IPv4 or IPv6 text. */
  group?: string;
  /** `--mcast-port`. */
  port?: number;
  /** `--mcast-ttl`. */
  ttl?: number;
}

/** Connection timeouts in seconds (`--set tcp tcpfin udp`, `-L --timeout`); 0 on set = keep. */
export interface Timeouts {
  tcp: number;
  tcpFin: number;
  udp: number;
}

/** What IPVS_CMD_GET_INFO answers: the version line of `ipvsadm -L`. */
export interface IpvsInfo {
  /** IP_VS_VERSION_CODE, e.g. 0x010201 for 1.2.1. */
  version: number;
  /** Connection hash table size (`size=4096`). */
  connTabSize: number;
}
