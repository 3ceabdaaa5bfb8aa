/**
 * ipvsadm's command line → one `Command`, or the `UsageError` the real tool prints (spec §2, §3,
 * §6.1, §10). Three layers:
 *
 * 1. `OptionScanner` reproduces libpopt 1.19 as ipvsadm drives it (§2.1): bundles, `=` after a
 *    short letter, long `--x=v`, the optional argument of `-p`, `--`, POSIXLY_CORRECT, and the
 *    token popt names in its errors (the argv element it consumed last).
 * 2. `Parser` applies each option in argv order to a service / destination / daemon under
 *    construction, exactly like ipvsadm mutates its one `ce` record: a value is interpreted with
 *    the state at that point of argv (§10 item 7).
 * 3. After the scan: `--set` operands, leftovers, `-b`, the compatibility table, the per-command
 *    checks and defaults, in the order of §2.7, then the `Command`.
 *
 * The tables (which token is which option, ranges, compatibility) live in grammar.ts.
 */
import {
  AF_INET,
  AF_INET6,
  bytesToAddress,
  DEFAULT_DEST_CONFIG,
  IP_VS_CONN_F,
  IP_VS_SVC_F,
  IPPROTO,
  parseIPv4,
  parseIPv6,
  serviceReference,
  type DestinationConfig,
  type DestinationKey,
  type Family,
  type Netmask,
  type ServiceConfig,
  type ServiceKey,
  type SyncDaemon,
} from '../wire/index.js';
import {
  COMMANDS,
  COMPATIBILITY,
  DAEMON_STATES,
  DEFAULT_MCAST_INTERFACE,
  DEFAULT_PERSISTENCE,
  DEFAULT_SCHEDULER,
  FORWARDING,
  INTEGER_RULES,
  OPTION_NAMES,
  OPTIONS,
  SCHED_FLAG_MASK,
  SCHED_FLAGS,
  SERVICE_PROTOCOLS,
  STRING_LIMITS,
  TUNNEL_COMPATIBILITY,
  TUNNEL_FLAGS,
  TUNNEL_OPTIONS,
  TUNNEL_TYPES,
  type CommandEntry,
  type CommandName,
  type IntegerRule,
  type OptionEntry,
  type OptionName,
} from './grammar.js';
import type { Command, DisplayMode, ListFormat, Resolver, UsageError } from './types.js';

/** What the parser needs from its surroundings. */
export interface ParseContext {
  /** argv[0] as invoked; the "Try …" line names it twice. */
  argv0: string;
  /** Only POSIXLY_CORRECT / POSIX_ME_HARDER are consulted (present = set, even if empty). */
  env: Record<string, string | undefined>;
  resolver: Resolver;
}

/**
 * Parses one invocation (`argv` without argv0). Never throws on its own (only a throwing resolver could).
 *
 * Three results need care from the caller:
 * - `-6 used before -f`: the message ends in "\n"; printing message + "\n" gives the empty line the
 *   real tool prints.
 * - `-b` with only commas (`-b ,`) crashes the original (SIGSEGV, status 139, nothing printed). We
 *   return `{ message: '', status: 255 }`: print nothing, fail, change nothing.
 * - `argv` empty means `ipvsadm` alone, which lists like `-L` (§1.1 step 5).
 */
export function parseCommandLine(argv: string[], ctx: ParseContext): Command | UsageError {
  if (argv.length === 0) return { kind: 'list', format: listFormat(new Set()), what: 'services' };
  try {
    return new Parser(argv, ctx).run();
  } catch (e) {
    if (e instanceof Refusal) return e.error;
    throw e;
  }
}

/** True when `parseCommandLine` refused the command line. */
export function isUsageError(r: Command | UsageError): r is UsageError {
  return !('kind' in r);
}

// ---------------------------------------------------------------------------------------------
// Errors

class Refusal {
  constructor(readonly error: UsageError) {}
}

function fail(message: string, status: 2 | 255 = 2): never {
  throw new Refusal({ message, status });
}

// ---------------------------------------------------------------------------------------------
// Value syntax (§2.4, §2.5). Exported for direct tests.

const C_SPACE = ' \t\n\v\f\r';
const LONG_MAX = 2n ** 63n - 1n;
const LONG_MIN = -(2n ** 63n);

/**
 * C `strtol(text, &end, 10)` that must consume the whole text: leading white space and a sign are
 * allowed, at least one digit, nothing after, no overflow. Undefined otherwise.
 */
export function strtolWhole(text: string): number | undefined {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)$/.exec(text);
  if (!m) return undefined;
  const v = BigInt(m[1] as string);
  if (v > LONG_MAX || v < LONG_MIN) return undefined;
  return Number(v);
}

/** The value of an integer option, or undefined when strtol or the range refuses it. */
export function integerIn(text: string, rule: IntegerRule): number | undefined {
  const v = strtolWhole(text);
  return v !== undefined && v >= rule.min && v <= rule.max ? v : undefined;
}

/** C `atoi`: the leading number (after blanks and a sign), 0 if none, as a 32-bit int. */
export function atoi(text: string): number {
  const m = /^[ \t\n\v\f\r]*([+-]?[0-9]+)/.exec(text);
  if (!m) return 0;
  let v = BigInt(m[1] as string);
  if (v > LONG_MAX) v = LONG_MAX;
  if (v < LONG_MIN) v = LONG_MIN;
  return Number(BigInt.asIntN(32, v));
}

function isDigit(c: string | undefined, base: number): boolean {
  if (c === undefined) return false;
  if (base === 16) return /^[0-9a-fA-F]$/.test(c);
  if (base === 8) return c >= '0' && c <= '7';
  return c >= '0' && c <= '9';
}

/**
 * glibc `inet_aton`: one to four parts separated by dots, each decimal, octal (leading 0) or hex
 * (0x); the last part fills the remaining bytes (`1.2.3` = 1.2.0.3, `12345` = 0.0.48.57). Each part
 * must start with a digit (no blanks, no sign). After the number the text must end or continue
 * with an ASCII blank (anything after that blank is ignored, as glibc does). Returns the address
 * as an unsigned 32-bit number.
 */
export function inetAton(text: string): number | undefined {
  const parts: number[] = [];
  let i = 0;
  let last: number;
  for (;;) {
    if (!isDigit(text[i], 10)) return undefined;
    // strtoul(…, 0): "0x" + hex digit → hex, leading "0" → octal, else decimal.
    let base = 10;
    if (text[i] === '0') {
      if ((text[i + 1] === 'x' || text[i + 1] === 'X') && isDigit(text[i + 2], 16)) {
        base = 16;
        i += 2;
      } else base = 8;
    }
    let v = 0n;
    while (isDigit(text[i], base)) {
      v = v * BigInt(base) + BigInt(parseInt(text[i] as string, base));
      i++;
    }
    if (v > 0xffffffffn) return undefined;
    if (text[i] === '.') {
      if (parts.length > 2 || v > 0xffn) return undefined;
      parts.push(Number(v));
      i++;
      continue;
    }
    last = Number(v);
    break;
  }
  const c = text[i];
  if (c !== undefined && !C_SPACE.includes(c)) return undefined;
  const room = [0xffffffff, 0xffffff, 0xffff, 0xff][parts.length] as number;
  if (last > room) return undefined;
  let word = 0;
  parts.forEach((p, k) => (word += p * 2 ** (24 - 8 * k)));
  return word + last;
}

function ipv4Bytes(word: number): Uint8Array {
  const out = new Uint8Array(16);
  out[0] = (word >>> 24) & 0xff;
  out[1] = (word >>> 16) & 0xff;
  out[2] = (word >>> 8) & 0xff;
  out[3] = word & 0xff;
  return out;
}

function wordOf(bytes: Uint8Array): number {
  return ((bytes[0] as number) * 2 ** 24 + ((bytes[1] as number) << 16) + ((bytes[2] as number) << 8) + (bytes[3] as number));
}

/** An IPv4 host: inet_aton syntax, else a name through gethostbyname (IPv4 only). */
function ipv4Host(text: string, resolver: Resolver): number | undefined {
  const direct = inetAton(text);
  if (direct !== undefined) return direct;
  if (text === '') return undefined;
  const resolved = resolver.hostAddress(text, AF_INET);
  const bytes = resolved === undefined ? undefined : parseIPv4(resolved);
  return bytes ? wordOf(bytes) : undefined;
}

/** A parsed `host[:port]`: address as the 16-byte nf_inet_addr, port undefined when not written. */
export interface Endpoint {
  family: Family;
  address: Uint8Array;
  port: number | undefined;
}

/**
 * `host[:port]` of `-t/-u/--sctp-service/-r` (§2.5.1). `protocol` is the /etc/services protocol
 * for port names ("tcp", "udp", "sctp"), or null when no service option came yet (no name then
 * resolves). Undefined when invalid.
 */
export function parseEndpoint(text: string, protocol: string | null, resolver: Resolver): Endpoint | undefined {
  if (text === '' || /^[0-9]+$/.test(text)) return undefined;
  let host = text;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return undefined;
    host = text.slice(1, close);
    portText = text.slice(close + 2);
  }
  let family: Family;
  let address: Uint8Array;
  const v6 = parseIPv6(host);
  if (v6) {
    family = AF_INET6;
    address = new Uint8Array(16);
    address.set(v6);
  } else {
    // Not IPv6: the port is whatever follows the last ':' of the host text (a port written after
    // "]" is dropped), and the rest must be an IPv4 address or name.
    const colon = host.lastIndexOf(':');
    portText = colon < 0 ? undefined : host.slice(colon + 1);
    if (colon >= 0) host = host.slice(0, colon);
    const word = ipv4Host(host, resolver);
    if (word === undefined) return undefined;
    family = AF_INET;
    address = ipv4Bytes(word);
  }
  if (portText === undefined) return { family, address, port: undefined };
  let port = integerIn(portText, INTEGER_RULES.port);
  if (port === undefined && protocol !== null && portText !== '') port = resolver.servicePort(portText, protocol);
  if (port === undefined) return undefined;
  return { family, address, port };
}

/** A string cut to at most `limit` UTF-8 bytes (never in the middle of a character). */
function truncateBytes(text: string, limit: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limit) return text;
  let end = limit;
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** `record[key]` for own keys only (so `constructor` or `__proto__` typed by a user is no table entry). */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function isZero(bytes: Uint8Array): boolean {
  return bytes.every((b) => b === 0);
}

// ---------------------------------------------------------------------------------------------
// libpopt 1.19 as ipvsadm uses it (§2.1)

type Item = { kind: 'command'; entry: CommandEntry } | { kind: 'option'; entry: OptionEntry };

type Scan =
  | { kind: 'item'; item: Item; value: string | undefined }
  | { kind: 'end' }
  | { kind: 'error'; reason: 'unknown option' | 'missing argument' | 'option does not take an argument' };

const BY_SHORT = new Map<string, Item>();
const BY_LONG = new Map<string, Item>();
for (const entry of COMMANDS) {
  const item: Item = { kind: 'command', entry };
  for (const s of entry.short) BY_SHORT.set(s, item);
  BY_LONG.set(entry.long, item);
}
for (const entry of OPTIONS) {
  const item: Item = { kind: 'option', entry };
  if (entry.short !== null) BY_SHORT.set(entry.short, item);
  BY_LONG.set(entry.long, item);
}

function argKind(item: Item): OptionEntry['arg'] {
  return item.entry.arg;
}

class OptionScanner {
  /** argv at popt's indices: index 0 (argv0) is never read as a token, so it stays empty. */
  private readonly args: string[];
  private next = 1;
  /** The rest of a short-option bundle still to be read (`-Ln` after `L`: "n"). */
  private bundle: string | null = null;
  /** After `--` (or, under POSIXLY_CORRECT, after the first operand) everything is an operand. */
  private rest = false;
  /** Elements taken by a `!#:+` expansion; the scan skips them. */
  private readonly taken = new Set<number>();
  /** Non-option arguments, in order (poptGetArg). */
  readonly operands: string[] = [];

  constructor(
    argv: readonly string[],
    private readonly posix: boolean,
  ) {
    this.args = ['', ...argv];
  }

  /** poptBadOption: the argv element consumed last. */
  lastToken(): string {
    return this.args[this.next - 1] ?? '';
  }

  read(): Scan {
    for (;;) {
      if (this.bundle === null && this.next >= this.args.length) return { kind: 'end' };
      let item: Item | undefined;
      let attached: string | undefined; // the value of `--name=value`
      if (this.bundle === null) {
        if (this.taken.has(this.next)) {
          this.next++;
          continue;
        }
        const token = this.args[this.next++] as string;
        if (this.rest || !token.startsWith('-') || token === '-') {
          if (this.posix) this.rest = true;
          this.operands.push(token);
          continue;
        }
        if (token === '--') {
          this.rest = true;
          continue;
        }
        if (token.startsWith('--')) {
          const body = token.slice(2);
          const eq = body.indexOf('=');
          item = BY_LONG.get(eq < 0 ? body : body.slice(0, eq));
          if (!item) return { kind: 'error', reason: 'unknown option' };
          if (eq >= 0) attached = body.slice(eq + 1);
        } else {
          // ipvsadm has no single-dash long options: `-add-service` is the bundle a, d, d, ….
          this.bundle = token.slice(1);
        }
      }
      if (this.bundle !== null) {
        const letter = this.bundle[0] as string;
        const rest = this.bundle.slice(1);
        this.bundle = rest === '' ? null : rest;
        item = BY_SHORT.get(letter);
        if (!item) return { kind: 'error', reason: 'unknown option' };
      }
      if (!item) continue; // unreachable: one of the branches above set it
      if (argKind(item) === 'none') {
        if (attached !== undefined || this.bundle?.startsWith('=')) {
          return { kind: 'error', reason: 'option does not take an argument' };
        }
        return { kind: 'item', item, value: undefined };
      }
      let value: string | undefined;
      if (attached !== undefined) {
        value = this.expand(attached);
      } else if (this.bundle !== null) {
        // The rest of the bundle is the value; one '=' right after the letter is skipped.
        const raw = this.bundle.startsWith('=') ? this.bundle.slice(1) : this.bundle;
        this.bundle = null;
        value = this.expand(raw);
      } else if (this.next >= this.args.length) {
        if (argKind(item) === 'required') return { kind: 'error', reason: 'missing argument' };
      } else if (argKind(item) === 'optional' && (this.args[this.next] as string).startsWith('-')) {
        value = undefined;
      } else {
        // A required value is the next element even when it starts with '-'.
        value = this.expand(this.args[this.next++] as string);
      }
      return { kind: 'item', item, value };
    }
  }

  /**
   * popt replaces "!#:+" in an option value with the next element that does not start with '-'
   * (from the current position on), which the scan then skips. Kept for fidelity.
   */
  private expand(value: string): string {
    if (!value.includes('!#:+')) return value;
    let out = '';
    let found: string | undefined;
    for (let i = 0; i < value.length; i++) {
      if (value.startsWith('!#:+', i)) {
        found ??= this.takeNextOperand();
        if (found !== undefined) {
          out += found;
          i += 3;
          continue;
        }
      }
      out += value[i];
    }
    return out;
  }

  private takeNextOperand(): string | undefined {
    for (let i = this.next; i < this.args.length; i++) {
      const a = this.args[i] as string;
      if (this.taken.has(i) || a.startsWith('-')) continue;
      this.taken.add(i);
      return a;
    }
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// The record ipvsadm fills while scanning

interface ServiceState {
  family: Family;
  /** IPPROTO_*, 0 until a service option is seen. */
  protocol: number;
  /** /etc/services protocol for port names, null until a service option is seen. */
  portProtocol: string | null;
  address: Uint8Array;
  port: number;
  fwmark: number;
  netmask: Netmask;
  scheduler: string;
  flags: number;
  timeout: number;
  pe: string;
}

interface DestinationState extends DestinationConfig {
  family: Family;
  address: Uint8Array;
  port: number;
}

interface DaemonState {
  state: number;
  interface: string;
  syncId: number;
  maxLen?: number;
  group?: string;
  port?: number;
  ttl?: number;
}

const DISPLAY_MODES: readonly [OptionName, DisplayMode][] = [
  ['stats', 'stats'],
  ['rate', 'rate'],
  ['thresholds', 'thresholds'],
  ['persistent-conn', 'persistent-conn'],
  ['tun-info', 'tun-info'],
];

/** §5.3: `-n`, `--exact`, the first present display mode, `--nosort`. */
function listFormat(seen: ReadonlySet<OptionName>): ListFormat {
  const mode = DISPLAY_MODES.find(([name]) => seen.has(name))?.[1] ?? 'default';
  return { numeric: seen.has('numeric'), exact: seen.has('exact'), mode, sort: !seen.has('nosort') };
}

function message(rule: IntegerRule, value: string): string {
  return rule.error.replace('%s', value);
}

class Parser {
  private readonly scanner: OptionScanner;
  private readonly resolver: Resolver;
  /** Read only to refuse: finding the name the program was invoked by takes system calls. */
  private readonly ctx: ParseContext;
  private command: CommandName = 'list';
  private readonly seen = new Set<OptionName>();
  private readonly svc: ServiceState = {
    family: AF_INET,
    protocol: 0,
    portProtocol: null,
    address: new Uint8Array(16),
    port: 0,
    fwmark: 0,
    netmask: { family: AF_INET, mask: 0xffffffff },
    scheduler: '',
    flags: 0,
    timeout: 0,
    pe: '',
  };
  private readonly dest: DestinationState = {
    family: AF_INET,
    address: new Uint8Array(16),
    port: 0,
    ...DEFAULT_DEST_CONFIG,
  };
  private readonly daemon: DaemonState = { state: 0, interface: '', syncId: 0 };
  private schedFlags: string | undefined;
  /** `--input FILE` (extension of `-R`). */
  private input: string | undefined;

  constructor(argv: readonly string[], ctx: ParseContext) {
    const posix = ctx.env['POSIXLY_CORRECT'] !== undefined || ctx.env['POSIX_ME_HARDER'] !== undefined;
    this.scanner = new OptionScanner(argv, posix);
    this.resolver = ctx.resolver;
    this.ctx = ctx;
  }

  run(): Command {
    // §2.1 rule 1-2: the first option must be a command, -h or -v.
    const first = this.scanner.read();
    if (first.kind !== 'item' || first.item.kind !== 'command') return this.tryHelp();
    const name = first.item.entry.name;
    if (name === 'help') return { kind: 'help' };
    if (name === 'version') return { kind: 'version' };
    this.command = name;
    if (name === 'start-daemon' || name === 'stop-daemon') {
      const state = own(DAEMON_STATES, first.value ?? '');
      if (state === undefined) {
        fail(name === 'start-daemon' ? 'illegal start-daemon parameter specified' : 'illegal start_daemon specified');
      }
      this.daemon.state = state;
    }

    // §2.7 step 1: every later option in argv order.
    for (;;) {
      const scan = this.scanner.read();
      if (scan.kind === 'end') break;
      if (scan.kind === 'error') fail(`${this.scanner.lastToken()}: ${scan.reason}`, 255);
      if (scan.item.kind === 'command') fail(`invalid option \`${this.scanner.lastToken()}'`);
      this.apply(scan.item.entry, scan.value);
    }

    // Step 2: the operands.
    const operands = this.scanner.operands;
    let timeouts: number[] = [];
    if (this.command === 'set') {
      const values = operands.splice(0, 3);
      if (values.length < 3) fail('--set option requires 3 timeout values');
      timeouts = values.map((v) => this.integer(v, INTEGER_RULES.set));
    }
    if (operands.length > 0) fail(`unexpected argument ${operands[0]}`);

    // Step 3: scheduler flags, against the final scheduler.
    if (this.schedFlags !== undefined) this.applySchedFlags(this.schedFlags);

    // Step 4: which options go with the command.
    this.checkCompatibility();

    // Steps 5-9: per command.
    return this.build(timeouts);
  }

  private tryHelp(): never {
    const argv0 = this.ctx.argv0;
    fail(`Try \`${argv0} -h' or '${argv0} --help' for more information.`, 255);
  }

  // -------------------------------------------------------------------------------------------
  // One option

  private apply(entry: OptionEntry, value: string | undefined): void {
    if (entry.name !== null) {
      if (this.seen.has(entry.name)) fail(`multiple '${entry.name}' options specified`);
      this.seen.add(entry.name);
    }
    const text = value ?? '';
    const svc = this.svc;
    const dest = this.dest;
    switch (entry.long) {
      case 'tcp-service':
      case 'udp-service':
      case 'sctp-service': {
        const proto = own(SERVICE_PROTOCOLS, entry.long);
        if (!proto) break;
        svc.protocol = proto.protocol;
        svc.portProtocol = proto.name;
        const ep = parseEndpoint(text, proto.name, this.resolver);
        if (!ep) fail('illegal virtual server address[:port] specified');
        svc.family = ep.family;
        svc.address = ep.address;
        svc.port = ep.port ?? 0;
        if (ep.family === AF_INET6) svc.netmask = { family: AF_INET6, prefix: 128 };
        break;
      }
      case 'fwmark-service': {
        const proto = own(SERVICE_PROTOCOLS, entry.long);
        if (proto) {
          svc.protocol = proto.protocol;
          svc.portProtocol = proto.name;
        }
        const mark = integerIn(text, INTEGER_RULES.fwmark);
        if (mark === undefined) fail(message(INTEGER_RULES.fwmark, text));
        svc.fwmark = mark;
        break;
      }
      case 'ipv6':
        if (svc.fwmark === 0) fail('-6 used before -f\n');
        svc.family = AF_INET6;
        svc.netmask = { family: AF_INET6, prefix: 128 };
        break;
      case 'scheduler':
        svc.scheduler = truncateBytes(text, STRING_LIMITS.scheduler);
        break;
      case 'persistent':
        svc.flags |= IP_VS_SVC_F.PERSISTENT;
        if (value === undefined) svc.timeout = DEFAULT_PERSISTENCE;
        else {
          const t = integerIn(value, INTEGER_RULES.persistent);
          if (t === undefined) fail(message(INTEGER_RULES.persistent, value));
          svc.timeout = t;
        }
        break;
      case 'netmask':
        svc.netmask = this.netmask(text);
        break;
      case 'real-server': {
        // Parsed with the service as it stands now: its protocol names ports, its port is the default.
        const ep = parseEndpoint(text, svc.portProtocol, this.resolver);
        if (!ep) fail('illegal real server address[:port] specified');
        dest.family = ep.family;
        dest.address = ep.address;
        dest.port = ep.port ?? svc.port;
        break;
      }
      case 'gatewaying':
      case 'ipip':
      case 'masquerading':
        dest.forward = own(FORWARDING, entry.long) ?? IP_VS_CONN_F.DROUTE;
        break;
      case 'weight':
        dest.weight = this.integer(text, INTEGER_RULES.weight);
        break;
      case 'u-threshold':
        dest.upperThreshold = this.integer(text, INTEGER_RULES['u-threshold']);
        break;
      case 'l-threshold':
        dest.lowerThreshold = this.integer(text, INTEGER_RULES['l-threshold']);
        break;
      case 'mcast-interface':
        this.daemon.interface = truncateBytes(text, STRING_LIMITS['mcast-interface']);
        break;
      case 'syncid':
        this.daemon.syncId = this.integer(text, INTEGER_RULES.syncid);
        break;
      case 'ops':
        svc.flags |= IP_VS_SVC_F.ONEPACKET;
        break;
      case 'pe':
        svc.pe = truncateBytes(text, STRING_LIMITS.pe);
        break;
      case 'sched-flags':
        this.schedFlags = text;
        break;
      case 'mcast-group':
        this.daemon.group = mcastGroup(text);
        break;
      case 'mcast-port':
        this.daemon.port = this.integer(text, INTEGER_RULES['mcast-port']);
        break;
      case 'mcast-ttl':
        this.daemon.ttl = this.integer(text, INTEGER_RULES['mcast-ttl']);
        break;
      case 'sync-maxlen':
        this.daemon.maxLen = this.integer(text, INTEGER_RULES['sync-maxlen']);
        break;
      case 'tun-type': {
        const type = own(TUNNEL_TYPES, text);
        if (type === undefined) fail('illegal tunnel type specified');
        dest.tunnelType = type;
        break;
      }
      case 'tun-port':
        dest.tunnelPort = this.integer(text, INTEGER_RULES['tun-port']);
        break;
      case 'tun-nocsum':
      case 'tun-csum':
      case 'tun-remcsum':
        dest.tunnelFlags = TUNNEL_FLAGS[entry.long] ?? 0;
        break;
      case 'input':
        this.input = text;
        break;
      default:
        // -n -c --timeout --daemon --stats --rate --thresholds --persistent-conn --nosort --exact
        // --tun-info --sort, and the extensions --lossless --keep-going --stop-on-error: their
        // presence is all that counts.
        break;
    }
  }

  private integer(text: string, rule: IntegerRule): number {
    const v = integerIn(text, rule);
    if (v === undefined) fail(message(rule, text));
    return v;
  }

  /** §2.5.2: read with the service family as it is now. */
  private netmask(text: string): Netmask {
    if (this.svc.family === AF_INET6) {
      const prefix = atoi(text);
      if (prefix < 1 || prefix > 128) fail('illegal ipv6 netmask specified');
      return { family: AF_INET6, prefix };
    }
    const mask = ipv4Host(text, this.resolver);
    if (mask === undefined) fail('illegal virtual server persistent mask specified');
    return { family: AF_INET, mask };
  }

  /** §2.5.8. */
  private applySchedFlags(text: string): void {
    const tokens = text.split(',').filter((t) => t !== '');
    // The original dereferences a null token here and dies of SIGSEGV: print nothing, change nothing.
    if (text !== '' && tokens.length === 0) fail('', 255);
    const scheduler = this.svc.scheduler === '' ? DEFAULT_SCHEDULER : this.svc.scheduler;
    let bits = 0;
    for (const token of tokens) {
      const flag = own(SCHED_FLAGS, token);
      if (!flag) fail(`invalid scheduler flag \`${token}'`);
      if (flag.scheduler !== null && flag.scheduler !== scheduler) fail(`incompatible scheduler flag \`${token}'`);
      bits |= flag.bit;
    }
    if (tokens.length > 0) this.svc.flags = (this.svc.flags & ~SCHED_FLAG_MASK) | bits;
  }

  /** §2.6, walking the bits in order. */
  private checkCompatibility(): void {
    const cmd = this.command;
    const row = COMPATIBILITY[cmd];
    let exclusive: OptionName | undefined;
    for (const name of OPTION_NAMES) {
      const usage = row[name];
      if (!this.seen.has(name)) {
        if (usage === 'required') fail(`You need to supply the '${name}' option for the '${cmd}' command`);
        continue;
      }
      if (usage === undefined) fail(`Illegal '${name}' option with the '${cmd}' command`);
      if (usage === 'exclusive') {
        if (exclusive !== undefined) {
          fail(`The option '${name}' conflicts with the '${exclusive}' option in the '${cmd}' command`);
        }
        exclusive = name;
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Building the command

  private serviceKey(): ServiceKey {
    const s = this.svc;
    if (s.fwmark !== 0) return { family: s.family, fwmark: s.fwmark };
    return { family: s.family, protocol: s.protocol, address: bytesToAddress(s.family, s.address), port: s.port };
  }

  private build(timeouts: readonly number[]): Command {
    const svc = this.svc;
    switch (this.command) {
      case 'add-service':
      case 'edit-service': {
        // §2.7 step 5.
        const fwmark = svc.fwmark !== 0;
        if (!fwmark && svc.port === 0 && !(svc.flags & IP_VS_SVC_F.PERSISTENT)) {
          fail('Zero port specified for non-persistent service');
        }
        if (svc.flags & IP_VS_SVC_F.ONEPACKET && !fwmark && svc.protocol !== IPPROTO.UDP) {
          fail('One-Packet Scheduling is only for UDP virtual services');
        }
        const config: ServiceConfig = {
          scheduler: svc.scheduler === '' ? DEFAULT_SCHEDULER : svc.scheduler,
          flags: svc.flags,
          timeout: svc.timeout,
          netmask: svc.netmask,
          pe: svc.pe,
        };
        return { kind: this.command, service: this.serviceKey(), config };
      }
      case 'delete-service':
        return { kind: 'delete-service', service: this.serviceKey(), template: serviceReference(svc.family) };
      case 'flush':
        return { kind: 'flush' };
      case 'restore': {
        const cmd: Command = { kind: 'restore' };
        if (this.seen.has('keep-going')) cmd.mode = 'keep-going';
        if (this.seen.has('stop-on-error')) cmd.mode = 'stop-on-error';
        if (this.input !== undefined) cmd.input = this.input;
        return cmd;
      }
      case 'save':
        return this.seen.has('lossless')
          ? { kind: 'save', numeric: this.seen.has('numeric'), lossless: true }
          : { kind: 'save', numeric: this.seen.has('numeric') };
      case 'set': {
        const [tcp = 0, tcpFin = 0, udp = 0] = timeouts;
        return { kind: 'set', timeouts: { tcp, tcpFin, udp } };
      }
      case 'zero': {
        // §3.5: no service, or one whose mark, address and port are all zero, zeroes everything.
        if (!this.seen.has('service-address')) return { kind: 'zero' };
        if (svc.fwmark === 0 && svc.port === 0 && isZero(svc.address)) return { kind: 'zero' };
        return { kind: 'zero', service: this.serviceKey(), template: serviceReference(svc.family) };
      }
      case 'start-daemon': {
        const d = this.daemon;
        const daemon: SyncDaemon = {
          state: d.state,
          interface: d.interface === '' ? DEFAULT_MCAST_INTERFACE : d.interface,
          syncId: d.syncId,
        };
        if (d.maxLen !== undefined) daemon.maxLen = d.maxLen;
        if (d.group !== undefined) daemon.group = d.group;
        if (d.port !== undefined) daemon.port = d.port;
        if (d.ttl !== undefined) daemon.ttl = d.ttl;
        return { kind: 'start-daemon', daemon };
      }
      case 'stop-daemon':
        return { kind: 'stop-daemon', state: this.daemon.state, syncId: this.daemon.syncId };
      case 'add-server':
      case 'edit-server':
      case 'delete-server':
        return this.buildServer(this.command);
      case 'list':
        return this.buildList();
    }
  }

  /** §2.7 step 7 and §3.6-3.8. */
  private buildServer(kind: 'add-server' | 'edit-server' | 'delete-server'): Command {
    const svc = this.svc;
    const dest = this.dest;
    if (kind !== 'delete-server') {
      const tunnel = dest.forward === IP_VS_CONN_F.TUNNEL;
      // a. DR and tunnel destinations of an address service take the service's port.
      if (svc.fwmark === 0 && (tunnel || dest.forward === IP_VS_CONN_F.DROUTE)) dest.port = svc.port;
      // b.
      if (dest.family !== svc.family && !tunnel) fail('Different address family is allowed only for tunneling servers');
      // c.
      const tunnelOptions: readonly OptionName[] = ['tun-type', ...TUNNEL_OPTIONS];
      if (!tunnel && tunnelOptions.some((o) => this.seen.has(o))) fail('Tunnel options conflict with forward method');
      // d.
      if (tunnel) this.checkTunnel();
    }
    const key: DestinationKey = {
      family: dest.family,
      address: bytesToAddress(dest.family, dest.address),
      port: dest.port,
    };
    const config: DestinationConfig = {
      forward: dest.forward,
      weight: dest.weight,
      upperThreshold: dest.upperThreshold,
      lowerThreshold: dest.lowerThreshold,
      tunnelType: dest.tunnelType,
      tunnelPort: dest.tunnelPort,
      tunnelFlags: dest.tunnelFlags,
    };
    return { kind, service: this.serviceKey(), template: serviceReference(svc.family), dest: key, config };
  }

  private checkTunnel(): void {
    const type = Object.keys(TUNNEL_TYPES).find((t) => TUNNEL_TYPES[t] === this.dest.tunnelType) ?? 'ipip';
    const row = own(TUNNEL_COMPATIBILITY, type) ?? {};
    let exclusive: string | undefined;
    for (const name of TUNNEL_OPTIONS) {
      const usage = row[name];
      if (!this.seen.has(name)) {
        if (usage === 'required') fail(`You need to supply the '${name}' option for the '${type}' tunnel type`);
        continue;
      }
      if (usage === undefined) fail(`Illegal '${name}' option with the '${type}' tunnel type`);
      if (usage === 'exclusive') {
        if (exclusive !== undefined) {
          fail(`The option '${name}' conflicts with the '${exclusive}' option in the '${type}' tunnel type`);
        }
        exclusive = name;
      }
    }
  }

  /** §2.7 step 8 and §3.11. */
  private buildList(): Command {
    const has = (n: OptionName): boolean => this.seen.has(n);
    const table = has('connection') || has('timeout') || has('daemon');
    const columns = has('stats') || has('rate') || has('thresholds');
    if ((table && columns) || ((has('timeout') || has('daemon')) && has('persistent-conn'))) {
      fail('options conflicts in the list command');
    }
    const format = listFormat(this.seen);
    if (has('connection')) return { kind: 'list', format, what: 'connections' };
    if (has('service-address')) return { kind: 'list', service: this.serviceKey(), format, what: 'services' };
    if (has('timeout')) return { kind: 'list', format, what: 'timeout' };
    if (has('daemon')) return { kind: 'list', format, what: 'daemon' };
    return { kind: 'list', format, what: 'services' };
  }
}

/** §2.5.4: an IPv6 group in ff00::/8 or a strict dotted-quad IPv4 group in 224.0.0.0/4. */
function mcastGroup(text: string): string {
  if (text.includes(':')) {
    const b = parseIPv6(text);
    if (!b || b[0] !== 0xff) fail(`invalid IPv6 mcast-group \`${text}'`);
    return bytesToAddress(AF_INET6, b);
  }
  const b = parseIPv4(text);
  if (!b || ((b[0] as number) & 0xf0) !== 0xe0) fail(`invalid IPv4 mcast-group \`${text}'`);
  return bytesToAddress(AF_INET, b);
}
