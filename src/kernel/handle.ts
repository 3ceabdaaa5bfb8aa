import {
  IPVS_CMD_NAME,
  IPVS_GENL_NAME,
  IPVS_GENL_VERSION,
  NLM_F,
  NLMSG,
  WireError,
  decodeAck,
  decodeFamilyId,
  decodeGenlBody,
  describeMessage,
  encodeGenlMessage,
  encodeGetFamily,
  genlMessageSize,
  splitMessages,
  writeGenlMessage,
  type IpvsRequest,
  type NetlinkMessage,
} from '../wire/index.js';
import { NetlinkError } from './errors.js';
import { openNetlinkTransport, type Transport } from './transport.js';

/**
 * Replies that may sit unread in the receive buffer at once. The `netlink` addon aborts the
 * process when the buffer overruns; the guest's default buffer holds ~237 ACKs on 6.12, so
 * half of that is the ceiling for every batch and window.
 */
export const MAX_OUTSTANDING = 128;

/** How often an interrupted dump (NLM_F_DUMP_INTR) is retried before giving up with EINTR. */
const DUMP_RETRIES = 5;

/** Options for opening a handle. */
export interface HandleOptions {
  /** A transport other than a real netlink socket (tests). */
  transport?: Transport;
  /** Receives one line per message sent and received; defaults to stderr when IPVS_DEBUG is set. */
  trace?: (line: string) => void;
  /** The family id another handle already resolved: this one then skips GETFAMILY. */
  familyId?: number;
  /** Read size of a real socket (SMALL_DATAGRAMS unless told); see transport.ts. */
  datagramSize?: number;
  /** No other thread opens descriptors while the socket is created; see TransportOptions. */
  ownsDescriptors?: boolean;
}

/** Outcome of one operation of a pipeline: undefined for success, or the kernel's refusal. */
export type OpResult = NetlinkError | undefined;

interface Pending {
  operation: string;
  /** Data replies, decoded as they arrive. */
  onData: ((attrs: Uint8Array) => void) | undefined;
  interrupted: boolean;
  /** A reply that could not be decoded; reported when the answer completes, so a dump is drained. */
  error?: NetlinkError;
  settle: (error: NetlinkError | undefined, interrupted: boolean) => void;
}

interface Waiter {
  exclusive: boolean;
  start: () => void;
}

function operationName(cmd: number): string {
  return IPVS_CMD_NAME[cmd] ?? `CMD_${cmd}`;
}

/** The refusal an NLMSG_ERROR carries, undefined for an ACK; throws when it cannot be decoded. */
function refusalIn(msg: NetlinkMessage, operation: string): NetlinkError | undefined {
  const ack = decodeAck(msg);
  return ack.errno === 0 ? undefined : new NetlinkError(operation, ack.errno, ack.extackMessage, ack.extackOffset);
}

/** EBADMSG for a reply that could not be decoded. */
function malformedReply(operation: string, e: unknown): NetlinkError {
  const reason = e instanceof WireError ? `malformed reply: ${e.message}` : String(e);
  return new NetlinkError(operation, 74 /* EBADMSG */, reason);
}

/**
 * One generic-netlink socket for the IPVS family: the family id is resolved once, replies are
 * matched to requests by sequence number, dumps get the socket to themselves (the kernel runs
 * one dump per socket), and bulk work is batched under MAX_OUTSTANDING replies.
 */
export class GenlHandle {
  private readonly pending = new Map<number, Pending>();
  /**
   * The batch in the kernel: its members before the barrier are answered only when refused,
   * so they are found by seq - first instead of each holding an entry in `pending`.
   */
  private members: { first: number; batch: IpvsRequest[]; results: OpResult[] } | undefined;
  private readonly waiters: Waiter[] = [];
  private active = 0;
  private exclusiveActive = false;
  private nextSeq = 1;
  private closed = false;
  private failure: NetlinkError | undefined;
  /** Whether the socket is unref'd (lets the process exit); see `release`. */
  private idle = true;
  private idleCheck = false;

  private constructor(
    private readonly transport: Transport,
    private readonly trace: ((line: string) => void) | undefined,
    /** The dynamic generic-netlink id of the family (0x20 on 6.1, 0x22 on 6.12 as observed). */
    public familyId: number,
  ) {
    transport.onDatagram((d) => this.receive(d));
    transport.onError((e) => this.fail(e));
    transport.setIdle(true);
  }

  /**
   * Whether requests are answered within the call that sends them (the transport reads the
   * socket directly): overlapping dumps on more sockets then gains nothing.
   */
  get inline(): boolean {
    return this.transport.sendNow !== undefined && this.transport.receiveNow !== undefined;
  }

  /** The text of /proc/net/ip_vs in this socket's namespace (`cat /proc/net/ip_vs`), or undefined where unreadable. */
  readProcTable(): string | undefined {
    return this.transport.readProcTable?.();
  }

  /** Opens a socket and resolves the family (`IPVS` unless told otherwise). */
  static async open(options: HandleOptions = {}, familyName = IPVS_GENL_NAME): Promise<GenlHandle> {
    const transport = options.transport ?? openNetlinkTransport(options);
    const trace =
      options.trace ?? (process.env.IPVS_DEBUG ? (line: string) => process.stderr.write(`ipvs: ${line}\n`) : undefined);
    const handle = new GenlHandle(transport, trace, options.familyId ?? 0);
    if (options.familyId !== undefined) return handle;
    try {
      const replies: Uint8Array[] = [];
      await handle.exchangeNow('GETFAMILY', (seq) => encodeGetFamily(seq, familyName), false, (a) => replies.push(a));
      const first = replies[0];
      if (!first) throw new NetlinkError('GETFAMILY', 2 /* ENOENT */);
      handle.familyId = decodeFamilyId(first);
    } catch (e) {
      handle.close();
      throw e;
    }
    return handle;
  }

  /** Sends one request and resolves with its data replies (none for a plain ACK). */
  async request(req: IpvsRequest): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    await this.requestEach(req, (attrs) => out.push(attrs));
    return out;
  }

  /**
   * Sends one request and hands each data reply to `onData` as it arrives (a dump of any size
   * never has to sit in memory as raw datagrams). An interrupted dump is retried from scratch:
   * `onRestart` tells the caller to drop what it collected.
   */
  async requestEach(req: IpvsRequest, onData: (attrs: Uint8Array) => void, onRestart?: () => void): Promise<void> {
    await this.requestEachNow(req, onData, onRestart);
  }

  /**
   * `requestEach`, finished within the call when the socket answers inline and nothing else is
   * using it: no promise and no turn of the event loop per request, which is most of a
   * whole-table listing's cost. Returns a promise only when the work could not end here.
   */
  requestEachNow(req: IpvsRequest, onData: (attrs: Uint8Array) => void, onRestart?: () => void): Promise<void> | undefined {
    const flags = NLM_F.REQUEST | NLM_F.ACK | (req.dump ? NLM_F.DUMP : 0);
    const op = operationName(req.cmd);
    const frame = (seq: number): Uint8Array => encodeGenlMessage(this.familyId, flags, seq, req.cmd, IPVS_GENL_VERSION, req.attrs);
    for (let attempt = 0; ; attempt++) {
      const interrupted = this.exchangeNow(op, frame, req.dump, onData);
      if (interrupted instanceof Promise) return this.finishLater(interrupted, attempt, op, frame, req.dump, onData, onRestart);
      if (!this.againAfter(interrupted, attempt, op, onRestart)) return undefined;
    }
  }

  /** The rest of `requestEachNow` once an exchange had to wait: its answer, then any retries. */
  private async finishLater(
    answer: Promise<boolean>,
    attempt: number,
    op: string,
    frame: (seq: number) => Uint8Array,
    exclusive: boolean,
    onData: (attrs: Uint8Array) => void,
    onRestart: (() => void) | undefined,
  ): Promise<void> {
    for (let interrupted = await answer; this.againAfter(interrupted, attempt, op, onRestart); attempt++) {
      interrupted = await this.exchangeNow(op, frame, exclusive, onData);
    }
  }

  /** Whether an exchange is to run again: its dump was interrupted (`onRestart` is called); throws past the last retry. */
  private againAfter(interrupted: boolean, attempt: number, op: string, onRestart: (() => void) | undefined): boolean {
    if (!interrupted) return false;
    if (attempt >= DUMP_RETRIES) throw new NetlinkError(op, 4 /* EINTR */, 'dump kept being interrupted');
    onRestart?.();
    return true;
  }

  /**
   * Runs modifying requests in order, packing up to `window` (≤ MAX_OUTSTANDING) of them into
   * one sendmsg with an ACK asked only of the last: the kernel answers only failures, keyed by
   * seq, and the final ACK proves every earlier message was processed. `onResult` gets every
   * operation's outcome in input order, exactly once. Not for requests that return data.
   */
  async pipeline(
    requests: Iterable<IpvsRequest>,
    onResult: (index: number, result: OpResult) => void,
    window = MAX_OUTSTANDING,
  ): Promise<number> {
    const size = Math.max(1, Math.min(window, MAX_OUTSTANDING));
    let index = 0;
    let batch: IpvsRequest[] = [];
    const flush = async (): Promise<void> => {
      const results = await this.sendBatch(batch);
      for (const r of results) onResult(index++, r);
      batch = [];
    };
    for (const req of requests) {
      if (req.dump) throw new TypeError('pipeline() takes modifying requests only, not dumps');
      batch.push(req);
      if (batch.length === size) await flush();
    }
    if (batch.length > 0) await flush();
    return index;
  }

  /** Closes the socket; pending requests fail with EBADF. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.close();
    // Built only when someone waits: a NetlinkError loads node:os for its errno name.
    if (this.pending.size > 0) this.rejectAll(new NetlinkError('close', 9 /* EBADF */, 'socket closed'));
  }

  // ------------------------------------------------------------------------------------------

  private allocSeq(): number {
    const seq = this.nextSeq;
    this.nextSeq = this.nextSeq >= 0xffffffff ? 1 : this.nextSeq + 1;
    return seq;
  }

  /** Waits until the socket may carry this request: dumps and batches need it alone. */
  private acquire(exclusive: boolean): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push({ exclusive, start: resolve });
      this.pump();
    });
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0] as Waiter;
      const free = head.exclusive
        ? this.active === 0
        : !this.exclusiveActive && this.active < MAX_OUTSTANDING / 2;
      if (!free) return;
      this.waiters.shift();
      this.active++;
      if (head.exclusive) this.exclusiveActive = true;
      head.start();
    }
  }

  private release(exclusive: boolean): void {
    this.active--;
    if (exclusive) this.exclusiveActive = false;
    if (this.active === 0 && !this.idleCheck) {
      // Dumps of a listing follow each other within one turn of the event loop: the socket is
      // let go only when a turn passes without work, not ref'd and unref'd around each request.
      this.idleCheck = true;
      setImmediate(() => {
        this.idleCheck = false;
        if (this.active === 0 && !this.idle && !this.closed) {
          this.idle = true;
          this.transport.setIdle(true);
        }
      });
    }
    this.pump();
  }

  /**
   * `exchange` done within the call when the socket answers inline and is free: the answer
   * (true for an interrupted dump), thrown on refusal. A promise when it is busy, or when the
   * socket ran dry before the answer was complete (the event loop's reader then finishes it).
   */
  private exchangeNow(
    operation: string,
    frame: (seq: number) => Uint8Array,
    exclusive: boolean,
    onData: (attrs: Uint8Array) => void,
  ): boolean | Promise<boolean> {
    if (!this.inline || this.active > 0 || this.waiters.length > 0 || this.failure || this.closed) {
      return this.exchange(operation, frame, exclusive, onData);
    }
    let outcome: { error: NetlinkError | undefined; interrupted: boolean } | undefined;
    const seq = this.allocSeq();
    const pending: Pending = { operation, onData, interrupted: false, settle: (error, interrupted) => (outcome = { error, interrupted }) };
    // Alone on the socket while it lasts, as a dump is.
    this.active++;
    this.exclusiveActive = true;
    this.pending.set(seq, pending);
    this.transmit([frame(seq)], [seq]);
    if (outcome === undefined) {
      return new Promise<boolean>((resolve, reject) => {
        pending.settle = (error, interrupted) => (error ? reject(error) : resolve(interrupted));
      }).finally(() => this.release(true));
    }
    this.release(true);
    if (outcome.error) throw outcome.error;
    return outcome.interrupted;
  }

  /** One request, one answer; resolves true when a dump came back marked interrupted. */
  private async exchange(
    operation: string,
    frame: (seq: number) => Uint8Array,
    exclusive: boolean,
    onData: (attrs: Uint8Array) => void,
  ): Promise<boolean> {
    await this.acquire(exclusive);
    try {
      return await new Promise<boolean>((resolve, reject) => {
        if (this.failure) return reject(this.failure);
        const seq = this.allocSeq();
        this.pending.set(seq, {
          operation,
          onData,
          interrupted: false,
          settle: (error, interrupted) => (error ? reject(error) : resolve(interrupted)),
        });
        this.transmit([frame(seq)], [seq]);
      });
    } finally {
      this.release(exclusive);
    }
  }

  private async sendBatch(batch: IpvsRequest[]): Promise<OpResult[]> {
    await this.acquire(true);
    try {
      if (this.failure) throw this.failure;
      const results: OpResult[] = new Array<OpResult>(batch.length).fill(undefined);
      let total = 0;
      for (const r of batch) total += genlMessageSize(r.attrs);
      const buf = new Uint8Array(total);
      // Consecutive seqs, so that a member's answer is found by subtraction (see `members`).
      if (this.nextSeq > 0xffffffff - batch.length) this.nextSeq = 1;
      const first = this.nextSeq;
      let at = 0;
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as IpvsRequest;
        const flags = NLM_F.REQUEST | (i === batch.length - 1 ? NLM_F.ACK : 0);
        at = writeGenlMessage(buf, at, this.familyId, flags, this.allocSeq(), r.cmd, IPVS_GENL_VERSION, r.attrs);
      }
      const lastSeq = first + batch.length - 1;
      this.members = { first, batch, results };
      await new Promise<void>((resolve, reject) => {
        this.pending.set(lastSeq, {
          operation: operationName((batch[batch.length - 1] as IpvsRequest).cmd),
          onData: undefined,
          interrupted: false,
          settle: (error) => {
            this.members = undefined;
            // A socket failure fails the batch; a closed socket answers every member.
            if (error?.operation === 'socket') return reject(error);
            if (error?.operation === 'close') results.fill(error);
            // The barrier answered: every earlier message without an error succeeded.
            results[batch.length - 1] = error;
            resolve();
          },
        });
        this.transmit([buf], [lastSeq]);
      });
      return results;
    } finally {
      this.release(true);
    }
  }

  private transmit(parts: Uint8Array[], seqs: number[]): void {
    if (this.idle) {
      this.idle = false;
      this.transport.setIdle(false);
    }
    if (this.trace) {
      for (const part of parts) {
        try {
          for (const m of splitMessages(part)) this.trace(describeMessage(m, 'send'));
        } catch {
          // a trace never breaks a request
        }
      }
    }
    if (this.inline) {
      try {
        this.transport.sendNow?.(parts);
      } catch (e) {
        this.sendFailed(seqs, e as Error);
        return;
      }
      this.drain(seqs[seqs.length - 1] as number);
      return;
    }
    this.transport.send(parts, (error) => {
      if (error) this.sendFailed(seqs, error);
    });
  }

  /**
   * Reads the replies the kernel queued while it ran the request, until the answer to `lastSeq`
   * is complete. Generic netlink answers inside sendmsg and produces a dump's next part inside
   * the reader's recvmsg, so this normally never waits; should the socket run dry first, the
   * event loop's reader takes over.
   */
  private drain(lastSeq: number): void {
    while (this.pending.has(lastSeq)) {
      let datagram: Uint8Array | undefined;
      try {
        datagram = this.transport.receiveNow?.();
      } catch (e) {
        this.fail(e as Error);
        return;
      }
      if (datagram === undefined) return;
      this.receive(datagram);
    }
  }

  private sendFailed(seqs: number[], error: Error): void {
    const errno = (error as { errno?: number }).errno ?? 5; /* EIO */
    for (const seq of seqs) {
      const p = this.pending.get(seq);
      if (!p) continue;
      this.pending.delete(seq);
      p.settle(new NetlinkError('socket', Math.abs(errno), `sendmsg: ${error.message}`), false);
    }
  }

  private receive(datagram: Uint8Array): void {
    let messages: NetlinkMessage[];
    try {
      messages = splitMessages(datagram);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    for (const msg of messages) {
      if (this.trace) this.trace(describeMessage(msg, 'recv'));
      const p = this.pending.get(msg.seq);
      if (!p) {
        this.memberAnswered(msg);
        continue;
      }
      if (msg.flags & NLM_F.DUMP_INTR) p.interrupted = true;
      try {
        if (msg.type === NLMSG.ERROR) {
          const refused = refusalIn(msg, p.operation);
          this.pending.delete(msg.seq);
          p.settle(refused ?? p.error, p.interrupted);
        } else if (msg.type === NLMSG.DONE) {
          // A dump that fails part-way reports -errno in DONE's payload.
          const status = msg.body.length >= 4 ? new DataView(msg.body.buffer, msg.body.byteOffset, 4).getInt32(0, true) : 0;
          this.pending.delete(msg.seq);
          p.settle(status < 0 ? new NetlinkError(p.operation, -status) : p.error, p.interrupted);
        } else if (msg.type >= 0x10 && p.onData && !p.error) {
          p.onData(decodeGenlBody(msg.body).attrs);
        }
      } catch (e) {
        p.error = malformedReply(p.operation, e);
        // A broken data reply waits for its ACK or DONE so the socket is free when it settles;
        // a broken answer is the last word, so it settles now.
        if (msg.type === NLMSG.ERROR || msg.type === NLMSG.DONE) {
          this.pending.delete(msg.seq);
          p.settle(p.error, p.interrupted);
        }
      }
    }
  }

  /** A refusal of a batch member (see `members`); anything else without a pending request is a late answer, dropped. */
  private memberAnswered(msg: NetlinkMessage): void {
    const m = this.members;
    const i = m === undefined ? -1 : msg.seq - m.first;
    if (m === undefined || i < 0 || i >= m.batch.length - 1 || msg.type !== NLMSG.ERROR) return;
    const operation = operationName((m.batch[i] as IpvsRequest).cmd);
    try {
      m.results[i] = refusalIn(msg, operation);
    } catch (e) {
      m.results[i] = malformedReply(operation, e);
    }
  }

  /** A socket-level failure (e.g. ENOBUFS): every pending request fails with it. */
  private fail(error: Error): void {
    const errno = Math.abs((error as { errno?: number }).errno ?? 5);
    this.failure = new NetlinkError('socket', errno, error.message);
    this.rejectAll(this.failure);
  }

  private rejectAll(error: NetlinkError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.settle(error, false);
  }
}
