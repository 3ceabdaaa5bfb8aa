/**
 * `ipvsadm -R`'s shortcut for the lines ipvsadm-save itself writes with `-n`: an IPv4 TCP/UDP
 * service (`-A … -s <sched> [-p <timeout>]`) or a real server of one (`-a … -r … -m|-g|-i -w <w>`).
 * Such a line becomes its change directly, without the popt emulation, which dominates the time
 * of a big restore. Anything else, or anything unusual within these forms (leading zeros, zero
 * ports, values near a limit), returns undefined and takes the full parser; a property test
 * holds the two equal wherever the shortcut answers.
 */
import { AF_INET, IP_VS_CONN_F, IP_VS_SVC_F, IPPROTO, serviceReference, writeIPv4, type ServiceKey } from '../wire/index.js';
import { MAX_TIMEOUT } from './grammar.js';
import type { Modification } from './modifications.js';

/** ipvsadm's rest of the service nest beside a real server, shared: changes are never mutated. */
const REFERENCE = serviceReference(AF_INET);

const FORWARD: Readonly<Record<string, number>> = { m: IP_VS_CONN_F.MASQ, g: IP_VS_CONN_F.DROUTE, i: IP_VS_CONN_F.TUNNEL };

/**
 * The line is read with a cursor, not a regex: a regex's match array and capture strings are
 * most of what a big restore allocates per line, and collecting that garbage costs as much as
 * the parsing under emulation.
 */
class Cursor {
  at = 0;
  /** The value of the last number read. */
  value = 0;
  constructor(readonly line: string) {}

  /** Consumes `text` if the line continues with it. */
  take(text: string): boolean {
    if (!this.line.startsWith(text, this.at)) return false;
    this.at += text.length;
    return true;
  }

  /** A decimal of 1 to `max` digits without a leading zero (a lone `0` when `zero`). */
  number(max: number, zero = false): boolean {
    const start = this.at;
    let v = 0;
    while (this.at - start < max) {
      const c = this.line.charCodeAt(this.at) - 0x30;
      if (!(c >= 0 && c <= 9)) break;
      v = v * 10 + c;
      this.at++;
    }
    const digits = this.at - start;
    this.value = v;
    if (digits === 0) return false;
    if (this.line.charCodeAt(start) !== 0x30) return true;
    return zero && digits === 1;
  }

  /**
   * The IPv4 address up to the next `:`, as inet_pton takes it (writeIPv4's rules), consumed
   * with the `:`; `reuse` is returned instead of a new string when the line spells it.
   */
  ipv4(reuse?: string): string | undefined {
    const end = this.line.indexOf(':', this.at);
    if (end < 0) return undefined;
    const same = reuse !== undefined && end - this.at === reuse.length && this.line.startsWith(reuse, this.at);
    const address = same ? reuse : this.line.slice(this.at, end);
    if (!same && !writeIPv4(SCRATCH, 0, address)) return undefined;
    this.at = end + 1;
    return address;
  }

  /** `-t ADDR:PORT` or `-u ADDR:PORT`; the key of the last such service is reused. */
  service(): AddressKey | undefined {
    const proto = this.line.charCodeAt(this.at + 1);
    if (!this.take('-') || (proto !== 0x74 /* t */ && proto !== 0x75) /* u */) return undefined;
    this.at++;
    if (!this.take(' ')) return undefined;
    const last = lastService;
    const address = this.ipv4(last?.address);
    if (address === undefined || !this.number(5) || this.value > 65535) return undefined;
    const protocol = proto === 0x74 ? IPPROTO.TCP : IPPROTO.UDP;
    if (last && last.address === address && last.protocol === protocol && last.port === this.value) return last;
    lastService = { family: AF_INET, protocol, address, port: this.value };
    return lastService;
  }

  get done(): boolean {
    return this.at === this.line.length;
  }
}

/** Consecutive lines name the same service: its key is made once (keys are never mutated). */
let lastService: AddressKey | undefined;

/** Where writeIPv4 checks an address the cursor read; the encoder writes it again later. */
const SCRATCH = new Uint8Array(4);

type AddressKey = Extract<ServiceKey, { address: string }>;

/** The change of a line in ipvsadm-save's numeric form, or undefined for the full parser. */
export function fastModification(line: string): Modification | undefined {
  const c = line.charCodeAt(1);
  if (line.charCodeAt(0) !== 0x2d /* - */ || line.charCodeAt(2) !== 0x20) return undefined;
  const cursor = new Cursor(line);
  cursor.at = 3;
  if (c === 0x61 /* a */) return addServer(cursor);
  if (c === 0x41 /* A */) return addService(cursor);
  return undefined;
}

/** `-A -t|-u ADDR:PORT -s SCHED [-p TIMEOUT]` */
function addService(cursor: Cursor): Modification | undefined {
  const service = cursor.service();
  if (!service || !cursor.take(' -s ')) return undefined;
  const start = cursor.at;
  while (cursor.at - start < 15) {
    const c = cursor.line.charCodeAt(cursor.at);
    if (!(c >= 0x61 && c <= 0x7a)) break;
    cursor.at++;
  }
  if (cursor.at === start) return undefined;
  const config = serviceReference(AF_INET);
  config.scheduler = cursor.line.slice(start, cursor.at);
  if (cursor.take(' -p ')) {
    if (!cursor.number(7) || cursor.value > MAX_TIMEOUT) return undefined;
    config.flags = IP_VS_SVC_F.PERSISTENT;
    config.timeout = cursor.value;
  }
  if (!cursor.done) return undefined;
  return { change: { op: 'add-service', service, config }, context: 'add-service' };
}

/** `-a -t|-u ADDR:PORT -r ADDR:PORT -m|-g|-i -w WEIGHT` */
function addServer(cursor: Cursor): Modification | undefined {
  const service = cursor.service();
  if (!service || !cursor.take(' -r ')) return undefined;
  const address = cursor.ipv4();
  if (address === undefined || !cursor.number(5) || cursor.value > 65535) return undefined;
  const destPort = cursor.value;
  if (!cursor.take(' -')) return undefined;
  const forward = FORWARD[cursor.line.charAt(cursor.at++)];
  if (forward === undefined || !cursor.take(' -w ') || !cursor.number(9, true) || !cursor.done) return undefined;
  return {
    change: {
      op: 'add-dest',
      service,
      // DR and tunnel real servers take the service's port (spec §3.6).
      dest: { family: AF_INET, address, port: forward === IP_VS_CONN_F.MASQ ? destPort : service.port },
      config: { forward, weight: cursor.value, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 },
      template: REFERENCE,
    },
    context: 'add-dest',
  };
}
