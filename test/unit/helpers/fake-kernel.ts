import type { Transport } from '../../../src/kernel/index.js';
import {
  AttrWriter,
  CTRL_ATTR,
  CTRL_CMD,
  GENL_HDRLEN,
  GENL_ID_CTRL,
  NLM_F,
  NLMSG,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR,
  align4,
  decodeGenlBody,
  get,
  readAttrs,
  splitMessages,
} from '../../../src/wire/index.js';

/** One IPVS request as the fake kernel received it. */
export interface IpvsCall {
  seq: number;
  flags: number;
  cmd: number;
  attrs: Uint8Array;
  dump: boolean;
  /** How many IPVS requests came before this one. */
  index: number;
}

/** How the scripted kernel answers one IPVS request. */
export type Reply =
  /** A doit: optional data messages, then the ACK if the request asked for one. */
  | { kind: 'ok'; data?: Uint8Array[]; dataCmd?: number }
  /** A refusal: NLMSG_ERROR with -errno, always sent; the request echoed whole unless capped. */
  | { kind: 'error'; errno: number; capped?: boolean; extack?: string; extackOffset?: number }
  /**
   * A dump: NLM_F_MULTI messages, `perDatagram` to a datagram, then NLMSG_DONE (in the last
   * datagram, or its own when `doneAlone`). `intr` lists entries flagged NLM_F_DUMP_INTR
   * (-1 = the DONE message); `doneErrno` puts -errno into DONE.
   */
  | {
      kind: 'dump';
      entries: Uint8Array[];
      cmd: number;
      perDatagram?: number;
      intr?: number[];
      doneErrno?: number;
      doneAlone?: boolean;
    }
  /** Raw bytes to send back as one message body of the given type, with the request's seq. */
  | { kind: 'raw'; type: number; flags: number; body: Uint8Array }
  /** Never answered (a kernel that is slow, or a socket about to fail). */
  | { kind: 'hold' };

export type Handler = (call: IpvsCall) => Reply;

interface Outgoing {
  datagram: Uint8Array;
  /** Requests whose last answer this datagram carries. */
  finals: number[];
}

const KERNEL_PID = 0;

/** One netlink message as the kernel frames it. */
export function nlmsg(type: number, flags: number, seq: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(align4(NLMSG_HDRLEN + body.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, NLMSG_HDRLEN + body.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  v.setUint32(12, KERNEL_PID, true);
  out.set(body, NLMSG_HDRLEN);
  return out;
}

/** A generic-netlink body: genl header (version 1) then attributes. */
export function genl(cmd: number, attrs: Uint8Array): Uint8Array {
  const out = new Uint8Array(GENL_HDRLEN + attrs.length);
  out[0] = cmd;
  out[1] = 1;
  out.set(attrs, GENL_HDRLEN);
  return out;
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A generic-netlink "kernel" behind the Transport seam. It answers asynchronously, one datagram
 * per macrotask like a socket, and records every rule of the socket the handle breaks in
 * `violations`: a request while a dump is unfinished, a dump or batch while another request is
 * unanswered, more than 128 messages in a datagram, an ACK flag before the last message of one.
 */
export class FakeKernel implements Transport {
  readonly families = new Map<string, number>([['IPVS', 0x2b]]);
  /** Every datagram received, as message lists. */
  readonly datagrams: { type: number; flags: number; seq: number }[][] = [];
  readonly calls: IpvsCall[] = [];
  readonly violations: string[] = [];
  closed = false;
  idle = true;
  maxOutstanding = 0;
  /** When set, the next send() fails with this error instead of reaching the kernel. */
  sendError: Error | undefined;
  /** /proc/net/ip_vs as a test sets it; absent, as on a transport without one. */
  readProcTable?: () => string | undefined;

  private readonly outstanding = new Set<number>();
  private dumpSeq: number | undefined;
  private readonly queue: Outgoing[] = [];
  private pumping = false;
  private datagramListener: ((d: Uint8Array) => void) | undefined;
  private errorListener: ((e: Error) => void) | undefined;

  constructor(public handler: Handler = () => ({ kind: 'ok' })) {}

  get familyId(): number {
    return this.families.get('IPVS') as number;
  }

  /** Requests sent but not yet answered in full. */
  get pendingCount(): number {
    return this.outstanding.size;
  }

  // --- Transport -------------------------------------------------------------------------------

  send(parts: Uint8Array[], done: (error?: Error) => void): void {
    if (this.closed) this.violations.push('send after close');
    if (this.sendError) {
      const e = this.sendError;
      this.sendError = undefined;
      setImmediate(() => done(e));
      return;
    }
    const datagram = concat(parts);
    const messages = splitMessages(datagram);
    this.datagrams.push(messages.map((m) => ({ type: m.type, flags: m.flags, seq: m.seq })));
    if (this.dumpSeq !== undefined) this.violations.push(`request while dump seq ${this.dumpSeq} is unfinished`);
    if (messages.length > 128) this.violations.push(`datagram of ${messages.length} messages`);
    if (messages.length > 1 && this.outstanding.size > 0) {
      this.violations.push(`batch sent while ${this.outstanding.size} requests are unanswered`);
    }
    messages.forEach((m, i) => {
      if (i < messages.length - 1 && m.flags & NLM_F.ACK) this.violations.push(`ACK asked before the end of a batch (seq ${m.seq})`);
      const dump = (m.flags & NLM_F.DUMP) === NLM_F.DUMP;
      if (dump && (this.outstanding.size > 0 || messages.length > 1)) {
        this.violations.push(`dump seq ${m.seq} sent while ${this.outstanding.size} requests are unanswered`);
      }
      const raw = datagram.subarray(
        (m.body.byteOffset - datagram.byteOffset) - NLMSG_HDRLEN,
        m.body.byteOffset - datagram.byteOffset + m.body.length,
      );
      this.process(m.type, m.flags, m.seq, m.body, raw);
    });
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding.size);
    setImmediate(() => done());
    this.pump();
  }

  onDatagram(listener: (datagram: Uint8Array) => void): void {
    this.datagramListener = listener;
  }

  onError(listener: (error: Error) => void): void {
    this.errorListener = listener;
  }

  setIdle(idle: boolean): void {
    this.idle = idle;
  }

  close(): void {
    this.closed = true;
  }

  // --- test controls ---------------------------------------------------------------------------

  /** A socket error event, as the netlink addon raises for ENOBUFS. */
  emitError(error: Error): void {
    this.errorListener?.(error);
  }

  /** Delivers an unsolicited datagram. */
  inject(datagram: Uint8Array): void {
    this.queue.push({ datagram, finals: [] });
    this.pump();
  }

  // ---------------------------------------------------------------------------------------------

  private process(type: number, flags: number, seq: number, body: Uint8Array, raw: Uint8Array): void {
    if (type === GENL_ID_CTRL) {
      const { cmd, attrs } = decodeGenlBody(body);
      let name = '';
      const v = new DataView(attrs.buffer, attrs.byteOffset, attrs.byteLength);
      readAttrs(v, 0, v.byteLength, (a) => {
        if (a.type === CTRL_ATTR.FAMILY_NAME) name = get.string(v, a);
      });
      const id = this.families.get(name);
      if (cmd !== CTRL_CMD.GETFAMILY || id === undefined) return this.error(seq, raw, 2 /* ENOENT */);
      const reply = new AttrWriter()
        .string(CTRL_ATTR.FAMILY_NAME, name)
        .u16(CTRL_ATTR.FAMILY_ID, id)
        .u32(CTRL_ATTR.VERSION, 1)
        .u32(CTRL_ATTR.HDRSIZE, 0)
        .u32(CTRL_ATTR.MAXATTR, 6)
        .finish();
      this.outstanding.add(seq);
      const data = nlmsg(GENL_ID_CTRL, 0, seq, genl(CTRL_CMD.NEWFAMILY, reply));
      if (flags & NLM_F.ACK) {
        this.queue.push({ datagram: data, finals: [] });
        this.ack(seq, raw);
      } else {
        this.queue.push({ datagram: data, finals: [seq] });
      }
      return;
    }
    if (type !== this.familyId) {
      this.violations.push(`message type 0x${type.toString(16)} is not the family id 0x${this.familyId.toString(16)}`);
      return this.error(seq, raw, 2);
    }
    const { cmd, attrs } = decodeGenlBody(body);
    const dump = (flags & NLM_F.DUMP) === NLM_F.DUMP;
    const call: IpvsCall = { seq, flags, cmd, attrs: attrs.slice(), dump, index: this.calls.length };
    this.calls.push(call);
    const reply = this.handler(call);
    switch (reply.kind) {
      case 'ok': {
        for (const d of reply.data ?? []) this.queue.push({ datagram: nlmsg(this.familyId, 0, seq, genl(reply.dataCmd ?? cmd, d)), finals: [] });
        if (flags & NLM_F.ACK) {
          this.outstanding.add(seq);
          this.ack(seq, raw);
        }
        return;
      }
      case 'error':
        return this.error(seq, raw, reply.errno, reply.capped, reply.extack, reply.extackOffset);
      case 'raw':
        this.outstanding.add(seq);
        this.queue.push({ datagram: nlmsg(reply.type, reply.flags, seq, reply.body), finals: [seq] });
        return;
      case 'hold':
        this.outstanding.add(seq);
        return;
      case 'dump': {
        if (!dump) this.violations.push(`dump reply scripted for a doit request (seq ${seq})`);
        this.outstanding.add(seq);
        this.dumpSeq = seq;
        const per = reply.perDatagram ?? 50;
        const intr = new Set(reply.intr ?? []);
        const msgs = reply.entries.map((e, i) =>
          nlmsg(this.familyId, NLM_F.MULTI | (intr.has(i) ? NLM_F.DUMP_INTR : 0), seq, genl(reply.cmd, e)),
        );
        const doneBody = new Uint8Array(4);
        new DataView(doneBody.buffer).setInt32(0, -(reply.doneErrno ?? 0), true);
        const done = nlmsg(NLMSG.DONE, NLM_F.MULTI | (intr.has(-1) ? NLM_F.DUMP_INTR : 0), seq, doneBody);
        const chunks: Uint8Array[][] = [];
        for (let i = 0; i < msgs.length; i += per) chunks.push(msgs.slice(i, i + per));
        if (reply.doneAlone || chunks.length === 0) chunks.push([done]);
        else (chunks[chunks.length - 1] as Uint8Array[]).push(done);
        chunks.forEach((c, i) => this.queue.push({ datagram: concat(c), finals: i === chunks.length - 1 ? [seq] : [] }));
        return;
      }
    }
  }

  /** The ACK of a successful request: error 0, echoed header only (NLM_F_CAPPED), as 6.x sends it. */
  private ack(seq: number, raw: Uint8Array): void {
    const body = new Uint8Array(4 + NLMSG_HDRLEN);
    body.set(raw.subarray(0, NLMSG_HDRLEN), 4);
    this.queue.push({ datagram: nlmsg(NLMSG.ERROR, NLM_F.CAPPED, seq, body), finals: [seq] });
  }

  private error(seq: number, raw: Uint8Array, errno: number, capped = false, extack?: string, offset?: number): void {
    this.outstanding.add(seq);
    const echoed = capped ? raw.subarray(0, NLMSG_HDRLEN) : raw;
    const tlv = new AttrWriter();
    if (extack !== undefined) tlv.string(NLMSGERR_ATTR.MSG, extack);
    if (offset !== undefined) tlv.u32(NLMSGERR_ATTR.OFFS, offset);
    const tlvs = tlv.finish();
    const body = new Uint8Array(4 + align4(echoed.length) + tlvs.length);
    new DataView(body.buffer).setInt32(0, -errno, true);
    body.set(echoed, 4);
    body.set(tlvs, 4 + align4(echoed.length));
    const flags = (capped ? NLM_F.CAPPED : 0) | (tlvs.length > 0 ? NLM_F.ACK_TLVS : 0);
    this.queue.push({ datagram: nlmsg(NLMSG.ERROR, flags, seq, body), finals: [seq] });
  }

  /** Datagrams handed over through onDatagram (the event loop's reader). */
  deliveredByLoop = 0;

  /** The next queued datagram, its requests marked answered. */
  protected takeNext(): Uint8Array | undefined {
    const next = this.queue.shift();
    if (!next) return undefined;
    for (const seq of next.finals) {
      this.outstanding.delete(seq);
      if (this.dumpSeq === seq) this.dumpSeq = undefined;
    }
    return next.datagram;
  }

  /** Delivers queued datagrams one per macrotask, so the handle may act between them. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    setImmediate(() => {
      this.pumping = false;
      const next = this.takeNext();
      if (!next) return;
      if (!this.closed) {
        this.deliveredByLoop++;
        this.datagramListener?.(next);
      }
      if (this.queue.length > 0) this.pump();
    });
  }
}

/**
 * A FakeKernel whose socket also answers inline (sendNow/receiveNow), as the real transport does
 * once it knows its descriptor. After `dryAfter` datagrams receiveNow finds nothing, as a socket
 * that ran dry, and the rest comes through the event loop.
 */
export class InlineKernel extends FakeKernel {
  dryAfter = Number.POSITIVE_INFINITY;
  readInline = 0;

  sendNow(parts: Uint8Array[]): void {
    if (this.sendError) {
      const e = this.sendError;
      this.sendError = undefined;
      throw e;
    }
    this.send(parts, () => undefined);
  }

  receiveNow(): Uint8Array | undefined {
    if (this.readInline >= this.dryAfter) return undefined;
    const next = this.takeNext();
    if (next) this.readInline++;
    return next;
  }
}

/** Yields to the event loop until `cond` holds (or gives up after `rounds` macrotasks). */
export async function until(cond: () => boolean, rounds = 10000): Promise<void> {
  for (let i = 0; i < rounds && !cond(); i++) await new Promise<void>((r) => setImmediate(r));
  if (!cond()) throw new Error('condition never became true');
}
