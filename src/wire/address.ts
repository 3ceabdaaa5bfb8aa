import { AF_INET, AF_INET6 } from './constants.js';

/** Address family of a service, destination or sync group: AF_INET (2) or AF_INET6 (10). */
export type Family = typeof AF_INET | typeof AF_INET6;

/** Size of the kernel's union nf_inet_addr, the form every IPVS address takes on the wire. */
export const INET_ADDR_SIZE = 16;

/** Parses strict dotted-quad IPv4 text into 4 bytes, or returns undefined. */
export function parseIPv4(text: string): Uint8Array | undefined {
  const out = new Uint8Array(4);
  return writeIPv4(out, 0, text) ? out : undefined;
}

/** Parses strict dotted-quad IPv4 text into `out` at `at`; false (out partly written) when it is not one. */
export function writeIPv4(out: Uint8Array, at: number, text: string): boolean {
  // inet_pton: four parts of one to three digits, each ≤ 255, no leading zero. A loop, not a
  // regex: every address of a big restore or listing comes through here.
  let part = 0;
  let digits = 0;
  let value = 0;
  for (let i = 0; i <= text.length; i++) {
    const c = i < text.length ? text.charCodeAt(i) : 0x2e;
    if (c === 0x2e /* . */) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      digits = 0;
      value = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && value === 0) return false;
      value = value * 10 + (c - 0x30);
      if (++digits > 3 || value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

/** Parses IPv6 text (RFC 4291 forms, embedded IPv4 allowed) into 16 bytes, or returns undefined. */
export function parseIPv6(text: string): Uint8Array | undefined {
  let head = text;
  let tail = '';
  const gap = text.indexOf('::');
  if (gap !== -1) {
    if (text.indexOf('::', gap + 1) !== -1) return undefined;
    head = text.slice(0, gap);
    tail = text.slice(gap + 2);
  }
  // Only the last piece of the whole address may be dotted IPv4.
  const headWords = words(head, gap === -1);
  const tailWords = words(tail, true);
  if (!headWords || !tailWords) return undefined;
  const total = headWords.length + tailWords.length;
  if (gap === -1 ? total !== 8 : total > 7) return undefined;
  const all = [...headWords, ...new Array<number>(8 - total).fill(0), ...tailWords];
  const out = new Uint8Array(16);
  all.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}

function words(part: string, mayEndInIPv4: boolean): number[] | undefined {
  if (part === '') return [];
  const pieces = part.split(':');
  const out: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const p = pieces[i] as string;
    if (mayEndInIPv4 && i === pieces.length - 1 && p.includes('.')) {
      const v4 = parseIPv4(p);
      if (!v4) return undefined;
      out.push(((v4[0] as number) << 8) | (v4[1] as number), ((v4[2] as number) << 8) | (v4[3] as number));
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
      out.push(parseInt(p, 16));
    }
  }
  return out;
}

/** The family of an address written as text, or undefined when it is neither IPv4 nor IPv6. */
export function familyOf(text: string): Family | undefined {
  if (parseIPv4(text)) return AF_INET;
  if (parseIPv6(text)) return AF_INET6;
  return undefined;
}

/** Encodes address text of `family` as the 16-byte nf_inet_addr; throws RangeError when it does not parse. */
export function addressToBytes(family: Family, text: string): Uint8Array {
  const raw = family === AF_INET ? parseIPv4(text) : parseIPv6(text);
  if (!raw) throw new RangeError(`not an ${family === AF_INET ? 'IPv4' : 'IPv6'} address: ${text}`);
  const out = new Uint8Array(INET_ADDR_SIZE);
  out.set(raw);
  return out;
}

/** Renders the first 4 (IPv4) or 16 (IPv6) bytes as inet_ntop(3) does in glibc. */
export function bytesToAddress(family: Family, bytes: Uint8Array): string {
  if (family === AF_INET) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  return formatIPv6(bytes);
}

/**
 * glibc's inet_ntop6: the longest run (first on ties) of at least two zero words becomes "::";
 * "::a.b.c.d" and "::ffff:a.b.c.d" keep their dotted tail. ipvsadm prints what this prints.
 */
export function formatIPv6(bytes: Uint8Array): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push(((bytes[2 * i] as number) << 8) | (bytes[2 * i + 1] as number));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
      curBase = -1;
    }
  }
  if (curBase !== -1 && curLen > bestLen) [bestBase, bestLen] = [curBase, curLen];
  if (bestLen < 2) bestBase = -1;

  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    const dotted =
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 || (bestLen === 7 && w[7] !== 0x0001) || (bestLen === 5 && w[5] === 0xffff));
    if (dotted) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      break;
    }
    out += (w[i] as number).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** Canonical text of an address (as the kernel will echo it back): parse, then format. */
export function canonicalAddress(family: Family, text: string): string {
  return bytesToAddress(family, addressToBytes(family, text));
}
