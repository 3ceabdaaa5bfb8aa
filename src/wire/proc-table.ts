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
 * A /proc/net/ip_vs listing, indexed by service name (`procServiceName`). A block is parsed only
 * when asked for: a whole table's real servers parsed at once would all stay alive until the
 * listing ends, and a big table's listing would spend its time in the garbage collector.
 */
export class ProcTable {
  private constructor(
    private readonly text: string,
    /** Where each service's first real-server line starts; -1 where netlink must be asked. */
    private readonly blocks: Map<string, number>,
  ) {}

  /** Indexes the text of /proc/net/ip_vs; undefined when it is not such a listing at all. */
  static parse(text: string): ProcTable | undefined {
    let at = 0;
    for (const title of TITLES) {
      if (!text.startsWith(title, at)) return undefined;
      at = lineEnd(text, at) + 1;
    }
    const blocks = new Map<string, number>();
    while (at < text.length) {
      const end = lineEnd(text, at);
      if (!text.startsWith('  -> ', at)) {
        // "TCP  0A000001:0050 rr ...", "FWM  00000001 rr ...": the name is up to the second space run.
        const second = text.indexOf(' ', text.indexOf('  ', at) + 2);
        const name = text.slice(at, second < 0 || second > end ? end : second);
        // Listed twice: IPv4 and IPv6 services of one firewall mark, or the table changed.
        blocks.set(name, blocks.has(name) ? -1 : end + 1);
      }
      at = end + 1;
    }
    return new ProcTable(text, blocks);
  }

  /** Services listed. */
  get size(): number {
    return this.blocks.size;
  }

  /** Whether the file lists a service of this name. */
  has(name: string): boolean {
    return this.blocks.has(name);
  }

  /** From now on, `destinations(name)` is undefined. */
  forget(name: string): void {
    if (this.blocks.has(name)) this.blocks.set(name, -1);
  }

  /**
   * The real servers of the service named `name`, in the file's order (the kernel's), or
   * undefined when netlink must be asked: the file does not list the name, or lists it twice,
   * or the block holds a tunnel (whose settings the file omits) or a line this parser does not
   * know.
   */
  destinations(name: string): DestinationEntry[] | undefined {
    let at = this.blocks.get(name) ?? -1;
    if (at < 0) return undefined;
    const text = this.text;
    const out: DestinationEntry[] = [];
    while (at < text.length && text.startsWith('  -> ', at)) {
      const end = lineEnd(text, at);
      if (!addDestination(out, text, at + 5, end)) return undefined;
      at = end + 1;
    }
    return out;
  }
}

function lineEnd(text: string, from: number): number {
  const end = text.indexOf('\n', from);
  return end < 0 ? text.length : end;
}

/**
 * Appends the real server of the line at `at..end` (after its `  -> `); false when the line
 * cannot be used. The line is ip_vs_info_seq_show's `%08X:%04X      %-7s %-6d %-10d %-10d`
 * (IPv6: `[%pI6]:%04X` first).
 */
function addDestination(block: DestinationEntry[], text: string, at: number, end: number): boolean {
  let family: typeof AF_INET | typeof AF_INET6;
  let address: string;
  if (text.charCodeAt(at) === 0x5b /* [ */) {
    const bytes = new Uint8Array(16);
    for (let g = 0; g < 8; g++) {
      const word = hexAt(text, at + 1 + g * 5, 4);
      if (word < 0 || text.charCodeAt(at + 5 + g * 5) !== (g < 7 ? 0x3a : 0x5d) /* : or ] */) return false;
      bytes[2 * g] = word >>> 8;
      bytes[2 * g + 1] = word & 255;
    }
    family = AF_INET6;
    address = formatIPv6(bytes);
    at += 41;
  } else {
    const n = hexAt(text, at, 8);
    if (n < 0) return false;
    family = AF_INET;
    address = `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    at += 8;
  }
  const port = text.charCodeAt(at) === 0x3a ? hexAt(text, at + 1, 4) : -1;
  if (port < 0) return false;
  at = skipSpaces(text, at + 5, end);
  const word = text.indexOf(' ', at);
  const forward = word < 0 || word > end ? undefined : FORWARDS[text.slice(at, word)];
  if (forward === undefined) return false;
  const numbers: number[] = [];
  for (at = skipSpaces(text, word, end); numbers.length < 3; at = skipSpaces(text, at, end)) {
    const negative = text.charCodeAt(at) === 0x2d; /* - */
    const digits = negative ? ++at : at;
    let n = 0;
    for (let c = text.charCodeAt(at); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++at)) n = n * 10 + (c - 0x30);
    if (at === digits) return false;
    numbers.push(negative ? -n : n);
  }
  if (at !== end) return false;
  const [weight, active, inactive] = numbers as [number, number, number];
  block.push({
    key: { family, address, port },
    config: { forward, weight, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 },
    // %d of the kernel's counters; netlink reports the same values as u32.
    activeConns: active >>> 0,
    inactiveConns: inactive >>> 0,
    persistentConns: 0,
  });
  return true;
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

/**
 * Two uppercase hex digits per byte value: names are built for every service of a listing. Made
 * on first use, so commands that list nothing do not build it.
 */
let HEX_BYTES: string[] | undefined;

function hex(byte: number | undefined): string {
  return (HEX_BYTES ??= Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0')))[byte as number] as string;
}
