/**
 * /proc/net/ip_vs, the kernel's text listing of the table (ip_vs_ctl.c, ip_vs_info_seq_show):
 * every service with its real servers in one read, where netlink needs one dump per service.
 * It shows a real server's address, port, forwarding method, weight and connection counts, but
 * no thresholds, persistent connections or tunnel settings, and firewall-mark services without
 * their family; those blocks are left to netlink.
 */
import { AF_INET, AF_INET6, IPPROTO, IP_VS_CONN_F } from './constants.js';
import { formatIPv6, parseIPv4, parseIPv6 } from './address.js';
import { isFwmarkKey, type DestinationEntry, type ServiceKey } from './types.js';

/** The first lines of the file, before the services. */
const TITLES = ['IP Virtual Server version ', 'Prot LocalAddress:Port Scheduler Flags', '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn'];

/** ip_vs_fwd_name; "Masq" also stands for the undefined methods 4..7. */
const FORWARDS: Readonly<Record<string, number>> = {
  Masq: IP_VS_CONN_F.MASQ,
  Local: IP_VS_CONN_F.LOCALNODE,
  Route: IP_VS_CONN_F.DROUTE,
};

const PROTOCOL_NAMES: Readonly<Record<number, string>> = { [IPPROTO.TCP]: 'TCP', [IPPROTO.UDP]: 'UDP', [IPPROTO.SCTP]: 'SCTP' };

/**
 * Real servers by service, from the text of /proc/net/ip_vs, keyed by `procServiceName`.
 * A block is null when netlink must be asked instead: it holds a tunnel (whose settings the
 * file omits) or a line this parser does not know, or its name appears twice (IPv4 and IPv6
 * firewall-mark services of one mark, or a service listed twice while the table changed).
 * Undefined when the text is not such a listing at all.
 */
export function parseProcTable(text: string): Map<string, DestinationEntry[] | null> | undefined {
  let at = 0;
  for (const title of TITLES) {
    if (!text.startsWith(title, at)) return undefined;
    at = lineEnd(text, at) + 1;
  }
  const table = new Map<string, DestinationEntry[] | null>();
  let name: string | undefined;
  let block: DestinationEntry[] | null = null;
  // A plain scan, no regular expressions or line arrays: a big table has 100,000 lines.
  while (at < text.length) {
    const end = lineEnd(text, at);
    if (text.startsWith('  -> ', at)) {
      if (block !== null) block = addDestination(block, text, at + 5, end);
    } else {
      if (name !== undefined) table.set(name, table.has(name) ? null : block);
      // "TCP  0A000001:0050 rr ...", "FWM  00000001 rr ...": the name is up to the second space run.
      const second = text.indexOf(' ', text.indexOf('  ', at) + 2);
      name = text.slice(at, second < 0 || second > end ? end : second);
      block = [];
    }
    at = end + 1;
  }
  if (name !== undefined) table.set(name, table.has(name) ? null : block);
  return table;
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end < 0 ? text.length : end;
}

/**
 * The block with the real server of the line at `at..end` appended (after its `  -> `), or null
 * when the line cannot be used. The line is ip_vs_info_seq_show's
 * `%08X:%04X      %-7s %-6d %-10d %-10d` (IPv6: `[%pI6]:%04X` first).
 */
function addDestination(block: DestinationEntry[], text: string, at: number, end: number): DestinationEntry[] | null {
  let family: typeof AF_INET | typeof AF_INET6;
  let address: string;
  if (text.charCodeAt(at) === 0x5b /* [ */) {
    const bytes = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      const word = hexAt(text, at + 1 + g * 5, 4);
      if (word < 0 || text.charCodeAt(at + 5 + g * 5) !== (g < 7 ? 0x3a : 0x5d) /* : or ] */) return null;
      bytes[2 * g] = word >>> 8;
      bytes[2 * g + 1] = word & 255;
    }
    family = AF_INET6;
    address = formatIPv6(bytes);
    at += 41;
  } else {
    const n = hexAt(text, at, 8);
    if (n < 0) return null;
    family = AF_INET;
    address = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    at += 8;
  }
  const port = text.charCodeAt(at) === 0x3a ? hexAt(text, at + 1, 4) : -1;
  if (port < 0) return null;
  at = skipSpaces(text, at + 5, end);
  const word = text.indexOf(' ', at);
  const forward = word < 0 || word > end ? undefined : FORWARDS[text.slice(at, word)];
  if (forward === undefined) return null;
  const numbers: number[] = [];
  for (at = skipSpaces(text, word, end); numbers.length < 3; at = skipSpaces(text, at, end)) {
    const negative = text.charCodeAt(at) === 0x2d; /* - */
    const digits = negative ? ++at : at;
    let n = 0;
    for (let c = text.charCodeAt(at); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++at)) n = n * 10 + (c - 0x30);
    if (at === digits) return null;
    numbers.push(negative ? -n : n);
  }
  if (at !== end) return null;
  const [weight, active, inactive] = numbers as [number, number, number];
  block.push({
    key: { family, address, port },
    config: { forward, weight, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 },
    // %d of the kernel's counters; netlink reports the same values as u32.
    activeConns: active >>> 0,
    inactiveConns: inactive >>> 0,
    persistentConns: 0,
  });
  return block;
}

function skipSpaces(text: string, at: number, end: number): number {
  while (at < end && text.charCodeAt(at) === 0x20) at++;
  return at;
}

/** The value of `digits` hex digits (either case) at `at`, or -1. */
function hexAt(text: string, at: number, digits: number): number {
  let n = 0;
  for (let i = at; i < at + digits; i++) {
    const c = text.charCodeAt(i);
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;
    if (d < 0) return -1;
    n = n * 16 + d;
  }
  return n;
}

/**
 * How /proc/net/ip_vs names a service at the start of its line (`TCP  0A000001:0050`,
 * `UDP  [2001:0db8:0000:0000:0000:0000:0000:0001]:0035`, `FWM  00000001`); undefined for a
 * protocol that file spells otherwise.
 */
export function procServiceName(key: ServiceKey): string | undefined {
  if (isFwmarkKey(key)) return `FWM  ${hex(key.fwmark >>> 24)}${hex((key.fwmark >>> 16) & 255)}${hex((key.fwmark >>> 8) & 255)}${hex(key.fwmark & 255)}`;
  const protocol = PROTOCOL_NAMES[key.protocol];
  if (protocol === undefined) return undefined;
  const port = `${hex(key.port >>> 8)}${hex(key.port & 255)}`;
  if (key.family === AF_INET) {
    const b = parseIPv4(key.address);
    return b && `${protocol}  ${hex(b[0])}${hex(b[1])}${hex(b[2])}${hex(b[3])}:${port}`;
  }
  const b = parseIPv6(key.address);
  if (!b) return undefined;
  let groups = '';
  for (let i = 0; i < 16; i += 2) groups += `${i === 0 ? '' : ':'}${hex(b[i]).toLowerCase()}${hex(b[i + 1]).toLowerCase()}`;
  return `${protocol}  [${groups}]:${port}`;
}

/** Two uppercase hex digits per byte value: names are built for every service of a listing. */
const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0'));

function hex(byte: number | undefined): string {
  return HEX_BYTES[byte as number] as string;
}
