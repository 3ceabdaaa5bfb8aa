/**
 * The name service of the command line: what ipvsadm asks glibc (gethostbyname, gethostbyaddr,
 * getservbyname, getservbyport), answered synchronously as the parser and the view builders need.
 *
 * Design: the parser and the views stay synchronous. /etc/hosts and /etc/services are read (once,
 * lazily) and searched here with glibc's "files" rules. A host lookup the file cannot answer is
 * recorded as pending and answered "not found" for now; the caller then runs `resolvePending()`
 * (the system's resolver through getaddrinfo / getnameinfo, i.e. NSS: the rest of nsswitch.conf,
 * DNS) and repeats the parse or the view build, which then finds the answers in the cache. A
 * caller that never resolves pending lookups gets files-only behaviour. Service names come from
 * /etc/services only (glibc's default `services: files`).
 *
 * Limits: /etc/hosts is assumed to come first in nsswitch.conf (the default `files dns`); the
 * rest goes through getaddrinfo/getnameinfo rather than gethostbyname/gethostbyaddr, which agree
 * for IPv4 lookups by name and address lookups. The test VM has no DNS server, so there (as for
 * the reference run with `hosts: files`) only /etc/hosts answers, and misses fail at once.
 *
 * glibc rules reproduced (checked against glibc 2.36):
 * - hosts, by name, IPv4: lines in file order, the first whose canonical name or an alias equals
 *   the name ignoring ASCII case; the address must be dotted-quad IPv4, except that an IPv6 line
 *   counts when its address is v4-mapped (the IPv4 part) or `::1` (127.0.0.1). By name, IPv6:
 *   lines with an IPv6 address only.
 * - hosts, by address: the first line whose address (read by the same rules for the family) is
 *   the address; the answer is that line's first (canonical) name.
 * - services: `name port/proto aliases…`, the first line whose name or alias (case-sensitive) and
 *   protocol match; by port, the first line with that port and protocol.
 * - `#` starts a comment anywhere on a line.
 *
 * ipvsadm-specific: IPv4-mapped and IPv4-compatible IPv6 addresses get no name (spec §5.7), and
 * port 0 gets no service name.
 */
import { readFileSync } from 'node:fs';
import type { Resolver } from './types.js';
import { AF_INET, AF_INET6, bytesToAddress, parseIPv4, parseIPv6, type Family } from '../wire/index.js';

/** Lookups the files could not answer, done asynchronously by the system resolver. */
export interface NameFallback {
  /** Host name → first address of the family, or undefined. */
  hostAddress(name: string, family: Family): Promise<string | undefined>;
  /** Address → host name, or undefined. */
  hostName(address: string, family: Family): Promise<string | undefined>;
}

/** A Resolver whose misses can be completed asynchronously before asking again. */
export interface PreparableResolver extends Resolver {
  /** True when some lookup missed the files and has not been resolved yet. */
  hasPending(): boolean;
  /** Resolves every pending lookup; afterwards the same questions are answered from the cache. */
  resolvePending(): Promise<void>;
}

/** True when `r` can complete lookups asynchronously (see PreparableResolver). */
export function isPreparable(r: Resolver): r is PreparableResolver {
  const p = r as Partial<PreparableResolver>;
  return typeof p.hasPending === 'function' && typeof p.resolvePending === 'function';
}

/** One address line of a hosts file. */
export interface HostsLine {
  address: string;
  /** Canonical name first, then the aliases. */
  names: string[];
}

/** One line of a services file. */
export interface ServicesLine {
  name: string;
  port: number;
  protocol: string;
  aliases: string[];
}

const BLANK = /[ \t]+/;

function fields(line: string): string[] {
  const hash = line.indexOf('#');
  const text = hash === -1 ? line : line.slice(0, hash);
  return text.split(BLANK).filter((f) => f !== '' && f !== '\r');
}

/** The address lines of an /etc/hosts text, in file order (lines without a name are skipped). */
export function parseHosts(text: string): HostsLine[] {
  const out: HostsLine[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line.replace(/\r$/, ''));
    if (f.length < 2) continue;
    out.push({ address: f[0] as string, names: f.slice(1) });
  }
  return out;
}

/** The entries of an /etc/services text, in file order. */
export function parseServices(text: string): ServicesLine[] {
  const out: ServicesLine[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line.replace(/\r$/, ''));
    if (f.length < 2) continue;
    const m = /^([0-9]+)\/(.+)$/.exec(f[1] as string);
    if (!m) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    out.push({ name: f[0] as string, port, protocol: m[2] as string, aliases: f.slice(2) });
  }
  return out;
}

const LOOPBACK_V4 = new Uint8Array([127, 0, 0, 1]);

function isV4Mapped(b: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return false;
  return b[10] === 0xff && b[11] === 0xff;
}

function isLoopback6(b: Uint8Array): boolean {
  for (let i = 0; i < 15; i++) if (b[i] !== 0) return false;
  return b[15] === 1;
}

function isUnspecified6(b: Uint8Array): boolean {
  return b.every((x) => x === 0);
}

/** `::a.b.c.d` (first 96 bits zero), other than `::` and `::1`. */
function isV4Compatible(b: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) if (b[i] !== 0) return false;
  return !isUnspecified6(b) && !isLoopback6(b);
}

/** The address of a hosts line as glibc's files backend reads it for `family`, or undefined (line skipped). */
function lineAddress(text: string, family: Family): Uint8Array | undefined {
  if (family === AF_INET6) {
    const v6 = parseIPv6(text);
    return v6 && !text.includes('%') ? v6 : undefined;
  }
  const v4 = parseIPv4(text);
  if (v4) return v4;
  const v6 = parseIPv6(text);
  if (!v6 || text.includes('%')) return undefined;
  if (isV4Mapped(v6)) return v6.slice(12, 16);
  if (isLoopback6(v6)) return LOOPBACK_V4;
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function bytesText(family: Family, b: Uint8Array): string {
  return bytesToAddress(family, b);
}

/** glibc's `__nss_hostname_digits_dots`: a name of digits and dots (not ending in a dot) never reaches NSS. */
function isDigitsDots(name: string): boolean {
  return /^[0-9.]+$/.test(name) && !name.endsWith('.');
}

/** Options of the system resolver. */
export interface SystemResolverOptions {
  /** Reads a file as text; throws when it cannot (then the file counts as empty). */
  readFile?: (path: string) => string;
  hostsPath?: string;
  servicesPath?: string;
  /** Asynchronous lookups for what /etc/hosts does not answer; null for files only. Default: the system's. */
  fallback?: NameFallback | null;
}

/** The real Resolver: /etc/hosts and /etc/services, completed by the system resolver on demand. */
export class SystemResolver implements PreparableResolver {
  private readonly readFile: (path: string) => string;
  private readonly hostsPath: string;
  private readonly servicesPath: string;
  private readonly fallback: NameFallback | null;
  private hosts: HostsLine[] | undefined;
  private services: ServicesLine[] | undefined;
  /** Fallback answers (undefined = not found), keyed `family/name` and `family/address`. */
  private readonly byName = new Map<string, string | undefined>();
  private readonly byAddress = new Map<string, string | undefined>();
  private readonly pendingNames = new Map<string, { name: string; family: Family }>();
  private readonly pendingAddresses = new Map<string, { address: string; family: Family }>();

  constructor(options: SystemResolverOptions = {}) {
    this.readFile = options.readFile ?? ((path) => readFileSync(path, 'utf8'));
    this.hostsPath = options.hostsPath ?? '/etc/hosts';
    this.servicesPath = options.servicesPath ?? '/etc/services';
    this.fallback = options.fallback === undefined ? systemFallback() : options.fallback;
  }

  private read(path: string): string {
    try {
      return this.readFile(path);
    } catch {
      return '';
    }
  }

  private hostsLines(): HostsLine[] {
    this.hosts ??= parseHosts(this.read(this.hostsPath));
    return this.hosts;
  }

  private serviceLines(): ServicesLine[] {
    this.services ??= parseServices(this.read(this.servicesPath));
    return this.services;
  }

  hostAddress(name: string, family: Family): string | undefined {
    const lower = name.toLowerCase();
    for (const line of this.hostsLines()) {
      if (!line.names.some((n) => n.toLowerCase() === lower)) continue;
      const bytes = lineAddress(line.address, family);
      if (bytes) return bytesText(family, bytes);
    }
    if (!this.fallback || name === '' || isDigitsDots(name)) return undefined;
    const key = `${family}/${name}`;
    if (this.byName.has(key)) return this.byName.get(key);
    this.pendingNames.set(key, { name, family });
    return undefined;
  }

  hostName(address: string, family: Family): string | undefined {
    const bytes = family === AF_INET ? parseIPv4(address) : parseIPv6(address);
    if (!bytes) return undefined;
    if (family === AF_INET6 && (isV4Mapped(bytes) || isV4Compatible(bytes) || isUnspecified6(bytes))) return undefined;
    for (const line of this.hostsLines()) {
      const a = lineAddress(line.address, family);
      if (a && sameBytes(a, bytes)) return line.names[0];
    }
    if (!this.fallback) return undefined;
    const key = `${family}/${bytesText(family, bytes)}`;
    if (this.byAddress.has(key)) return this.byAddress.get(key);
    this.pendingAddresses.set(key, { address, family });
    return undefined;
  }

  servicePort(name: string, protocol: string): number | undefined {
    for (const s of this.serviceLines()) {
      if (s.protocol === protocol && (s.name === name || s.aliases.includes(name))) return s.port;
    }
    return undefined;
  }

  serviceName(port: number, protocol: string): string | undefined {
    if (port === 0) return undefined;
    for (const s of this.serviceLines()) if (s.port === port && s.protocol === protocol) return s.name;
    return undefined;
  }

  hasPending(): boolean {
    return this.pendingNames.size > 0 || this.pendingAddresses.size > 0;
  }

  async resolvePending(): Promise<void> {
    const fallback = this.fallback;
    if (!fallback) return;
    const names = [...this.pendingNames];
    const addresses = [...this.pendingAddresses];
    this.pendingNames.clear();
    this.pendingAddresses.clear();
    await Promise.all([
      ...names.map(async ([key, q]) => {
        this.byName.set(key, await fallback.hostAddress(q.name, q.family).catch(() => undefined));
      }),
      ...addresses.map(async ([key, q]) => {
        this.byAddress.set(key, await fallback.hostName(q.address, q.family).catch(() => undefined));
      }),
    ]);
  }
}

/**
 * The system resolver as a fallback: getaddrinfo for names (NSS as configured: files, DNS, …),
 * getnameinfo with NI_NAMEREQD for addresses. Any failure is "not found". node:dns is loaded
 * only when a lookup is actually needed.
 */
export function systemFallback(): NameFallback {
  return {
    async hostAddress(name, family) {
      const dns = await import('node:dns');
      const r = await dns.promises.lookup(name, { family: family === AF_INET ? 4 : 6 });
      return r.address;
    },
    async hostName(address) {
      const dns = await import('node:dns');
      const r = await dns.promises.lookupService(address, 0);
      return r.hostname === address ? undefined : r.hostname;
    },
  };
}
