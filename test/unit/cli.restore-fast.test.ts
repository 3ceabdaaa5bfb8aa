import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { modificationOf } from '../../src/cli/modifications.js';
import { parseCommandLine } from '../../src/cli/parse.js';
import { fastModification } from '../../src/cli/restore-fast.js';
import type { Resolver } from '../../src/cli/types.js';

/** A resolver that knows no names: the lines under test are numeric. */
const resolver: Resolver = {
  hostAddress: () => undefined,
  hostName: () => undefined,
  servicePort: () => undefined,
  serviceName: () => undefined,
};
const ctx = { argv0: 'ipvsadm', env: {}, resolver };

/** What the full parser makes of a restore line (undefined: refused or not a modification). */
function slow(line: string): ReturnType<typeof modificationOf> {
  const parsed = parseCommandLine(line.split(' '), ctx);
  return 'kind' in parsed ? modificationOf(parsed) : undefined;
}

// Numbers around the edges the shortcut must respect, written with and without leading zeros.
/** Mostly ordinary values, sometimes an edge. */
const mostly = <T>(usual: fc.Arbitrary<T>, edge: fc.Arbitrary<T>) => fc.oneof({ arbitrary: usual, weight: 9 }, { arbitrary: edge, weight: 1 });
const octet = mostly(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom('00', '010', '256', '1000'));
const ipv4 = fc.tuple(octet, octet, octet, octet).map((p) => p.join('.'));
const port = mostly(fc.integer({ min: 0, max: 65535 }).map(String), fc.constantFrom('0', '080', '65536', '99999'));
const weight = mostly(fc.integer({ min: 0, max: 70000 }).map(String), fc.constantFrom('2147483647', '2147483648', '007', '-1'));
const timeout = mostly(fc.integer({ min: 0, max: 3000000 }).map(String), fc.constantFrom('2678400', '2678401', '0300'));
const scheduler = fc.oneof(fc.constantFrom('rr', 'wlc', 'sh', 'mh', 'nosuch'), fc.stringMatching(/^[a-z]{1,17}$/));
const proto = fc.constantFrom('-t', '-u', '-f', '--sctp-service');
const service = fc.tuple(proto, ipv4, port).map(([p, a, n]) => `${p} ${a}:${n}`);
const addService = fc
  .tuple(service, scheduler, fc.option(timeout, { nil: undefined }))
  .map(([s, sch, t]) => `-A ${s} -s ${sch}${t === undefined ? '' : ` -p ${t}`}`);
const addServer = fc
  .tuple(service, ipv4, port, fc.constantFrom('-m', '-g', '-i', '-x'), weight)
  .map(([s, a, n, f, w]) => `-a ${s} -r ${a}:${n} ${f} -w ${w}`);
const noise = fc.constantFrom('', ' ', ' -n', '  ', '\t');
const line = fc.tuple(fc.oneof(addService, addServer), noise).map(([l, n]) => l + n);

describe('the -R shortcut for ipvsadm-save lines', () => {
  it('gives exactly the full parser\'s change wherever it answers', () => {
    fc.assert(
      fc.property(line, (l) => {
        const fast = fastModification(l);
        if (fast !== undefined) expect(fast).toEqual(slow(l));
      }),
      { numRuns: 20000 },
    );
  });

  it('answers every line in ipvsadm-save -n form with ordinary values', () => {
    const canonical = fc.tuple(
      fc.constantFrom('-t', '-u'),
      fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 })).map(([a, b]) => `10.${a}.${b}.1`),
      fc.integer({ min: 1, max: 65535 }),
      fc.constantFrom('-m', '-g', '-i'),
      fc.integer({ min: 0, max: 65535 }),
    );
    fc.assert(
      fc.property(canonical, ([p, a, n, f, w]) => {
        for (const l of [`-A ${p} ${a}:${n} -s wrr`, `-A ${p} ${a}:${n} -s sh -p 300`, `-a ${p} ${a}:${n} -r 172.16.0.9:${n} ${f} -w ${w}`]) {
          const fast = fastModification(l);
          expect(fast).toBeDefined();
          expect(fast).toEqual(slow(l));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves unusual spellings to the full parser', () => {
    for (const l of [
      '-A -t 10.0.0.1:0 -s rr', // zero port: an error for a non-persistent service
      '-A -t 010.0.0.1:80 -s rr', // inet_aton reads 010 as octal
      '-A -t 10.0.0.1:080 -s rr',
      '-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 007',
      '-A -t 10.0.0.1:80 -s rr -p 2678401',
      '-A -t [2001:db8::1]:80 -s rr',
      '-A -t web:http -s rr',
      '-A -t 10.0.0.1:80 -s rr ',
      '-a -t 10.0.0.1:80 -r 10.0.1.1:8080 -m -w 1 --tun-type gre',
      '-E -t 10.0.0.1:80 -s rr',
    ]) {
      expect(fastModification(l), l).toBeUndefined();
    }
  });
});
