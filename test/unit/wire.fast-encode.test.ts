import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  IPPROTO,
  fastNewDest,
  fastNewService,
  ipvsRequest,
  serviceReference,
  type DestinationConfig,
  type ServiceConfig,
  type ServiceKey,
} from '../../src/wire/index.js';

const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const port = fc.nat(65535);
const u32 = fc.nat(0xffffffff);
const service: fc.Arbitrary<ServiceKey> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ family: fc.constant(AF_INET), protocol: fc.constantFrom(IPPROTO.TCP, IPPROTO.UDP, IPPROTO.SCTP), address: ipv4, port }) },
  { weight: 1, arbitrary: fc.record({ family: fc.constant(AF_INET6), protocol: fc.constant(IPPROTO.TCP), address: fc.constant('2001:db8::1'), port }) },
  { weight: 1, arbitrary: fc.record({ family: fc.constant(AF_INET), fwmark: fc.integer({ min: 1, max: 0xffffffff }) }) },
);
const serviceConfig: fc.Arbitrary<ServiceConfig> = fc.record({
  scheduler: fc.oneof(fc.constantFrom('rr', 'wlc', 'sh', 'mh', '', 'a-very-long-nam'), fc.string({ maxLength: 16 })),
  flags: u32,
  timeout: u32,
  netmask: fc.oneof(
    { weight: 8, arbitrary: fc.record({ family: fc.constant(AF_INET), mask: u32 }) },
    { weight: 1, arbitrary: fc.record({ family: fc.constant(AF_INET6), prefix: fc.nat(128) }) },
  ),
  pe: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, { weight: 1, arbitrary: fc.constant('sip') }),
});
const destConfig: fc.Arbitrary<DestinationConfig> = fc.record({
  forward: fc.nat(7),
  weight: fc.integer({ min: -5, max: 0x7fffffff }),
  upperThreshold: u32,
  lowerThreshold: u32,
  tunnelType: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(2) }),
  tunnelPort: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: port }),
  tunnelFlags: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(2) }),
});
const template = fc.oneof({ weight: 8, arbitrary: fc.constant(serviceReference(AF_INET)) }, { weight: 1, arbitrary: serviceConfig });

describe('fixed-layout encoders', () => {
  it('NEW_DEST: the same bytes as the general builder wherever they answer, and they answer for plain IPv4', () => {
    let answered = 0;
    fc.assert(
      fc.property(service, fc.record({ family: fc.constant(AF_INET), address: ipv4, port }), destConfig, template, (s, d, c, t) => {
        const fast = fastNewDest(s, d, c, t);
        if (fast === undefined) return;
        answered++;
        expect(fast).toEqual(ipvsRequest.newDest(s, d, c, t));
      }),
      { numRuns: 5000 },
    );
    expect(answered).toBeGreaterThan(1000);
  });

  it('NEW_SERVICE: the same bytes as the general builder wherever it answers', () => {
    let answered = 0;
    fc.assert(
      fc.property(service, serviceConfig, (s, c) => {
        const fast = fastNewService(s, c);
        if (fast === undefined) return;
        answered++;
        expect(fast).toEqual(ipvsRequest.newService(s, c));
      }),
      { numRuns: 5000 },
    );
    expect(answered).toBeGreaterThan(1000);
  });

  it('leaves tunnels, IPv6, fwmarks and persistence engines to the general builders', () => {
    const v4: ServiceKey = { family: AF_INET, protocol: IPPROTO.TCP, address: '10.0.0.1', port: 80 };
    const cfg: DestinationConfig = { forward: 2, weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 };
    expect(fastNewDest(v4, { family: AF_INET, address: '10.0.1.1', port: 80 }, cfg)).toBeUndefined();
    expect(fastNewDest(v4, { family: AF_INET6, address: '2001:db8::2', port: 80 }, { ...cfg, forward: 0 })).toBeUndefined();
    expect(fastNewDest({ family: AF_INET, fwmark: 3 }, { family: AF_INET, address: '10.0.1.1', port: 0 }, { ...cfg, forward: 0 })).toBeUndefined();
    expect(fastNewService(v4, { ...serviceReference(AF_INET), scheduler: 'sh', pe: 'sip' })).toBeUndefined();
  });
});
