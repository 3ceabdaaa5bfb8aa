import { NLA_HDRLEN, NLA_F_NESTED, NLA_TYPE_MASK } from './constants.js';
import { WireError } from './errors.js';

/** Rounds a length up to netlink's 4-byte alignment (NLA_ALIGN / NLMSG_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/**
 * No ipvsadm equivalent: integers written into a buffer by bytes, host order (little-endian
 * here, as in AttrWriter) unless the name says `be`. Hot encoders use these instead of a
 * DataView per message, garbage a big restore would collect a hundred thousand times.
 */
export function putU16(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
}

/** No ipvsadm equivalent: see putU16. */
export function putU32(out: Uint8Array, at: number, v: number): void {
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

/** No ipvsadm equivalent: see putU16 (network byte order: ports). */
export function putU16be(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 8) & 0xff;
  out[at + 1] = v & 0xff;
}

/** No ipvsadm equivalent: see putU16 (network byte order: IPv4 netmasks). */
export function putU32be(out: Uint8Array, at: number, v: number): void {
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

/** Finished attribute blocks are carved from shared 64 KiB slabs, not given an ArrayBuffer each. */
const SLAB = 65536;
// The first carve allocates: a command that builds nothing pays nothing at start-up.
let slab = new Uint8Array(0);
let slabUsed = SLAB;

/**
 * Room for `length` zeroed bytes that nothing else will write to. A hundred thousand small backing
 * stores (one per request of a big restore) cost malloc time and resident memory; a slab is
 * freed once every block carved from it is garbage.
 */
export function carve(length: number): Uint8Array {
  if (length > SLAB / 16) return new Uint8Array(length);
  if (slabUsed + length > SLAB) {
    slab = new Uint8Array(SLAB);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + length);
  slabUsed = align4(slabUsed + length);
  return out;
}

/**
 * Builds netlink attributes into one growing buffer. Integers are host order (little-endian on
 * every platform IPVS runs on here) unless the method name says `be`.
 */
export class AttrWriter {
  /**
   * The buffer of the last finished writer, lent to the next: requests are built one after
   * another (a restore builds a hundred thousand), so reusing it beats allocating each time.
   * A writer must not be written to after `finish`.
   */
  private static spare: Uint8Array | undefined;
  private buf: Uint8Array;
  private view: DataView;
  private len = 0;

  constructor(initialSize = 256) {
    const spare = AttrWriter.spare;
    AttrWriter.spare = undefined;
    this.buf = spare && spare.length >= initialSize ? spare : new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.len;
  }

  private reserve(extra: number): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Starts an attribute header; returns its offset so `end` can patch the length. */
  private begin(type: number, payload: number): number {
    this.reserve(NLA_HDRLEN + align4(payload));
    const at = this.len;
    this.view.setUint16(at, NLA_HDRLEN + payload, true);
    this.view.setUint16(at + 2, type, true);
    this.len += NLA_HDRLEN;
    return at;
  }

  private pad(): void {
    const padded = align4(this.len);
    this.buf.fill(0, this.len, padded);
    this.len = padded;
  }

  u8(type: number, value: number): this {
    this.begin(type, 1);
    this.view.setUint8(this.len, value);
    this.len += 1;
    this.pad();
    return this;
  }

  u16(type: number, value: number): this {
    this.begin(type, 2);
    this.view.setUint16(this.len, value, true);
    this.len += 2;
    this.pad();
    return this;
  }

  /** A u16 in network byte order (service and destination ports, tunnel port). */
  u16be(type: number, value: number): this {
    this.begin(type, 2);
    this.view.setUint16(this.len, value, false);
    this.len += 2;
    this.pad();
    return this;
  }

  u32(type: number, value: number): this {
    this.begin(type, 4);
    this.view.setUint32(this.len, value >>> 0, true);
    this.len += 4;
    return this;
  }

  /** A u32 in network byte order (IPv4 netmask, IPv4 multicast group). */
  u32be(type: number, value: number): this {
    this.begin(type, 4);
    this.view.setUint32(this.len, value >>> 0, false);
    this.len += 4;
    return this;
  }

  u64(type: number, value: bigint): this {
    this.begin(type, 8);
    this.view.setBigUint64(this.len, value, true);
    this.len += 8;
    return this;
  }

  bytes(type: number, value: Uint8Array): this {
    this.begin(type, value.length);
    this.buf.set(value, this.len);
    this.len += value.length;
    this.pad();
    return this;
  }

  /** Two host-order u32 in one attribute (struct ip_vs_flags: flags, then mask). */
  u32pair(type: number, first: number, second: number): this {
    this.begin(type, 8);
    this.view.setUint32(this.len, first >>> 0, true);
    this.view.setUint32(this.len + 4, second >>> 0, true);
    this.len += 8;
    return this;
  }

  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING as ipvsadm sends them). */
  string(type: number, value: string): this {
    if (/^[\x00-\x7f]*$/.test(value)) {
      // ASCII (every scheduler and PE name): written as is, without an encoder's allocation.
      this.begin(type, value.length + 1);
      for (let i = 0; i < value.length; i++) this.buf[this.len + i] = value.charCodeAt(i);
      this.buf[this.len + value.length] = 0;
      this.len += value.length + 1;
      this.pad();
      return this;
    }
    const encoded = (encoder ??= new TextEncoder()).encode(value);
    this.begin(type, encoded.length + 1);
    this.buf.set(encoded, this.len);
    this.buf[this.len + encoded.length] = 0;
    this.len += encoded.length + 1;
    this.pad();
    return this;
  }

  /** A nested attribute whose children `fill` writes; flagged NLA_F_NESTED as ipvsadm does. */
  nested(type: number, fill: (w: this) => void): this {
    const at = this.begin(type | NLA_F_NESTED, 0);
    fill(this);
    this.view.setUint16(at, this.len - at, true);
    return this;
  }

  /** A copy of everything written; the writer is done with (its buffer goes to the next one). */
  finish(): Uint8Array {
    const out = carve(this.len);
    out.set(this.buf.subarray(0, this.len));
    AttrWriter.spare = this.buf;
    return out;
  }
}

/** One attribute found by `readAttrs`: its number (flags stripped) and where its payload lies. */
export interface RawAttr {
  type: number;
  nested: boolean;
  start: number;
  length: number;
}

/**
 * Walks the attributes in buf[start, end) and hands each to `visit`. A header that is too short
 * or runs past `end` raises WireError; trailing bytes shorter than a header are an error too.
 */
export function readAttrs(
  view: DataView,
  start: number,
  end: number,
  visit: (attr: RawAttr) => void,
): void {
  for (const a = new AttrCursor(view, start, end); a.next(); ) visit(a.copy());
}

/**
 * The attributes of buf[start, end) one after the other, in one reused object: what readAttrs
 * visits, for decoders that run once per entry of a big dump. `next()` raises the same WireErrors.
 */
export class AttrCursor implements RawAttr {
  type = 0;
  nested = false;
  start = 0;
  length = 0;
  private at: number;

  constructor(
    private readonly view: DataView,
    start: number,
    private readonly end: number,
  ) {
    this.at = start;
  }

  /** Moves to the next attribute; false past the last. */
  next(): boolean {
    const { view, end, at } = this;
    if (at >= end) return false;
    if (end - at < NLA_HDRLEN) throw new WireError('truncated attribute header', at);
    const len = view.getUint16(at, true);
    const rawType = view.getUint16(at + 2, true);
    if (len < NLA_HDRLEN) throw new WireError(`attribute length ${len} below header size`, at);
    if (at + len > end) throw new WireError(`attribute ${rawType & NLA_TYPE_MASK} runs past its container`, at);
    this.type = rawType & NLA_TYPE_MASK;
    this.nested = (rawType & NLA_F_NESTED) !== 0;
    this.start = at + NLA_HDRLEN;
    this.length = len - NLA_HDRLEN;
    this.at = at + align4(len);
    return true;
  }

  /** The current attribute as an object of its own, to keep past the next `next()`. */
  copy(): RawAttr {
    return { type: this.type, nested: this.nested, start: this.start, length: this.length };
  }
}

function expectLength(a: RawAttr, bytes: number, what: string): void {
  if (a.length < bytes) throw new WireError(`attribute ${a.type} is not a ${what}; length ${a.length}`, a.start);
}

/** Typed getters over one attribute's payload; each checks the length first. */
export const get = {
  u8(view: DataView, a: RawAttr): number {
    expectLength(a, 1, 'u8');
    return view.getUint8(a.start);
  },
  u16(view: DataView, a: RawAttr): number {
    expectLength(a, 2, 'u16');
    return view.getUint16(a.start, true);
  },
  u16be(view: DataView, a: RawAttr): number {
    expectLength(a, 2, 'u16');
    return view.getUint16(a.start, false);
  },
  u32(view: DataView, a: RawAttr): number {
    expectLength(a, 4, 'u32');
    return view.getUint32(a.start, true);
  },
  i32(view: DataView, a: RawAttr): number {
    expectLength(a, 4, 'u32');
    return view.getInt32(a.start, true);
  },
  u32be(view: DataView, a: RawAttr): number {
    expectLength(a, 4, 'u32');
    return view.getUint32(a.start, false);
  },
  u64(view: DataView, a: RawAttr): bigint {
    expectLength(a, 8, 'u64');
    return view.getBigUint64(a.start, true);
  },
  bytes(view: DataView, a: RawAttr, size: number): Uint8Array {
    expectLength(a, size, `${size}-byte value`);
    return new Uint8Array(view.buffer, view.byteOffset + a.start, size);
  },
  /** A string up to its first NUL (or the end of the payload when unterminated). */
  string(view: DataView, a: RawAttr): string {
    // Scheduler and PE names are short ASCII: read them byte by byte; TextDecoder costs more
    // than the name for every service of a listing.
    let text = '';
    for (let i = a.start; i < a.start + a.length; i++) {
      const c = view.getUint8(i);
      if (c === 0) return text;
      if (c > 0x7f) return utf8Until0(view, a);
      text += String.fromCharCode(c);
    }
    return text;
  },
};

function utf8Until0(view: DataView, a: RawAttr): string {
  const bytes = new Uint8Array(view.buffer, view.byteOffset + a.start, a.length);
  const nul = bytes.indexOf(0);
  return (decoder ??= new TextDecoder()).decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

// Made on first use: names are ASCII almost always, and creating them costs start-up time.
let decoder: TextDecoder | undefined;
let encoder: TextEncoder | undefined;
