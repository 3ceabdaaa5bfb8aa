/**
 * ipvsadm's ordering of services and real servers (spec 5.9).
 *
 * ipvsadm hands the kernel's dump to glibc qsort, which (for arrays that fit in memory, i.e.
 * always here) is a stable top-down merge sort, with comparators that subtract unsigned 32-bit
 * values and read the difference as a signed 32-bit int. That comparator is not transitive, so
 * the printed order depends on the dump order; reproducing it needs both the same algorithm and
 * the same comparator, which is what this module provides.
 */
import { AF_INET6, isFwmarkKey, parseIPv6, writeIPv4 } from '../wire/index.js';
import type { DestinationEntry, Family, ServiceEntry } from '../wire/index.js';

/** A three-way comparison as C's qsort expects: negative, zero or positive. */
export type Comparator<T> = (a: T, b: T) => number;

/**
 * glibc's msort: split n into ⌊n/2⌋ and the rest, sort both halves, merge taking the left
 * element whenever the comparison is ≤ 0. Returns a new array; `items` is left as it is.
 */
export function mergeSort<T>(items: readonly T[], cmp: Comparator<T>): T[] {
  const out = items.slice();
  // One scratch array for every merge, as glibc's msort_with_tmp: a big listing sorts 10,000s.
  sortRange(out, new Array<T>(out.length), 0, out.length, cmp);
  return out;
}

function sortRange<T>(a: T[], tmp: T[], lo: number, n: number, cmp: Comparator<T>): void {
  if (n <= 1) return;
  const n1 = n >>> 1;
  sortRange(a, tmp, lo, n1, cmp);
  sortRange(a, tmp, lo + n1, n - n1, cmp);
  let i = lo;
  let j = lo + n1;
  let k = 0;
  while (i < lo + n1 && j < lo + n) {
    if (cmp(a[i] as T, a[j] as T) <= 0) tmp[k++] = a[i++] as T;
    else tmp[k++] = a[j++] as T;
  }
  // What is left of the right half is already in place.
  while (i < lo + n1) tmp[k++] = a[i++] as T;
  for (let t = 0; t < k; t++) a[lo + t] = tmp[t] as T;
}

/** (a − b) of two unsigned 32-bit values, wrapped to a signed 32-bit int: C's `int r = a - b`. */
export function wrappingDifference(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

/**
 * The address as ipvsadm's union nf_inet_addr holds it, as four host-order 32-bit words:
 * an IPv4 address fills word 0 and leaves words 1–3 zero.
 */
export function addressWords(family: Family, address: string): [number, number, number, number] {
  if (family !== AF_INET6) return [ipv4Word(address), 0, 0, 0];
  const bytes = parseIPv6(address);
  const out: [number, number, number, number] = [0, 0, 0, 0];
  if (!bytes) return out;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let w = 0; w * 4 < bytes.length; w++) out[w] = view.getUint32(w * 4, false);
  return out;
}

const ipv4Bytes = new Uint8Array(4);
const ipv4View = new DataView(ipv4Bytes.buffer);

/** Dotted-quad text as one host-order word (0 when it is not one), without allocating. */
function ipv4Word(address: string): number {
  return writeIPv4(ipv4Bytes, 0, address) ? ipv4View.getUint32(0, false) : 0;
}

/**
 * Address part of both comparators: when the FIRST operand is IPv6 the four words are compared in
 * order (first non-zero wrapping difference wins), otherwise only word 0.
 */
function compareAddresses(firstFamily: Family, a: readonly number[], b: readonly number[]): number {
  if (firstFamily === AF_INET6) {
    for (let i = 0; i < 4; i++) {
      const r = wrappingDifference(a[i] as number, b[i] as number);
      if (r !== 0) return r;
    }
    return 0;
  }
  return wrappingDifference(a[0] as number, b[0] as number);
}

/** The fields ipvsadm's service comparator looks at; fwmark services have protocol, address and port 0. */
interface ServiceSortKey {
  fwmark: number;
  af: Family;
  protocol: number;
  words: readonly number[];
  port: number;
}

function serviceSortKey(s: ServiceEntry): ServiceSortKey {
  const k = s.key;
  if (isFwmarkKey(k)) return { fwmark: k.fwmark >>> 0, af: k.family, protocol: 0, words: [0, 0, 0, 0], port: 0 };
  return { fwmark: 0, af: k.family, protocol: k.protocol, words: addressWords(k.family, k.address), port: k.port };
}

function compareServiceKeys(a: ServiceSortKey, b: ServiceSortKey): number {
  let r = wrappingDifference(a.fwmark, b.fwmark);
  if (r !== 0) return r;
  r = a.af - b.af;
  if (r !== 0) return r;
  r = a.protocol - b.protocol;
  if (r !== 0) return r;
  r = compareAddresses(a.af, a.words, b.words);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** ipvsadm's service comparator: wrapped fwmark, family, protocol, address, then port. */
export function compareServices(a: ServiceEntry, b: ServiceEntry): number {
  return compareServiceKeys(serviceSortKey(a), serviceSortKey(b));
}

interface DestinationSortKey {
  af: Family;
  words: readonly number[];
  port: number;
}

function destinationSortKey(d: DestinationEntry): DestinationSortKey {
  return { af: d.key.family, words: addressWords(d.key.family, d.key.address), port: d.key.port };
}

function compareDestinationKeys(a: DestinationSortKey, b: DestinationSortKey): number {
  const r = compareAddresses(a.af, a.words, b.words);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** ipvsadm's real-server comparator: address (no family comparison), then port. */
export function compareDestinations(a: DestinationEntry, b: DestinationEntry): number {
  return compareDestinationKeys(destinationSortKey(a), destinationSortKey(b));
}

/** Services in ipvsadm's order, given the kernel's dump order. */
export function sortServices<T extends ServiceEntry>(services: readonly T[]): T[] {
  const fast = sortedByNumber(services);
  if (fast !== undefined) return fast;
  const keyed = services.map((s) => ({ s, k: serviceSortKey(s) }));
  return mergeSort(keyed, (a, b) => compareServiceKeys(a.k, b.k)).map((x) => x.s);
}

/** Real servers of one service in ipvsadm's order, given the kernel's dump order. */
export function sortDestinations<T extends DestinationEntry>(destinations: readonly T[]): T[] {
  // Most services of a big table have one real server: nothing to compare.
  if (destinations.length < 2) return destinations.slice();
  const keyed = destinations.map((d) => ({ d, k: destinationSortKey(d) }));
  return mergeSort(keyed, (a, b) => compareDestinationKeys(a.k, b.k)).map((x) => x.d);
}

const IPV4_SPAN = 2 ** 31;

/**
 * The common table, as a plain numeric sort: IPv4 address services only, their addresses less
 * than 2^31 apart. There no wrapped difference wraps, so ipvsadm's comparator is the order of
 * (protocol, address, port), which the kernel keeps unique; every sort then yields msort's
 * order, and a native one of numbers is far cheaper than ours calling a comparator. Undefined
 * for any other table.
 */
function sortedByNumber<T extends ServiceEntry>(services: readonly T[]): T[] | undefined {
  const n = services.length;
  const words = new Float64Array(n);
  const protocols: number[] = [];
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < n; i++) {
    const k = (services[i] as T).key;
    if (isFwmarkKey(k) || k.family === AF_INET6) return undefined;
    const w = ipv4Word(k.address);
    words[i] = w;
    if (w < low) low = w;
    if (w > high) high = w;
    if (!protocols.includes(k.protocol)) protocols.push(k.protocol);
  }
  if (n < 2 || high - low >= IPV4_SPAN || protocols.length > 31) return undefined;
  protocols.sort((a, b) => a - b);
  // rank · 2^48 + address · 2^16 + port: below 2^53, so exact as a double.
  const keys = new Float64Array(n);
  const byKey = new Map<number, T>();
  for (let i = 0; i < n; i++) {
    const s = services[i] as T;
    const k = s.key as { protocol: number; port: number };
    const key = protocols.indexOf(k.protocol) * 2 ** 48 + (words[i] as number) * 2 ** 16 + k.port;
    keys[i] = key;
    byKey.set(key, s);
  }
  if (byKey.size !== n) return undefined;
  keys.sort();
  return Array.from(keys, (key) => byKey.get(key) as T);
}
