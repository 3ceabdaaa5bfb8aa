import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  AttrWriter,
  IPVS_CMD,
  IPVS_CMD_ATTR,
  IPVS_DAEMON_ATTR,
  IPVS_INFO_ATTR,
  NLM_F,
  NLMSG,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR,
  WireError,
  align4,
  decodeAck,
  decodeDaemon,
  decodeDestination,
  decodeFamilyId,
  decodeGenlBody,
  decodeInfo,
  decodeService,
  decodeTimeouts,
  describeMessage,
  encodeGenlMessage,
  ipvsRequest,
  splitMessages,
  type NetlinkMessage,
} from '../../src/wire/index.js';
import { destinationReply, serviceReply } from './helpers/kernel-replies.js';
import { concat, genl, nlmsg } from './helpers/fake-kernel.js';

/** Runs `fn`; a WireError is an acceptable answer to garbage, anything else thrown is a bug. */
function wireErrorOnly(what: string, fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof WireError)) {
      throw new Error(`${what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of WireError`);
    }
  }
}

/** Every attribute-area decoder of the wire layer, applied to one payload. */
function decodeAllAttrs(attrs: Uint8Array): void {
  wireErrorOnly('decodeService', () => decodeService(attrs));
  wireErrorOnly('decodeDestination/v4', () => decodeDestination(attrs, AF_INET));
  wireErrorOnly('decodeDestination/v6', () => decodeDestination(attrs, AF_INET6));
  wireErrorOnly('decodeDaemon', () => decodeDaemon(attrs));
  wireErrorOnly('decodeTimeouts', () => decodeTimeouts(attrs));
  wireErrorOnly('decodeInfo', () => decodeInfo(attrs));
  wireErrorOnly('decodeFamilyId', () => decodeFamilyId(attrs));
}

/** What the handle does with a datagram: split, describe, and decode each message by its kind. */
function decodeDatagram(datagram: Uint8Array): void {
  let messages: NetlinkMessage[] = [];
  wireErrorOnly('splitMessages', () => (messages = splitMessages(datagram)));
  for (const m of messages) decodeMessage(m);
}

function decodeMessage(m: NetlinkMessage): void {
  // describeMessage feeds the debug trace, which must never fail at all.
  expect(typeof describeMessage(m, 'recv')).toBe('string');
  wireErrorOnly('decodeAck', () => decodeAck(m));
  let attrs: Uint8Array | undefined;
  wireErrorOnly('decodeGenlBody', () => (attrs = decodeGenlBody(m.body).attrs));
  if (attrs) decodeAllAttrs(attrs);
}

function errorMessage(seq: number, errno: number, request: Uint8Array, capped: boolean, extack?: string): Uint8Array {
  const echoed = capped ? request.subarray(0, NLMSG_HDRLEN) : request;
  const tlvs = extack === undefined ? new Uint8Array(0) : new AttrWriter().string(NLMSGERR_ATTR.MSG, extack).u32(NLMSGERR_ATTR.OFFS, 20).finish();
  const body = new Uint8Array(4 + align4(echoed.length) + tlvs.length);
  new DataView(body.buffer).setInt32(0, -errno, true);
  body.set(echoed, 4);
  body.set(tlvs, 4 + align4(echoed.length));
  const flags = (capped ? NLM_F.CAPPED : 0) | (extack === undefined ? 0 : NLM_F.ACK_TLVS);
  return nlmsg(NLMSG.ERROR, flags, seq, body);
}

const request = encodeGenlMessage(0x22, NLM_F.REQUEST | NLM_F.ACK, 7, IPVS_CMD.NEW_SERVICE, 1, ipvsRequest.newService(
  { family: AF_INET6, protocol: 6, address: '2001:db8::1', port: 443 },
  { scheduler: 'wrr', flags: 1, timeout: 300, netmask: { family: AF_INET6, prefix: 64 }, pe: 'sip' },
).attrs);

const svc = serviceReply({ family: AF_INET, address: '10.0.0.1', protocol: 6, port: 80, scheduler: 'rr', pe: 'sip', flags: 3, timeout: 10, netmask: 0xffffff00 });
const svc6fwm = serviceReply({ family: AF_INET6, fwmark: 77 });
const dest = destinationReply({
  family: AF_INET6, addressFamily: AF_INET6, address: '2001:db8::2', port: 8080, forward: 2, weight: 5, tunnelType: 1,
  tunnelPort: 6080, tunnelFlags: 1, upper: 100, lower: 10, active: 1, inactive: 2, persistent: 3,
  stats: { conns: 1n, inPkts: 2n, outPkts: 3n, inBytes: 4n, outBytes: 5n, cps: 6n, inPps: 7n, outPps: 8n, inBps: 9n, outBps: 10n },
  stats64: { conns: 1n, inPkts: 2n, outPkts: 3n, inBytes: 4n, outBytes: 5n, cps: 6n, inPps: 7n, outPps: 8n, inBps: 9n, outBps: 10n },
  pad: true,
});
const daemon = new AttrWriter()
  .bytes(
    IPVS_CMD_ATTR.DAEMON,
    new AttrWriter()
      .u32(IPVS_DAEMON_ATTR.STATE, 1)
      .string(IPVS_DAEMON_ATTR.MCAST_IFN, 'eth0')
      .u32(IPVS_DAEMON_ATTR.SYNC_ID, 3)
      .u16(IPVS_DAEMON_ATTR.SYNC_MAXLEN, 1400)
      .u16(IPVS_DAEMON_ATTR.MCAST_PORT, 8848)
      .u8(IPVS_DAEMON_ATTR.MCAST_TTL, 1)
      .bytes(IPVS_DAEMON_ATTR.MCAST_GROUP6, Uint8Array.from(Buffer.from('ff020000000000000000000000000001', 'hex')))
      .finish(),
  )
  .finish();
const timeouts = ipvsRequest.setConfig({ tcp: 900, tcpFin: 120, udp: 300 }).attrs;
const info = new AttrWriter().u32(IPVS_INFO_ATTR.VERSION, 0x010201).u32(IPVS_INFO_ATTR.CONN_TAB_SIZE, 4096).finish();

/** Valid attribute areas of every reply kind, as starting points for mutation. */
const validAttrs: [string, Uint8Array][] = [
  ['service', svc],
  ['fwmark service', svc6fwm],
  ['destination', dest],
  ['daemon', daemon],
  ['timeouts', timeouts],
  ['info', info],
  ['new-dest request', ipvsRequest.newDest({ family: AF_INET, fwmark: 1 }, { family: AF_INET, address: '1.2.3.4', port: 1 }, { forward: 0, weight: 1, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 }).attrs],
];

/** Valid datagrams as the kernel sends them, as starting points for mutation. */
const validDatagrams: [string, Uint8Array][] = [
  // Small payloads here: the datagram cases are about framing, the attribute cases above cover the rest.
  ['dump part', concat([
    nlmsg(0x22, NLM_F.MULTI, 9, genl(IPVS_CMD.NEW_DAEMON, daemon)),
    nlmsg(0x22, NLM_F.MULTI | NLM_F.DUMP_INTR, 9, genl(IPVS_CMD.SET_CONFIG, timeouts)),
    nlmsg(NLMSG.DONE, NLM_F.MULTI, 9, Uint8Array.of(0, 0, 0, 0)),
  ])],
  ['doit reply + ack', concat([
    nlmsg(0x22, 0, 3, genl(IPVS_CMD.SET_INFO, info)),
    errorMessage(3, 0, request, true),
  ])],
  ['error, whole request echoed, extack', errorMessage(7, 17, request, false, 'Service already exists')],
  ['error, capped, extack', errorMessage(7, 2, request, true, 'no such scheduler')],
  ['info reply', nlmsg(0x22, 0, 5, genl(IPVS_CMD.SET_INFO, info))],
];

function* truncations(b: Uint8Array): Generator<Uint8Array> {
  for (let n = 0; n < b.length; n++) yield b.slice(0, n);
}

function* bitFlips(b: Uint8Array): Generator<Uint8Array> {
  for (let i = 0; i < b.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const c = b.slice();
      c[i] = (c[i] as number) ^ (1 << bit);
      yield c;
    }
  }
}

describe('the valid samples decode without error', () => {
  // Otherwise the mutations below would start from garbage and prove little.
  it('attribute areas', () => {
    expect(decodeService(svc).key).toEqual({ family: AF_INET, protocol: 6, address: '10.0.0.1', port: 80 });
    expect(decodeService(svc6fwm).key).toEqual({ family: AF_INET6, fwmark: 77 });
    expect(decodeDestination(dest, AF_INET).key).toEqual({ family: AF_INET6, address: '2001:db8::2', port: 8080 });
    expect(decodeDaemon(daemon).group).toBe('ff02::1');
    expect(decodeTimeouts(timeouts)).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect(decodeInfo(info)).toEqual({ version: 0x010201, connTabSize: 4096 });
  });

  it('datagrams', () => {
    for (const [, d] of validDatagrams) expect(splitMessages(d).length).toBeGreaterThan(0);
    const [err] = splitMessages((validDatagrams[2] as [string, Uint8Array])[1]);
    expect(decodeAck(err as NetlinkMessage)).toEqual({ errno: 17, requestSeq: 7, extackMessage: 'Service already exists', extackOffset: 20 });
    const [capped] = splitMessages((validDatagrams[3] as [string, Uint8Array])[1]);
    expect(decodeAck(capped as NetlinkMessage)).toEqual({ errno: 2, requestSeq: 7, extackMessage: 'no such scheduler', extackOffset: 20 });
  });
});

describe('every truncation and bit flip of valid input gives a value or a WireError', () => {
  for (const [name, attrs] of validAttrs) {
    it(`attributes: ${name} (${attrs.length} bytes)`, () => {
      for (const t of truncations(attrs)) decodeAllAttrs(t);
      for (const f of bitFlips(attrs)) decodeAllAttrs(f);
    });
  }
  for (const [name, datagram] of validDatagrams) {
    it(`datagram: ${name} (${datagram.length} bytes)`, () => {
      for (const t of truncations(datagram)) decodeDatagram(t);
      for (const f of bitFlips(datagram)) decodeDatagram(f);
    });
  }
});

/** Well-framed attribute trees with random numbers and payloads, to get past the framing checks. */
const attrTree: fc.Arbitrary<Uint8Array> = fc.letrec<{ tree: Uint8Array; node: Uint8Array }>((tie) => ({
  tree: fc.array(tie('node'), { maxLength: 6 }).map(concat),
  node: fc.oneof(
    { depthSize: 'small' },
    fc.tuple(fc.integer({ min: 0, max: 16 }), fc.uint8Array({ maxLength: 20 })).map(([t, p]) => new AttrWriter().bytes(t, p).finish()),
    fc.tuple(fc.integer({ min: 0, max: 16 }), tie('tree')).map(([t, p]) => new AttrWriter().bytes(t, p).finish()),
  ),
})).tree;

describe('random input gives a value or a WireError', () => {
  it('random bytes as attribute areas', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300, size: 'large' }), (b) => decodeAllAttrs(b)), { numRuns: 1000 });
  });

  it('random well-framed attribute trees', () => {
    fc.assert(fc.property(attrTree, (b) => decodeAllAttrs(b)), { numRuns: 1000 });
  });

  it('random datagrams', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300, size: 'large' }), (b) => decodeDatagram(b)), { numRuns: 1000 });
  });

  it('random NLMSG_ERROR bodies under every flag combination', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0, NLM_F.CAPPED, NLM_F.ACK_TLVS, NLM_F.CAPPED | NLM_F.ACK_TLVS),
        fc.uint8Array({ maxLength: 120, size: 'large' }),
        (flags, body) => decodeMessage({ type: NLMSG.ERROR, flags, seq: 1, pid: 0, body }),
      ),
      { numRuns: 2000 },
    );
  });

  it('an NLMSG_ERROR whose echoed length is absurd (≥ 2^31) is a WireError, not a RangeError', () => {
    // Uncapped ACK_TLVS: the TLVs are found after the echoed request, whose length the message claims.
    for (const claimed of [0x7ffffffd, 0x80000000, 0xfffffff0, 0xffffffff]) {
      const body = new Uint8Array(4 + NLMSG_HDRLEN + 8);
      new DataView(body.buffer).setInt32(0, -22, true);
      new DataView(body.buffer).setUint32(4, claimed, true);
      const msg: NetlinkMessage = { type: NLMSG.ERROR, flags: NLM_F.ACK_TLVS, seq: 1, pid: 0, body };
      wireErrorOnly(`decodeAck(echoed length 0x${claimed.toString(16)})`, () => decodeAck(msg));
    }
  });

  it('random messages of every kind with random bodies describe and decode', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(NLMSG.NOOP, NLMSG.ERROR, NLMSG.DONE, NLMSG.OVERRUN, 0x10, 0x22),
        fc.integer({ min: 0, max: 0xffff }),
        fc.oneof(fc.uint8Array({ maxLength: 80, size: 'large' }), attrTree.map((t) => genl(1, t))),
        (type, flags, body) => decodeMessage({ type, flags, seq: 1, pid: 0, body }),
      ),
      { numRuns: 1000 },
    );
  });
});
