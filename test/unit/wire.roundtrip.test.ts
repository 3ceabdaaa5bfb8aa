import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AttrWriter,
  IPVS_CMD,
  IPVS_CMD_ATTR,
  IPVS_DAEMON_ATTR,
  IPVS_DEST_ATTR,
  IPVS_INFO_ATTR,
  IPVS_SVC_ATTR,
  WireError,
  addressToBytes,
  canonicalAddress,
  decodeDaemon,
  decodeDestination,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  ipvsRequest,
  type DestinationEntry,
  type Family,
  type ServiceConfig,
  type ServiceKey,
  type Stats,
  type SyncDaemon,
} from '../../src/wire/index.js';
import { destinationReply, serviceReply, type KernelDestination } from './helpers/kernel-replies.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Address text written without the code under test: dotted quad, or eight full hex groups. */
function textOf(family: Family, b: Uint8Array): string {
  if (family === AF_INET) return Array.from(b.subarray(0, 4)).join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(Buffer.from(b.subarray(i, i + 2)).toString('hex').toUpperCase());
  return groups.join(':');
}

/** The 16-byte nf_inet_addr an address occupies on the wire. */
function wireBytes(family: Family, b: Uint8Array): string {
  const out = new Uint8Array(16);
  out.set(family === AF_INET ? b.subarray(0, 4) : b);
  return hex(out);
}

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const familyArb = fc.constantFrom<Family>(AF_INET, AF_INET6);
const addrBytes = fc.uint8Array({ minLength: 16, maxLength: 16 });
const lower = 'abcdefghijklmnopqrstuvwxyz'.split('');

const addressKey = fc.record({
  family: familyArb,
  protocol: fc.constantFrom(6, 17, 132),
  bytes: addrBytes,
  port: u16,
});
const fwmarkKey = fc.record({ family: familyArb, fwmark: fc.integer({ min: 1, max: 0xffffffff }) });

const flagsArb = fc.subarray([0x1, 0x4, 0x8, 0x10, 0x20]).map((bits) => bits.reduce((a, b) => a | b, 0));

function configArb(family: Family): fc.Arbitrary<ServiceConfig> {
  return fc.record({
    scheduler: fc.string({ unit: fc.constantFrom(...lower), minLength: 1, maxLength: 15 }),
    flags: flagsArb,
    timeout: u32,
    netmask:
      family === AF_INET
        ? u32.map((mask) => ({ family: AF_INET, mask }) as const)
        : fc.integer({ min: 1, max: 128 }).map((prefix) => ({ family: AF_INET6, prefix }) as const),
    pe: fc.constantFrom('', 'sip'),
  });
}

const serviceCase = fc
  .oneof(
    addressKey.map((k) => ({
      key: { family: k.family, protocol: k.protocol, address: textOf(k.family, k.bytes), port: k.port } as ServiceKey,
      bytes: k.bytes as Uint8Array | undefined,
    })),
    fwmarkKey.map((k) => ({ key: k as ServiceKey, bytes: undefined as Uint8Array | undefined })),
  )
  .chain(({ key, bytes }) => configArb(key.family).map((config) => ({ key, bytes, config })));

describe('service: newService → decodeService', () => {
  it('gives back exactly the key and configuration', () => {
    fc.assert(
      fc.property(serviceCase, ({ key, bytes, config }) => {
        const req = ipvsRequest.newService(key, config);
        expect(req.cmd).toBe(IPVS_CMD.NEW_SERVICE);
        expect(req.dump).toBe(false);
        const got = decodeService(req.attrs);
        const want: ServiceKey =
          'address' in key ? { ...key, address: canonicalAddress(key.family, key.address) } : key;
        expect(got).toEqual({ key: want, config });
        if ('address' in got.key && bytes) expect(hex(addressToBytes(got.key.family, got.key.address))).toBe(wireBytes(got.key.family, bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('setService carries the same configuration', () => {
    fc.assert(
      fc.property(serviceCase, ({ key, config }) => {
        const req = ipvsRequest.setService(key, config);
        expect(req.cmd).toBe(IPVS_CMD.SET_SERVICE);
        expect(decodeService(req.attrs).config).toEqual(config);
      }),
      { numRuns: 100 },
    );
  });

  it('effective flags are flags & mask (spec 7.5)', () => {
    fc.assert(
      fc.property(serviceCase, u32, ({ key, config }, mask) => {
        const got = decodeService(ipvsRequest.newService(key, config, mask).attrs);
        expect(got.config.flags).toBe((config.flags & mask) >>> 0);
      }),
      { numRuns: 200 },
    );
  });

  it('a kernel reply: HASHED stripped, "none" scheduler kept, both stats flavours read', () => {
    const stats: Stats = { conns: 1n, inPkts: 2n, outPkts: 3n, inBytes: 2n ** 40n, outBytes: 5n, cps: 6n, inPps: 7n, outPps: 8n, inBps: 9n, outBps: 0xffffffffn };
    const stats64: Stats = { ...stats, conns: 2n ** 64n - 1n, inPkts: 2n ** 33n };
    const got = decodeService(
      serviceReply({ family: AF_INET6, address: '2001:db8::1', protocol: 17, port: 53, scheduler: 'none', flags: 0x2 | 0x5, timeout: 360, netmask: 64, stats, stats64 }),
    );
    expect(got).toEqual({
      key: { family: AF_INET6, protocol: 17, address: '2001:db8::1', port: 53 },
      config: { scheduler: 'none', flags: 0x5, timeout: 360, netmask: { family: AF_INET6, prefix: 64 }, pe: '' },
      stats,
      stats64,
    });
  });

  it('reads the IPv4 netmask from network-order bytes (ff ff ff 00 = 255.255.255.0)', () => {
    const got = decodeService(serviceReply({ family: AF_INET, fwmark: 1, netmask: 0xffffff00 }));
    expect(got.config.netmask).toEqual({ family: AF_INET, mask: 0xffffff00 });
  });

  const required: [string, number][] = [
    ['AF', IPVS_SVC_ATTR.AF],
    ['SCHED_NAME', IPVS_SVC_ATTR.SCHED_NAME],
    ['FLAGS', IPVS_SVC_ATTR.FLAGS],
    ['TIMEOUT', IPVS_SVC_ATTR.TIMEOUT],
    ['NETMASK', IPVS_SVC_ATTR.NETMASK],
    ['PROTOCOL', IPVS_SVC_ATTR.PROTOCOL],
    ['ADDR', IPVS_SVC_ATTR.ADDR],
    ['PORT', IPVS_SVC_ATTR.PORT],
  ];
  for (const [name, type] of required) {
    it(`a service without ${name} is a WireError`, () => {
      expect(() => decodeService(serviceReply({ family: AF_INET, address: '10.0.0.1', omit: [type] }))).toThrow(WireError);
    });
  }

  it('a fwmark service needs no PROTOCOL/ADDR/PORT, and an empty reply is a WireError', () => {
    expect(decodeService(serviceReply({ family: AF_INET, fwmark: 9 })).key).toEqual({ family: AF_INET, fwmark: 9 });
    expect(() => decodeService(new Uint8Array(0))).toThrow(WireError);
  });

  it('an unknown family or a short IPv6 ADDR is a WireError', () => {
    const bad = new AttrWriter()
      .bytes(IPVS_CMD_ATTR.SERVICE, new AttrWriter().u16(IPVS_SVC_ATTR.AF, 7).u32(IPVS_SVC_ATTR.FWMARK, 1).finish())
      .finish();
    expect(() => decodeService(bad)).toThrow(WireError);
    const short = new AttrWriter()
      .bytes(
        IPVS_CMD_ATTR.SERVICE,
        new AttrWriter()
          .u16(IPVS_SVC_ATTR.AF, AF_INET6)
          .u16(IPVS_SVC_ATTR.PROTOCOL, 6)
          .bytes(IPVS_SVC_ATTR.ADDR, new Uint8Array(4))
          .u16be(IPVS_SVC_ATTR.PORT, 80)
          .string(IPVS_SVC_ATTR.SCHED_NAME, 'rr')
          .bytes(IPVS_SVC_ATTR.FLAGS, new Uint8Array(8))
          .u32(IPVS_SVC_ATTR.TIMEOUT, 0)
          .u32(IPVS_SVC_ATTR.NETMASK, 128)
          .finish(),
      )
      .finish();
    expect(() => decodeService(short)).toThrow(WireError);
  });
});

const stats32Arb: fc.Arbitrary<Stats> = fc.record({
  conns: u32.map(BigInt),
  inPkts: u32.map(BigInt),
  outPkts: u32.map(BigInt),
  inBytes: u64,
  outBytes: u64,
  cps: u32.map(BigInt),
  inPps: u32.map(BigInt),
  outPps: u32.map(BigInt),
  inBps: u32.map(BigInt),
  outBps: u32.map(BigInt),
});
const stats64Arb: fc.Arbitrary<Stats> = fc.record({
  conns: u64,
  inPkts: u64,
  outPkts: u64,
  inBytes: u64,
  outBytes: u64,
  cps: u64,
  inPps: u64,
  outPps: u64,
  inBps: u64,
  outBps: u64,
});

const destCase = fc
  .record({
    serviceFamily: familyArb,
    family: familyArb,
    sendFamily: fc.boolean(),
    bytes: addrBytes,
    port: u16,
    forward: fc.integer({ min: 0, max: 3 }),
    weight: fc.integer({ min: 0, max: 0x7fffffff }),
    tunnelType: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    tunnelPort: fc.option(u16, { nil: undefined }),
    tunnelFlags: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
    upper: u32,
    lower: u32,
    active: u32,
    inactive: u32,
    persistent: u32,
    stats: fc.option(stats32Arb, { nil: undefined }),
    stats64: fc.option(stats64Arb, { nil: undefined }),
    pad: fc.boolean(),
  })
  .map((c) => {
    // Without ADDR_FAMILY the decoder must fall back to the service family (spec 7.5).
    const family = c.sendFamily ? c.family : c.serviceFamily;
    return { ...c, family };
  });

describe('destination: kernel reply → decodeDestination', () => {
  it('returns what the kernel sent, stats as bigint up to 2^64-1', () => {
    fc.assert(
      fc.property(destCase, (c) => {
        const reply: KernelDestination = {
          family: c.sendFamily ? c.family : undefined,
          addressFamily: c.family,
          address: textOf(c.family, c.bytes),
          port: c.port,
          forward: c.forward,
          weight: c.weight,
          tunnelType: c.tunnelType,
          tunnelPort: c.tunnelPort,
          tunnelFlags: c.tunnelFlags,
          upper: c.upper,
          lower: c.lower,
          active: c.active,
          inactive: c.inactive,
          persistent: c.persistent,
          stats: c.stats,
          stats64: c.stats64,
          pad: c.pad,
        };
        const got = decodeDestination(destinationReply(reply), c.serviceFamily);
        const want: DestinationEntry = {
          key: { family: c.family, address: got.key.address, port: c.port },
          config: {
            forward: c.forward,
            weight: c.weight,
            upperThreshold: c.upper,
            lowerThreshold: c.lower,
            tunnelType: c.tunnelType ?? 0,
            tunnelPort: c.tunnelPort ?? 0,
            tunnelFlags: c.tunnelFlags ?? 0,
          },
          activeConns: c.active,
          inactiveConns: c.inactive,
          persistentConns: c.persistent,
        };
        if (c.stats) want.stats = c.stats;
        if (c.stats64) want.stats64 = c.stats64;
        expect(got).toEqual(want);
        expect(hex(addressToBytes(got.key.family, got.key.address))).toBe(wireBytes(c.family, c.bytes));
      }),
      { numRuns: 500 },
    );
  });

  it('masks FWD_METHOD to the low three bits and reads WEIGHT as the kernel\'s signed int', () => {
    const base: KernelDestination = {
      family: AF_INET, addressFamily: AF_INET, address: '192.168.1.1', port: 8080, forward: 0x100 | 2, weight: 0xffffffff,
      upper: 0, lower: 0, active: 0, inactive: 0, persistent: 0,
    };
    const got = decodeDestination(destinationReply(base), AF_INET);
    expect(got.config.forward).toBe(2);
    expect(got.config.weight).toBe(-1);
    expect(got.key).toEqual({ family: AF_INET, address: '192.168.1.1', port: 8080 });
  });

  const required: [string, number][] = [
    ['ADDR', IPVS_DEST_ATTR.ADDR],
    ['PORT', IPVS_DEST_ATTR.PORT],
    ['FWD_METHOD', IPVS_DEST_ATTR.FWD_METHOD],
    ['WEIGHT', IPVS_DEST_ATTR.WEIGHT],
    ['U_THRESH', IPVS_DEST_ATTR.U_THRESH],
    ['L_THRESH', IPVS_DEST_ATTR.L_THRESH],
    ['ACTIVE_CONNS', IPVS_DEST_ATTR.ACTIVE_CONNS],
    ['INACT_CONNS', IPVS_DEST_ATTR.INACT_CONNS],
    ['PERSIST_CONNS', IPVS_DEST_ATTR.PERSIST_CONNS],
  ];
  for (const [name, type] of required) {
    it(`a destination without ${name} is a WireError`, () => {
      const d: KernelDestination = {
        family: AF_INET, addressFamily: AF_INET, address: '10.1.1.1', port: 80, forward: 3, weight: 1,
        upper: 0, lower: 0, active: 0, inactive: 0, persistent: 0, omit: [type],
      };
      expect(() => decodeDestination(destinationReply(d), AF_INET)).toThrow(WireError);
    });
  }

  it('a destination with an unknown ADDR_FAMILY or no DEST nest is a WireError', () => {
    const d = new AttrWriter()
      .bytes(IPVS_CMD_ATTR.DEST, new AttrWriter().u16(IPVS_DEST_ATTR.ADDR_FAMILY, 1).finish())
      .finish();
    expect(() => decodeDestination(d, AF_INET)).toThrow(WireError);
    expect(() => decodeDestination(serviceReply({ family: AF_INET, fwmark: 1 }), AF_INET)).toThrow(WireError);
  });
});

const ifname = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-'.split('')), minLength: 1, maxLength: 15 });
const daemonCase = fc.record(
  {
    state: fc.constantFrom(1, 2),
    interface: ifname,
    syncId: u32,
    maxLen: fc.integer({ min: 1, max: 0xffff }),
    port: fc.integer({ min: 1, max: 0xffff }),
    ttl: fc.integer({ min: 1, max: 255 }),
    group: fc.oneof(
      fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => ({ family: AF_INET as Family, b })),
      addrBytes.map((b) => ({ family: AF_INET6 as Family, b })),
    ),
  },
  { requiredKeys: ['state', 'interface', 'syncId'] },
);

describe('daemon: newDaemon → decodeDaemon', () => {
  it('round trips IPv4 and IPv6 groups and every optional field', () => {
    fc.assert(
      fc.property(daemonCase, (c) => {
        const d: SyncDaemon = { state: c.state, interface: c.interface, syncId: c.syncId };
        if (c.maxLen !== undefined) d.maxLen = c.maxLen;
        if (c.port !== undefined) d.port = c.port;
        if (c.ttl !== undefined) d.ttl = c.ttl;
        if (c.group) d.group = textOf(c.group.family, c.group.b);
        const req = ipvsRequest.newDaemon(d);
        expect(req.cmd).toBe(IPVS_CMD.NEW_DAEMON);
        const got = decodeDaemon(req.attrs);
        const want: SyncDaemon = { ...d };
        if (c.group) want.group = canonicalAddress(c.group.family, textOf(c.group.family, c.group.b));
        expect(got).toEqual(want);
        if (c.group && got.group !== undefined) {
          expect(hex(addressToBytes(c.group.family, got.group))).toBe(wireBytes(c.group.family, c.group.b));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the multicast port is host order on the wire (1234 = d2 04, spec 7.3.3)', () => {
    const req = ipvsRequest.newDaemon({ state: 1, interface: 'lo', syncId: 0, port: 1234 });
    expect(hex(req.attrs)).toContain('06000700d2040000');
  });

  for (const [name, type] of [
    ['STATE', IPVS_DAEMON_ATTR.STATE],
    ['MCAST_IFN', IPVS_DAEMON_ATTR.MCAST_IFN],
    ['SYNC_ID', IPVS_DAEMON_ATTR.SYNC_ID],
  ] as const) {
    it(`a daemon without ${name} is a WireError`, () => {
      const n = new AttrWriter();
      if (type !== IPVS_DAEMON_ATTR.STATE) n.u32(IPVS_DAEMON_ATTR.STATE, 1);
      if (type !== IPVS_DAEMON_ATTR.MCAST_IFN) n.string(IPVS_DAEMON_ATTR.MCAST_IFN, 'eth0');
      if (type !== IPVS_DAEMON_ATTR.SYNC_ID) n.u32(IPVS_DAEMON_ATTR.SYNC_ID, 1);
      const attrs = new AttrWriter().bytes(IPVS_CMD_ATTR.DAEMON, n.finish()).finish();
      expect(() => decodeDaemon(attrs)).toThrow(WireError);
    });
  }
});

describe('timeouts and info', () => {
  it('setConfig → decodeTimeouts round trips u32 values', () => {
    fc.assert(
      fc.property(u32, u32, u32, (tcp, tcpFin, udp) => {
        const req = ipvsRequest.setConfig({ tcp, tcpFin, udp });
        expect(req.cmd).toBe(IPVS_CMD.SET_CONFIG);
        expect(decodeTimeouts(req.attrs)).toEqual({ tcp, tcpFin, udp });
      }),
    );
  });

  it('decodeInfo reads VERSION and CONN_TAB_SIZE and needs both', () => {
    fc.assert(
      fc.property(u32, u32, (version, size) => {
        const attrs = new AttrWriter().u32(IPVS_INFO_ATTR.VERSION, version).u32(IPVS_INFO_ATTR.CONN_TAB_SIZE, size).finish();
        expect(decodeInfo(attrs)).toEqual({ version, connTabSize: size });
      }),
    );
    expect(() => decodeInfo(new AttrWriter().u32(IPVS_INFO_ATTR.VERSION, 0x010201).finish())).toThrow(WireError);
    expect(() => decodeInfo(new AttrWriter().u32(IPVS_INFO_ATTR.CONN_TAB_SIZE, 4096).finish())).toThrow(WireError);
  });
});
