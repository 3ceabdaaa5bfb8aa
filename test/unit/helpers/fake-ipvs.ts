/**
 * An in-memory IPVS table behind the `IpvsLike` interface of the command line, answering as the
 * kernel does (spec §7.6): the same errno for the same mistake (EEXIST, ESRCH, ENOENT, ERANGE,
 * EINVAL, ENODEV), the same dump order (hash buckets salted per boot, newest first inside a
 * bucket, then the fwmark table; real servers newest first), full replacement on edits.
 *
 * Tests can also inject one-shot failures (`failNext`) and read every call (`calls`).
 */
import type { IpvsLike } from '../../../src/cli/main.js';
import { NetlinkError } from '../../../src/kernel/errors.js';
import { destinationKeyId, serviceKeyId } from '../../../src/model/keys.js';
import type { IpvsChange, OpResult, ServiceWithDestinations } from '../../../src/model/index.js';
import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F,
  IP_VS_STATE,
  IP_VS_TUNNEL_TYPE,
  canonicalAddress,
  isFwmarkKey,
  parseIPv4,
  parseIPv6,
  type DestinationConfig,
  type DestinationEntry,
  type DestinationKey,
  type IpvsInfo,
  type ServiceConfig,
  type ServiceEntry,
  type ServiceKey,
  type SyncDaemon,
  type Timeouts,
} from '../../../src/wire/index.js';
import { ZERO_STATS, kernelBucket } from './ipvs-table.js';

export const E = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  ENOMEM: 12,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ERANGE: 34,
  EMSGSIZE: 90,
  ENOPROTOOPT: 92,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  EADDRNOTAVAIL: 99,
  ENETUNREACH: 101,
} as const;

/** Schedulers of Debian's 6.1 kernel (`twos` came with 6.2), plus `none`. */
export const SCHEDULERS_61 = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh', 'none'];

type Method = keyof IpvsLike;

interface StoredService {
  seq: number;
  key: ServiceKey;
  config: ServiceConfig;
  /** Oldest first. */
  dests: DestinationEntry[];
}

const INT_MAX = 0x7fffffff;

function canonicalKey(key: ServiceKey): ServiceKey {
  if (isFwmarkKey(key)) return { family: key.family, fwmark: key.fwmark >>> 0 };
  return { family: key.family, protocol: key.protocol, address: canonicalAddress(key.family, key.address), port: key.port };
}

/** The kernel's unicast rule for a new real server (spec §7.6), with `local` addresses allowed. */
function acceptableDestination(key: DestinationKey, local: ReadonlySet<string>): boolean {
  const text = canonicalAddress(key.family, key.address);
  if (local.has(text)) return true;
  if (key.family === AF_INET) {
    const b = parseIPv4(text) as Uint8Array;
    const first = b[0] as number;
    if (b.every((x) => x === 0)) return false;
    if (b.every((x) => x === 255)) return false;
    return first < 224;
  }
  const b = parseIPv6(text) as Uint8Array;
  if (b.every((x) => x === 0)) return false; // ::
  if (b[0] === 0xff) return false; // multicast
  if (b[0] === 0xfe && ((b[1] as number) & 0xc0) === 0x80) return false; // link-local, not local here
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) mapped = false;
  if (mapped && b[10] === 0xff && b[11] === 0xff) return false;
  return true;
}

export class FakeIpvs implements IpvsLike {
  /** Every call, in order, with its arguments. */
  readonly calls: { method: Method; args: unknown[] }[] = [];
  /** One-shot failures: the next call of the method throws NetlinkError with this errno. */
  readonly failNext = new Map<Method, number>();
  /** The size of every `apply` batch, in order. */
  readonly batches: number[] = [];
  info_: IpvsInfo = { version: 0x010201, connTabSize: 4096 };
  /** Per-boot hash salt of the dump order. */
  salt = 0;
  readonly schedulers = new Set(SCHEDULERS_61);
  readonly engines = new Set(['sip']);
  readonly interfaces = new Set(['lo']);
  readonly local = new Set(['127.0.0.1', '::1']);
  timeouts: Timeouts = { tcp: 900, tcpFin: 120, udp: 300 };
  private readonly table = new Map<string, StoredService>();
  private seq = 0;
  private daemonSlots: SyncDaemon[] = [];
  closed = 0;

  private enter(method: Method, args: unknown[]): void {
    this.calls.push({ method, args });
    const errno = this.failNext.get(method);
    if (errno !== undefined) {
      this.failNext.delete(method);
      throw new NetlinkError(method, errno);
    }
  }

  private find(key: ServiceKey): StoredService | undefined {
    return this.table.get(serviceKeyId(key));
  }

  private need(key: ServiceKey, op: string): StoredService {
    const s = this.find(key);
    if (!s) throw new NetlinkError(op, E.ESRCH);
    return s;
  }

  /** What the kernel's dump returns now: the order of §7.6. */
  dump(): ServiceWithDestinations[] {
    const plain: StoredService[][] = Array.from({ length: 256 }, () => []);
    const marks: StoredService[][] = Array.from({ length: 256 }, () => []);
    const sorted = [...this.table.values()].sort((a, b) => a.seq - b.seq);
    for (const s of sorted) {
      const shaped = { key: s.key, config: s.config, destinations: [] } as ServiceWithDestinations;
      (isFwmarkKey(s.key) ? marks : plain)[kernelBucket(shaped, this.salt)]?.unshift(s);
    }
    return [...plain.flat(), ...marks.flat()].map((s) => ({
      key: s.key,
      config: { ...s.config },
      stats64: ZERO_STATS,
      destinations: [...s.dests].reverse(),
    }));
  }

  async info(): Promise<IpvsInfo> {
    this.enter('info', []);
    return this.info_;
  }

  async services(): Promise<ServiceEntry[]> {
    this.enter('services', []);
    return this.dump().map(({ destinations: _d, ...s }) => s);
  }

  async getService(key: ServiceKey): Promise<ServiceEntry> {
    this.enter('getService', [key]);
    const s = this.need(key, 'GET_SERVICE');
    return { key: s.key, config: { ...s.config }, stats64: ZERO_STATS };
  }

  async destinations(service: ServiceKey): Promise<DestinationEntry[]> {
    this.enter('destinations', [service]);
    const s = this.find(service);
    return s ? [...s.dests].reverse() : [];
  }

  private checkService(config: ServiceConfig, op: string): void {
    if (config.netmask.family === AF_INET6 && (config.netmask.prefix < 1 || config.netmask.prefix > 128)) {
      throw new NetlinkError(op, E.EINVAL);
    }
    if (!this.schedulers.has(config.scheduler)) throw new NetlinkError(op, E.ENOENT);
    if (config.pe !== '' && !this.engines.has(config.pe)) throw new NetlinkError(op, E.ENOENT);
  }

  async addService(key: ServiceKey, config: ServiceConfig): Promise<void> {
    this.enter('addService', [key, config]);
    if (this.find(key)) throw new NetlinkError('NEW_SERVICE', E.EEXIST);
    this.checkService(config, 'NEW_SERVICE');
    const k = canonicalKey(key);
    this.table.set(serviceKeyId(k), { seq: this.seq++, key: k, config: { ...config }, dests: [] });
  }

  async editService(key: ServiceKey, config: ServiceConfig): Promise<void> {
    this.enter('editService', [key, config]);
    const s = this.need(key, 'SET_SERVICE');
    this.checkService(config, 'SET_SERVICE');
    s.config = { ...config };
  }

  async deleteService(key: ServiceKey, template?: ServiceConfig): Promise<void> {
    this.enter('deleteService', [key, template]);
    this.need(key, 'DEL_SERVICE');
    this.table.delete(serviceKeyId(key));
  }

  private checkDestination(s: StoredService, key: DestinationKey, config: DestinationConfig, op: string): void {
    if (key.family !== s.key.family) {
      if (this.daemonSlots.length > 0) throw new NetlinkError(op, E.EINVAL);
      if ((config.forward & IP_VS_CONN_F.FWD_MASK) !== IP_VS_CONN_F.TUNNEL) throw new NetlinkError(op, E.EINVAL);
    }
    if ((config.weight | 0) < 0) throw new NetlinkError(op, E.ERANGE);
    if (config.lowerThreshold >>> 0 > config.upperThreshold >>> 0) throw new NetlinkError(op, E.ERANGE);
    if (config.upperThreshold >>> 0 > INT_MAX) throw new NetlinkError(op, E.EINVAL);
    if (config.tunnelType === IP_VS_TUNNEL_TYPE.GUE && config.tunnelPort === 0) throw new NetlinkError(op, E.EINVAL);
  }

  private findDest(s: StoredService, key: DestinationKey): number {
    const id = destinationKeyId(key);
    return s.dests.findIndex((d) => destinationKeyId(d.key) === id);
  }

  async addDestination(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig,
    template?: ServiceConfig,
  ): Promise<void> {
    this.enter('addDestination', [service, key, config, template]);
    const s = this.need(service, 'NEW_DEST');
    this.checkDestination(s, key, config, 'NEW_DEST');
    if (this.findDest(s, key) !== -1) throw new NetlinkError('NEW_DEST', E.EEXIST);
    if (!acceptableDestination(key, this.local)) throw new NetlinkError('NEW_DEST', E.EINVAL);
    s.dests.push({
      key: { family: key.family, address: canonicalAddress(key.family, key.address), port: key.port },
      config: { ...config, forward: config.forward & IP_VS_CONN_F.FWD_MASK },
      activeConns: 0,
      inactiveConns: 0,
      persistentConns: 0,
      stats64: ZERO_STATS,
    });
  }

  async editDestination(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig,
    template?: ServiceConfig,
  ): Promise<void> {
    this.enter('editDestination', [service, key, config, template]);
    const s = this.need(service, 'SET_DEST');
    this.checkDestination(s, key, config, 'SET_DEST');
    const i = this.findDest(s, key);
    if (i === -1) throw new NetlinkError('SET_DEST', E.ENOENT);
    const d = s.dests[i] as DestinationEntry;
    d.config = { ...config, forward: config.forward & IP_VS_CONN_F.FWD_MASK };
  }

  async deleteDestination(
    service: ServiceKey,
    key: DestinationKey,
    config?: DestinationConfig,
    template?: ServiceConfig,
  ): Promise<void> {
    this.enter('deleteDestination', [service, key, config, template]);
    const s = this.need(service, 'DEL_DEST');
    const i = this.findDest(s, key);
    if (i === -1) throw new NetlinkError('DEL_DEST', E.ENOENT);
    s.dests.splice(i, 1);
  }

  async flush(): Promise<void> {
    this.enter('flush', []);
    this.table.clear();
  }

  async zero(service?: ServiceKey, template?: ServiceConfig): Promise<void> {
    this.enter('zero', [service, template]);
    if (service) this.need(service, 'ZERO');
  }

  async getTimeouts(): Promise<Timeouts> {
    this.enter('getTimeouts', []);
    return { ...this.timeouts };
  }

  async setTimeouts(t: Timeouts): Promise<void> {
    this.enter('setTimeouts', [t]);
    this.timeouts = {
      tcp: t.tcp || this.timeouts.tcp,
      tcpFin: t.tcpFin || this.timeouts.tcpFin,
      udp: t.udp || this.timeouts.udp,
    };
  }

  async daemons(): Promise<SyncDaemon[]> {
    this.enter('daemons', []);
    return [...this.daemonSlots].sort((a, b) => a.state - b.state).map((d) => ({ ...d }));
  }

  private mixedFamilies(): boolean {
    for (const s of this.table.values()) if (s.dests.some((d) => d.key.family !== s.key.family)) return true;
    return false;
  }

  async startDaemon(d: SyncDaemon): Promise<void> {
    this.enter('startDaemon', [d]);
    if (d.state !== IP_VS_STATE.MASTER && d.state !== IP_VS_STATE.BACKUP) throw new NetlinkError('NEW_DAEMON', E.EINVAL);
    if (this.mixedFamilies()) throw new NetlinkError('NEW_DAEMON', E.EINVAL);
    if (this.daemonSlots.some((x) => x.state === d.state)) throw new NetlinkError('NEW_DAEMON', E.EEXIST);
    if (!this.interfaces.has(d.interface)) throw new NetlinkError('NEW_DAEMON', E.ENODEV);
    const v6 = d.group !== undefined && d.group.includes(':');
    const master = d.state === IP_VS_STATE.MASTER;
    const ceiling = 65535 - (v6 ? 48 : 28);
    let maxLen = d.maxLen ? d.maxLen : master ? (v6 ? 1452 : 1472) : 65535 - 28;
    maxLen = Math.min(Math.max(maxLen, master ? 1 : 1024), ceiling);
    this.daemonSlots.push({
      state: d.state,
      interface: d.interface,
      syncId: d.syncId,
      maxLen,
      group: d.group ?? '224.0.0.81',
      port: d.port || 8848,
      ttl: d.ttl || 1,
    });
  }

  async stopDaemon(state: number, syncId?: number): Promise<void> {
    this.enter('stopDaemon', [state, syncId]);
    const i = this.daemonSlots.findIndex((x) => x.state === state);
    if (i === -1) throw new NetlinkError('DEL_DAEMON', E.ESRCH);
    this.daemonSlots.splice(i, 1);
  }

  /** One dump after another, in order; the first failure ends it. */
  async destinationsOfEach(services: readonly ServiceKey[], onEach: (index: number, d: DestinationEntry[]) => void): Promise<void> {
    for (const [i, key] of services.entries()) onEach(i, await this.destinations(key));
  }

  /** The kernel runs a pipelined batch in order, each change as its own request. */
  async apply(changes: Iterable<IpvsChange>, onResult: (index: number, result: OpResult) => void): Promise<number> {
    let index = 0;
    const batch = this.batches.length;
    this.batches.push(0);
    for (const c of changes) {
      let result: OpResult;
      try {
        await this.change(c);
      } catch (e) {
        if (!(e instanceof NetlinkError)) throw e;
        result = e;
      }
      onResult(index++, result);
      this.batches[batch] = index;
    }
    return index;
  }

  private change(c: IpvsChange): Promise<void> {
    switch (c.op) {
      case 'add-service':
        return this.addService(c.service, c.config);
      case 'edit-service':
        return this.editService(c.service, c.config);
      case 'delete-service':
        return this.deleteService(c.service, c.template);
      case 'flush':
        return this.flush();
      case 'zero':
        return this.zero(c.service, c.template);
      case 'add-dest':
        return this.addDestination(c.service, c.dest, c.config, c.template);
      case 'edit-dest':
        return this.editDestination(c.service, c.dest, c.config, c.template);
      case 'delete-dest':
        return this.deleteDestination(c.service, c.dest, c.config, c.template);
      case 'set-timeouts':
        return this.setTimeouts(c.timeouts);
      case 'start-daemon':
        return this.startDaemon(c.daemon);
      case 'stop-daemon':
        return this.stopDaemon(c.state, c.syncId);
    }
  }

  close(): void {
    this.closed++;
  }
}

