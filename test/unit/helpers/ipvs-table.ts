/**
 * Builds IPVS tables as the kernel would report them, for the listing tests: services and real
 * servers written in the order a test script added them, then put into the kernel's dump order.
 *
 * Dump order (spec 7.6): address services from a 256-bucket hash table keyed by protocol,
 * address (IPv6 folded by XOR of its words), port and a per-boot salt (bits of the netns
 * pointer), bucket by bucket with the newest first inside a bucket, then the fwmark table
 * (bucket = (salt ^ mark) & 255) likewise; real servers newest first. The salt differs between
 * boots; the tests that depend on it name the salts that reproduce a boot's `--nosort` output.
 */
import type { ServiceWithDestinations } from '../../../src/model/ipvs.js';
import type { Resolver } from '../../../src/cli/types.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO,
  IP_VS_CONN_F,
  IP_VS_SVC_F,
  isFwmarkKey,
  type DestinationConfig,
  type DestinationEntry,
  type Family,
  type ServiceConfig,
  type Stats,
  ZERO_STATS,
} from '../../../src/wire/index.js';
import { addressWords } from '../../../src/cli/sort.js';

const familyOf = (address: string): Family => (address.includes(':') ? AF_INET6 : AF_INET);

/** Re-exported for the helpers that import it from here. */
export { ZERO_STATS };

/** Stats with the given fields, the rest zero. */
export function stats(s: Partial<Stats>): Stats {
  return { ...ZERO_STATS, ...s };
}

export interface ServiceOptions extends Partial<Omit<ServiceConfig, 'netmask'>> {
  /** `-p [timeout]`: sets the persistent flag and the timeout (ipvsadm's default is 360). */
  persistent?: number;
  /** IPv4 mask as dotted text, or IPv6 prefix length. */
  mask?: string | number;
  /** `-o`. */
  ops?: boolean;
  stats64?: Stats;
}

function serviceConfig(family: Family, o: ServiceOptions): ServiceConfig {
  let flags = o.flags ?? 0;
  if (o.persistent !== undefined) flags |= IP_VS_SVC_F.PERSISTENT;
  if (o.ops) flags |= IP_VS_SVC_F.ONEPACKET;
  let netmask: ServiceConfig['netmask'];
  if (family === AF_INET) {
    const mask = typeof o.mask === 'string' ? (addressWords(AF_INET, o.mask)[0] as number) : 0xffffffff;
    netmask = { family: AF_INET, mask };
  } else {
    netmask = { family: AF_INET6, prefix: typeof o.mask === 'number' ? o.mask : 128 };
  }
  return {
    scheduler: o.scheduler ?? 'wlc',
    flags,
    timeout: o.persistent ?? o.timeout ?? 0,
    netmask,
    pe: o.pe ?? '',
  };
}

function withStats(s: ServiceWithDestinations, o: ServiceOptions): ServiceWithDestinations {
  s.stats64 = o.stats64 ?? ZERO_STATS;
  return s;
}

function addressService(protocol: number, address: string, port: number, o: ServiceOptions = {}): ServiceWithDestinations {
  const family = familyOf(address);
  return withStats({ key: { family, protocol, address, port }, config: serviceConfig(family, o), destinations: [] }, o);
}

/** `-A -t address:port`. */
export const tcp = (address: string, port: number, o?: ServiceOptions): ServiceWithDestinations =>
  addressService(IPPROTO.TCP, address, port, o);
/** `-A -u address:port`. */
export const udp = (address: string, port: number, o?: ServiceOptions): ServiceWithDestinations =>
  addressService(IPPROTO.UDP, address, port, o);
/** `-A --sctp-service address:port`. */
export const sctp = (address: string, port: number, o?: ServiceOptions): ServiceWithDestinations =>
  addressService(IPPROTO.SCTP, address, port, o);

/** `-A -f mark [-6]`. */
export function fwm(mark: number, o: ServiceOptions & { v6?: boolean } = {}): ServiceWithDestinations {
  const family = o.v6 ? AF_INET6 : AF_INET;
  return withStats({ key: { family, fwmark: mark }, config: serviceConfig(family, o), destinations: [] }, o);
}

export interface DestinationOptions extends Partial<DestinationConfig> {
  active?: number;
  inactive?: number;
  persistent?: number;
  stats64?: Stats;
}

/** `-r address:port` with `-g` (default), `-m` (`forward: MASQ`) or `-i` (`forward: TUNNEL`). */
export function dest(address: string, port: number, o: DestinationOptions = {}): DestinationEntry {
  return {
    key: { family: familyOf(address), address, port },
    config: {
      forward: o.forward ?? IP_VS_CONN_F.DROUTE,
      weight: o.weight ?? 1,
      upperThreshold: o.upperThreshold ?? 0,
      lowerThreshold: o.lowerThreshold ?? 0,
      tunnelType: o.tunnelType ?? 0,
      tunnelPort: o.tunnelPort ?? 0,
      tunnelFlags: o.tunnelFlags ?? 0,
    },
    activeConns: o.active ?? 0,
    inactiveConns: o.inactive ?? 0,
    persistentConns: o.persistent ?? 0,
    stats64: o.stats64 ?? ZERO_STATS,
  };
}

export const MASQ = { forward: IP_VS_CONN_F.MASQ } as const;
export const TUNNEL = { forward: IP_VS_CONN_F.TUNNEL } as const;

/** A service with real servers listed in the order they were added. */
export function withDests(s: ServiceWithDestinations, added: DestinationEntry[]): ServiceWithDestinations {
  return { ...s, destinations: added };
}

/** The bucket of a service in the kernel's tables. */
export function kernelBucket(s: ServiceWithDestinations, salt: number): number {
  const k = s.key;
  if (isFwmarkKey(k)) return ((salt ^ k.fwmark) & 0xff) >>> 0;
  const w = addressWords(k.family, k.address);
  const fold = k.family === AF_INET6 ? (w[0] ^ w[1] ^ w[2] ^ w[3]) >>> 0 : w[0];
  return (k.protocol ^ fold ^ salt ^ (k.port >> 8) ^ k.port) & 0xff;
}

/**
 * The kernel's dump order of services added in `added` order (destinations likewise), for a
 * boot whose salt is `salt`.
 */
export function kernelDump(added: readonly ServiceWithDestinations[], salt: number): ServiceWithDestinations[] {
  const table: ServiceWithDestinations[][] = Array.from({ length: 256 }, () => []);
  const fwTable: ServiceWithDestinations[][] = Array.from({ length: 256 }, () => []);
  for (const s of added) {
    const dumped = { ...s, destinations: [...s.destinations].reverse() };
    (isFwmarkKey(s.key) ? fwTable : table)[kernelBucket(s, salt)]?.unshift(dumped);
  }
  return [...table.flat(), ...fwTable.flat()];
}

/** A Resolver answering from fixed tables, as the VM's /etc/hosts and /etc/services did. */
export class TableResolver implements Resolver {
  private readonly hosts = new Map<string, string>();
  private readonly services = new Map<string, string>();

  constructor(hosts: Record<string, string> = {}) {
    this.addHosts({ '127.0.0.1': 'localhost', ...hosts });
    // The entries of the VM's /etc/services the evidence touches (t20 shows some of them).
    const svc: [number, string, string][] = [
      [53, 'tcp', 'domain'],
      [53, 'udp', 'domain'],
      [80, 'tcp', 'http'],
      [443, 'tcp', 'https'],
      [5060, 'tcp', 'sip'],
      [5060, 'udp', 'sip'],
      [5353, 'udp', 'mdns'],
      [8080, 'tcp', 'http-alt'],
    ];
    for (const [port, proto, name] of svc) this.services.set(`${port}/${proto}`, name);
  }

  addHosts(hosts: Record<string, string>): this {
    for (const [address, name] of Object.entries(hosts)) this.hosts.set(`${familyOf(address)}/${address}`, name);
    return this;
  }

  hostAddress(name: string, family: Family): string | undefined {
    for (const [key, n] of this.hosts) if (n === name && key.startsWith(`${family}/`)) return key.slice(key.indexOf('/') + 1);
    return undefined;
  }

  hostName(address: string, family: Family): string | undefined {
    return this.hosts.get(`${family}/${address}`);
  }

  servicePort(name: string, protocol: string): number | undefined {
    for (const [key, n] of this.services) if (n === name && key.endsWith(`/${protocol}`)) return Number(key.split('/')[0]);
    return undefined;
  }

  serviceName(port: number, protocol: string): string | undefined {
    return this.services.get(`${port}/${protocol}`);
  }
}

/** A Resolver that must not be asked (numeric listings). */
export const NO_LOOKUPS: Resolver = {
  hostAddress: () => {
    throw new Error('unexpected lookup');
  },
  hostName: () => {
    throw new Error('unexpected lookup');
  },
  servicePort: () => {
    throw new Error('unexpected lookup');
  },
  serviceName: () => {
    throw new Error('unexpected lookup');
  },
};
