import { GenlHandle, LARGE_DATAGRAMS, NetlinkError, SMALL_DATAGRAMS, type HandleOptions, type OpResult } from '../kernel/index.js';
/** The pipelining window and the per-operation result of `Ipvs.apply` (ipvsadm -R's batches). */
export { MAX_OUTSTANDING, type OpResult } from '../kernel/index.js';
import { changeRequest, type IpvsChange } from './changes.js';
import {
  IPVS_CMD_NAME,
  WireError,
  decodeDaemon,
  decodeDestination,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  ipvsRequest,
  isFwmarkKey,
  ProcTable,
  procServiceName,
  type DestinationConfig,
  type DestinationEntry,
  type DestinationKey,
  type IpvsInfo,
  type IpvsRequest,
  type ServiceConfig,
  type ServiceEntry,
  type ServiceKey,
  type SyncDaemon,
  type Timeouts,
} from '../wire/index.js';

/** Sockets dumping real servers at once for a whole-table listing. */
const DUMP_SOCKETS = 4;
/**
 * Above this many services, an inline listing dumps the real servers on a socket of its own that
 * reads small datagrams: the first socket's large reads suit the service dump, but would make the
 * kernel allocate 32 KiB for each real-server dump's every datagram.
 */
const OWN_DEST_SOCKET_FROM = 32;

/** What a listing needs: `ipvsadm -S` and `-L` without --stats/--rate need no counters. */
export interface ListOptions {
  /** Decode the traffic counters (default true). */
  stats?: boolean;
  /**
   * Real servers need only address, port, forwarding method, weight and connection counts, as
   * `ipvsadm -S` and plain `ipvsadm -L` print them (default false). Without counters, the whole
   * table's real servers may then come from /proc/net/ip_vs in one read: their thresholds and
   * persistent connections are reported as 0, and a forwarding method outside 0..3 (which only
   * raw netlink can set) as masquerading. Services with tunnels are still asked over netlink.
   */
  brief?: boolean;
}

/** A service and its real servers, as one `ipvsadm -L` block shows them. */
export interface ServiceWithDestinations extends ServiceEntry {
  destinations: DestinationEntry[];
}

/**
 * The IPVS table of the caller's network namespace. Every method is one kernel operation and
 * names the ipvsadm command it equals. Errors are NetlinkError with errno and operation.
 */
export class Ipvs {
  /** Sockets beside the first one for overlapped dumps, opened on first use. */
  private readonly dumpers: GenlHandle[] = [];

  private constructor(
    private readonly handle: GenlHandle,
    private readonly options: HandleOptions,
  ) {}

  /** Opens a netlink socket and resolves the IPVS family (what every ipvsadm run does first). */
  static async open(options: HandleOptions = {}): Promise<Ipvs> {
    return new Ipvs(await GenlHandle.open({ datagramSize: LARGE_DATAGRAMS, ...options }), options);
  }

  /** The generic-netlink id the kernel gave the IPVS family. */
  get familyId(): number {
    return this.handle.familyId;
  }

  /** Version and connection-table size: the `IP Virtual Server version 1.2.1 (size=4096)` line. */
  async info(): Promise<IpvsInfo> {
    return this.single(ipvsRequest.getInfo(), decodeInfo);
  }

  /** Every virtual service with its counters, in kernel order: the service lines of `ipvsadm -L -n`. */
  async services(options: ListOptions = {}): Promise<ServiceEntry[]> {
    const stats = options.stats ?? true;
    return this.dump(ipvsRequest.getServices(), (attrs) => decodeService(attrs, stats));
  }

  /** One virtual service: `ipvsadm -L -n -t host:port` (ESRCH when it does not exist). */
  async getService(key: ServiceKey): Promise<ServiceEntry> {
    return this.single(ipvsRequest.getService(key), decodeService);
  }

  /** The real servers of one service in kernel order: the `->` lines of `ipvsadm -L -n`. */
  async destinations(service: ServiceKey): Promise<DestinationEntry[]> {
    return this.dump(ipvsRequest.getDests(service), (attrs) => decodeDestination(attrs, service.family));
  }

  /**
   * The real servers of many services, as `ipvsadm -L -n` and `-S -n` fetch them for a whole
   * table: with `brief` and no counters, from /proc/net/ip_vs where it answers (see procTable);
   * the rest over netlink, one after the other within the call where the socket answers inline,
   * otherwise overlapped, up to DUMP_SOCKETS dumps at once, each on its own socket (the kernel
   * runs one dump per socket). `onEach` gets every list in input order. At the first failure
   * the lists before it are still delivered, then the failure is thrown.
   */
  async destinationsOfEach(
    services: readonly ServiceKey[],
    onEach: (index: number, destinations: DestinationEntry[]) => void,
    options: ListOptions = {},
  ): Promise<void> {
    const stats = options.stats ?? true;
    const listed = options.brief && !stats ? this.procTable(services) : undefined;
    if (listed !== undefined || this.handle.inline) {
      // One plain loop: the file's blocks, and the netlink dumps that end within their call
      // (or, on a socket that does not answer inline, are awaited one at a time: few are left).
      let handle: GenlHandle | undefined;
      for (let i = 0; i < services.length; i++) {
        const key = services[i] as ServiceKey;
        const name = listed && procServiceName(key);
        const known = name ? listed?.destinations(name) : undefined;
        if (known) {
          onEach(i, known);
          continue;
        }
        handle ??= await this.destinationHandle(services.length - i);
        let out: DestinationEntry[] = [];
        const decode = (a: Uint8Array): number => out.push(decodeDestination(a, key.family, stats));
        const rest = handle.requestEachNow(ipvsRequest.getDests(key), decode, () => (out = []));
        if (rest) await rest;
        onEach(i, out);
      }
      return;
    }
    const handles = await this.dumpHandles(services.length);
    const done = new Map<number, DestinationEntry[]>();
    let next = 0;
    let delivered = 0;
    let failedAt = services.length;
    let failure: unknown;
    const worker = async (handle: GenlHandle): Promise<void> => {
      for (let i = next++; i < failedAt; i = next++) {
        const key = services[i] as ServiceKey;
        try {
          done.set(i, await this.dump(ipvsRequest.getDests(key), (a) => decodeDestination(a, key.family, stats), handle));
        } catch (e) {
          if (i < failedAt) [failedAt, failure] = [i, e];
          return;
        }
        for (let d = done.get(delivered); d !== undefined && delivered < failedAt; d = done.get(delivered)) {
          done.delete(delivered);
          onEach(delivered++, d);
        }
      }
    };
    await Promise.all(handles.map(worker));
    if (failedAt < services.length) throw failure;
  }

  /** The whole table, services with their real servers: `ipvsadm -L -n`. */
  async list(): Promise<ServiceWithDestinations[]> {
    const services = await this.services();
    const out: ServiceWithDestinations[] = [];
    await this.destinationsOfEach(
      services.map((s) => s.key),
      (i, destinations) => out.push({ ...(services[i] as ServiceEntry), destinations }),
    );
    return out;
  }

  /**
   * The real servers of `services` as /proc/net/ip_vs lists them (see ProcTable), or
   * undefined where that file cannot be read. Read after the service dump, as netlink's
   * real-server dumps are: each block describes its service at one instant, and a service the
   * file skipped (its walk over the table all namespaces share can drop entries) is asked over
   * netlink. So are firewall marks that name an IPv4 and an IPv6 service, which the file does
   * not tell apart.
   */
  private procTable(services: readonly ServiceKey[]): ProcTable | undefined {
    const text = this.handle.readProcTable();
    const table = text === undefined ? undefined : ProcTable.parse(text);
    if (table === undefined) return undefined;
    const marks = new Map<number, number>();
    for (const key of services) {
      if (!isFwmarkKey(key)) continue;
      const family = marks.get(key.fwmark);
      if (family !== undefined && family !== key.family) table.forget(procServiceName(key) as string);
      marks.set(key.fwmark, key.family);
    }
    return table;
  }

  /** The socket for the real-server dumps of `services` services answered inline (see OWN_DEST_SOCKET_FROM). */
  private async destinationHandle(services: number): Promise<GenlHandle> {
    if (services < OWN_DEST_SOCKET_FROM) return this.handle;
    // The first extra dump socket reads small datagrams; with an injected transport there is none.
    const [, own = this.handle] = await this.dumpHandles(2);
    return own;
  }

  /** This handle plus up to DUMP_SOCKETS-1 more for `work` dumps; only one with an injected transport. */
  private async dumpHandles(work: number): Promise<GenlHandle[]> {
    const wanted = this.options.transport ? 1 : Math.min(DUMP_SOCKETS, Math.max(1, work));
    while (this.dumpers.length + 1 < wanted) {
      // Later than start-up, where another thread may be opening descriptors (a name lookup).
      const options = { ...this.options, ownsDescriptors: false, familyId: this.handle.familyId, datagramSize: SMALL_DATAGRAMS };
      this.dumpers.push(await GenlHandle.open(options));
    }
    return [this.handle, ...this.dumpers.slice(0, wanted - 1)];
  }

  /** `ipvsadm -A`: adds a virtual service (EEXIST when it exists). */
  async addService(key: ServiceKey, config: ServiceConfig): Promise<void> {
    await this.change({ op: 'add-service', service: key, config });
  }

  /** `ipvsadm -E`: replaces a service's whole configuration (ESRCH when missing). */
  async editService(key: ServiceKey, config: ServiceConfig): Promise<void> {
    await this.change({ op: 'edit-service', service: key, config });
  }

  /**
   * `ipvsadm -D`: deletes a virtual service with its real servers. `template` is the rest of the
   * service nest (the kernel reads only the identity); ipvsadm's by default.
   */
  async deleteService(key: ServiceKey, template?: ServiceConfig): Promise<void> {
    await this.change({ op: 'delete-service', service: key, template });
  }

  /** `ipvsadm -a`: adds a real server to a service (`template`: the service nest's rest, see deleteService). */
  async addDestination(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig,
    template?: ServiceConfig,
  ): Promise<void> {
    await this.change({ op: 'add-dest', service, dest: key, config, template });
  }

  /** `ipvsadm -e`: replaces a real server's whole configuration. */
  async editDestination(
    service: ServiceKey,
    key: DestinationKey,
    config: DestinationConfig,
    template?: ServiceConfig,
  ): Promise<void> {
    await this.change({ op: 'edit-dest', service, dest: key, config, template });
  }

  /**
   * `ipvsadm -d`: removes a real server from a service. The kernel reads only the destination's
   * family, address and port; `config` and `template` fill the rest of the nests as ipvsadm does.
   */
  async deleteDestination(
    service: ServiceKey,
    key: DestinationKey,
    config?: DestinationConfig,
    template?: ServiceConfig,
  ): Promise<void> {
    await this.change({ op: 'delete-dest', service, dest: key, config, template });
  }

  /** `ipvsadm -C`: removes every service of the namespace. */
  async flush(): Promise<void> {
    await this.change({ op: 'flush' });
  }

  /** `ipvsadm -Z [service]`: zeroes the counters of one service, or of everything. */
  async zero(service?: ServiceKey, template?: ServiceConfig): Promise<void> {
    await this.change({ op: 'zero', service, template });
  }

  /** `ipvsadm -L --timeout`: the tcp, tcpfin and udp timeouts in seconds. */
  async getTimeouts(): Promise<Timeouts> {
    return this.single(ipvsRequest.getConfig(), decodeTimeouts);
  }

  /** `ipvsadm --set tcp tcpfin udp`: sets timeouts; 0 keeps a value. */
  async setTimeouts(timeouts: Timeouts): Promise<void> {
    await this.change({ op: 'set-timeouts', timeouts });
  }

  /** `ipvsadm -L --daemon`: the running sync daemons (master first). */
  async daemons(): Promise<SyncDaemon[]> {
    return this.dump(ipvsRequest.getDaemons(), decodeDaemon);
  }

  /** `ipvsadm --start-daemon master|backup`: starts a connection-sync daemon. */
  async startDaemon(daemon: SyncDaemon): Promise<void> {
    await this.change({ op: 'start-daemon', daemon });
  }

  /** `ipvsadm --stop-daemon master|backup`: stops a connection-sync daemon. */
  async stopDaemon(state: number, syncId = 0): Promise<void> {
    await this.change({ op: 'stop-daemon', state, syncId });
  }

  /**
   * Bulk form of the modifying methods, the engine of `ipvsadm -R`: runs `changes` in order,
   * pipelined, and reports each one's outcome to `onResult` exactly once, in order.
   */
  async apply(changes: Iterable<IpvsChange>, onResult: (index: number, result: OpResult) => void): Promise<number> {
    // An array (each of -R's batches) maps without a generator's result object per change.
    return this.handle.pipeline(Array.isArray(changes) ? changes.map(changeRequest) : requestsOf(changes), onResult);
  }

  /** Closes the sockets. */
  close(): void {
    this.handle.close();
    for (const h of this.dumpers.splice(0)) h.close();
  }

  /** One modification, sent on its own and acknowledged. */
  private async change(c: IpvsChange): Promise<void> {
    await this.handle.request(changeRequest(c));
  }

  /** A request answered by one data message, decoded; a malformed answer is EBADMSG like a dump's. */
  private async single<T>(req: IpvsRequest, decode: (attrs: Uint8Array) => T): Promise<T> {
    const operation = IPVS_CMD_NAME[req.cmd] ?? String(req.cmd);
    const [first] = await this.handle.request(req);
    if (!first) throw new NetlinkError(operation, 74 /* EBADMSG */, 'no reply');
    try {
      return decode(first);
    } catch (e) {
      if (e instanceof WireError) throw new NetlinkError(operation, 74 /* EBADMSG */, `malformed reply: ${e.message}`);
      throw e;
    }
  }

  private async dump<T>(req: IpvsRequest, decode: (attrs: Uint8Array) => T, handle = this.handle): Promise<T[]> {
    let out: T[] = [];
    await handle.requestEach(req, (attrs) => out.push(decode(attrs)), () => (out = []));
    return out;
  }
}

function* requestsOf(changes: Iterable<IpvsChange>): Generator<IpvsRequest> {
  for (const c of changes) yield changeRequest(c);
}
