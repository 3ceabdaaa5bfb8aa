import { describe, expect, it } from 'vitest';
import { GenlHandle, NetlinkError, type OpResult } from '../../src/kernel/index.js';
import { Ipvs, destinationConfig, serviceConfig } from '../../src/model/index.js';
import {
  AF_INET,
  AF_INET6,
  AttrWriter,
  GENL_ID_CTRL,
  IPVS_CMD,
  IPVS_INFO_ATTR,
  IPVS_SVC_ATTR,
  NLM_F,
  NLMSG,
  decodeService,
  decodeTimeouts,
  encodeGenlMessage,
  ipvsRequest,
  type IpvsRequest,
  type ServiceEntry,
  type ServiceKey,
} from '../../src/wire/index.js';
import { FakeKernel, InlineKernel, until, type IpvsCall, type Reply } from './helpers/fake-kernel.js';
import { destinationReply, serviceReply } from './helpers/kernel-replies.js';

const vip: ServiceKey = { family: AF_INET, protocol: 6, address: '10.0.0.1', port: 80 };
const infoAttrs = new AttrWriter().u32(IPVS_INFO_ATTR.VERSION, 0x010201).u32(IPVS_INFO_ATTR.CONN_TAB_SIZE, 4096).finish();
const fwmarkService = (mark: number): Uint8Array => serviceReply({ family: AF_INET, fwmark: mark, scheduler: 'rr' });
const fwmarks = (list: ServiceEntry[]): number[] => list.map((s) => ('fwmark' in s.key ? s.key.fwmark : -1));

/** A kernel with a small IPVS table that answers every read command as spec 7.5 describes. */
function tableKernel(services = 3, Kernel: typeof FakeKernel = FakeKernel): FakeKernel {
  return new Kernel((call: IpvsCall): Reply => {
    switch (call.cmd) {
      case IPVS_CMD.GET_INFO:
        return { kind: 'ok', data: [infoAttrs], dataCmd: IPVS_CMD.SET_INFO };
      case IPVS_CMD.GET_CONFIG:
        return { kind: 'ok', data: [ipvsRequest.setConfig({ tcp: 900, tcpFin: 120, udp: 300 }).attrs], dataCmd: IPVS_CMD.SET_CONFIG };
      case IPVS_CMD.GET_SERVICE:
        if (call.dump) {
          return { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: Array.from({ length: services }, (_, i) => fwmarkService(i + 1)), perDatagram: 1 };
        }
        return { kind: 'ok', data: [serviceReply({ family: AF_INET, address: '10.0.0.1', port: 80 })], dataCmd: IPVS_CMD.NEW_SERVICE };
      case IPVS_CMD.GET_DEST:
        return {
          kind: 'dump',
          cmd: IPVS_CMD.NEW_DEST,
          perDatagram: 1,
          entries: [1, 2].map((n) =>
            destinationReply({
              family: AF_INET, addressFamily: AF_INET, address: `192.168.0.${n}`, port: 80, forward: 3, weight: n,
              upper: 0, lower: 0, active: 0, inactive: 0, persistent: 0,
            }),
          ),
        };
      default:
        return { kind: 'ok' };
    }
  });
}

async function rejection(p: Promise<unknown>): Promise<NetlinkError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NetlinkError);
  return e as NetlinkError;
}

/** Settles `p` or fails after `ms`: a request that never settles is a hang of the CLI. */
function within<T>(p: Promise<T>, ms = 500): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms)),
  ]);
}

describe('family resolution', () => {
  it('resolves the family id once and puts it in the type field of every later request', async () => {
    const kernel = tableKernel();
    const ipvs = await Ipvs.open({ transport: kernel });
    expect(ipvs.familyId).toBe(0x2b);
    await ipvs.info();
    await ipvs.services();
    await ipvs.addService(vip, serviceConfig(AF_INET));
    await ipvs.apply([{ op: 'flush' }, { op: 'zero' }], () => undefined);
    const messages = kernel.datagrams.flat();
    expect(messages.filter((m) => m.type === GENL_ID_CTRL)).toHaveLength(1);
    expect(messages[0]?.type).toBe(GENL_ID_CTRL);
    const rest = messages.slice(1);
    expect(rest.length).toBe(5);
    for (const m of rest) expect(m.type).toBe(0x2b);
    expect(kernel.violations).toEqual([]);
    ipvs.close();
    expect(kernel.closed).toBe(true);
  });

  it('an unknown family fails with ENOENT and closes the socket', async () => {
    const kernel = new FakeKernel();
    const e = await rejection(GenlHandle.open({ transport: kernel }, 'NOSUCHFAMILY'));
    expect(e.errno).toBe(2);
    expect(e.code).toBe('ENOENT');
    expect(kernel.closed).toBe(true);
  });
});

describe('requests and kernel errors', () => {
  it('a doit reply (data + ACK) resolves with its data', async () => {
    const ipvs = await Ipvs.open({ transport: tableKernel() });
    expect(await ipvs.info()).toEqual({ version: 0x010201, connTabSize: 4096 });
    expect(await ipvs.getTimeouts()).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    expect((await ipvs.getService(vip)).key).toEqual(vip);
  });

  it('every request asks for an ACK and only the listing dumps are dumps (spec 7.1)', async () => {
    const kernel = tableKernel();
    const ipvs = await Ipvs.open({ transport: kernel });
    await ipvs.info();
    await ipvs.list();
    await ipvs.daemons().catch(() => undefined);
    await ipvs.getService(vip);
    for (const c of kernel.calls) {
      expect(c.flags & (NLM_F.REQUEST | NLM_F.ACK)).toBe(NLM_F.REQUEST | NLM_F.ACK);
      const listing = c.cmd === IPVS_CMD.GET_DEST || c.cmd === IPVS_CMD.GET_DAEMON || (c.cmd === IPVS_CMD.GET_SERVICE && c.attrs.length === 0);
      expect(c.dump).toBe(listing);
    }
  });

  it('a refusal rejects with NetlinkError carrying errno, code and operation', async () => {
    const kernel = new FakeKernel(() => ({ kind: 'error', errno: 17 }));
    const ipvs = await Ipvs.open({ transport: kernel });
    const e = await rejection(ipvs.addService(vip, serviceConfig(AF_INET)));
    expect(e.errno).toBe(17);
    expect(e.code).toBe('EEXIST');
    expect(e.operation).toBe('NEW_SERVICE');
    expect(e.extack).toBeUndefined();
    const d = await rejection(ipvs.deleteDestination(vip, { family: AF_INET, address: '1.2.3.4', port: 80 }));
    expect(d.operation).toBe('DEL_DEST');
  });

  for (const capped of [false, true]) {
    it(`extended-ACK TLVs come through as extack/extackOffset (request echoed ${capped ? 'capped' : 'whole'})`, async () => {
      const kernel = new FakeKernel(() => ({ kind: 'error', errno: 22, capped, extack: 'Invalid scheduler', extackOffset: 36 }));
      const ipvs = await Ipvs.open({ transport: kernel });
      const e = await rejection(ipvs.editService(vip, serviceConfig(AF_INET)));
      expect(e.errno).toBe(22);
      expect(e.code).toBe('EINVAL');
      expect(e.operation).toBe('SET_SERVICE');
      expect(e.extack).toBe('Invalid scheduler');
      expect(e.extackOffset).toBe(36);
      expect(e.message).toContain('Invalid scheduler');
    });
  }

  it('a send failure rejects that request and leaves the handle usable', async () => {
    const kernel = tableKernel();
    const ipvs = await Ipvs.open({ transport: kernel });
    kernel.sendError = Object.assign(new Error('Operation not permitted'), { errno: -1 });
    const e = await rejection(ipvs.flush());
    expect(e.errno).toBe(1);
    expect(await ipvs.info()).toEqual({ version: 0x010201, connTabSize: 4096 });
  });
});

describe('dumps', () => {
  it('10,000 entries over many datagrams arrive complete and in order', async () => {
    const entries = Array.from({ length: 10000 }, (_, i) => fwmarkService(i + 1));
    const kernel = new FakeKernel(() => ({ kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries, perDatagram: 97 }));
    const ipvs = await Ipvs.open({ transport: kernel });
    const list = await ipvs.services();
    expect(fwmarks(list)).toEqual(Array.from({ length: 10000 }, (_, i) => i + 1));
    expect(kernel.datagrams.length).toBe(2);
    expect(kernel.violations).toEqual([]);
  });

  it('an empty dump (a service without destinations) is an empty list', async () => {
    const kernel = new FakeKernel(() => ({ kind: 'dump', cmd: IPVS_CMD.NEW_DEST, entries: [] }));
    const ipvs = await Ipvs.open({ transport: kernel });
    expect(await ipvs.destinations(vip)).toEqual([]);
  });

  for (const where of ['an entry', 'NLMSG_DONE'] as const) {
    it(`an interrupted dump (flag on ${where}) is retried and keeps only the retry's entries`, async () => {
      const kernel = new FakeKernel((call) =>
        call.index === 0
          ? { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [1, 2, 3, 4, 5].map(fwmarkService), perDatagram: 2, intr: [where === 'NLMSG_DONE' ? -1 : 2] }
          : { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [100, 101, 102].map(fwmarkService) },
      );
      const ipvs = await Ipvs.open({ transport: kernel });
      expect(fwmarks(await ipvs.services())).toEqual([100, 101, 102]);
      expect(kernel.calls.map((c) => c.cmd)).toEqual([IPVS_CMD.GET_SERVICE, IPVS_CMD.GET_SERVICE]);
      expect(kernel.violations).toEqual([]);
    });
  }

  it('requestEach tells the caller to restart and hands over every entry of the retry', async () => {
    const kernel = new FakeKernel((call) =>
      call.index < 2
        ? { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [1, 2, 3].map(fwmarkService), intr: [0] }
        : { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [7, 8].map(fwmarkService) },
    );
    const handle = await GenlHandle.open({ transport: kernel });
    const seen: number[] = [];
    let restarts = 0;
    await handle.requestEach(
      ipvsRequest.getServices(),
      (attrs) => seen.push(...fwmarks([decodeService(attrs)])),
      () => {
        restarts++;
        seen.length = 0;
      },
    );
    expect(restarts).toBe(2);
    expect(seen).toEqual([7, 8]);
  });

  it('a dump that is interrupted every time gives up with EINTR instead of looping', async () => {
    const kernel = new FakeKernel(() => ({ kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [fwmarkService(1)], intr: [0] }));
    const ipvs = await Ipvs.open({ transport: kernel });
    const e = await rejection(ipvs.services());
    expect(e.errno).toBe(4);
    expect(e.operation).toBe('GET_SERVICE');
    expect(kernel.calls.length).toBeGreaterThan(1);
    expect(kernel.calls.length).toBeLessThanOrEqual(10);
  });

  it('an error in NLMSG_DONE rejects the dump with that errno', async () => {
    const kernel = new FakeKernel(() => ({ kind: 'dump', cmd: IPVS_CMD.NEW_DEST, entries: [], doneErrno: 90 }));
    const ipvs = await Ipvs.open({ transport: kernel });
    const e = await rejection(ipvs.destinations(vip));
    expect(e.errno).toBe(90);
    expect(e.code).toBe('EMSGSIZE');
    expect(e.operation).toBe('GET_DEST');
  });

  it('a malformed dump entry rejects with EBADMSG only after DONE; the socket stays usable', async () => {
    const broken = serviceReply({ family: AF_INET, fwmark: 2, omit: [IPVS_SVC_ATTR.SCHED_NAME] });
    const kernel = new FakeKernel((call) =>
      call.cmd === IPVS_CMD.GET_INFO
        ? { kind: 'ok', data: [infoAttrs], dataCmd: IPVS_CMD.SET_INFO }
        : { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [fwmarkService(1), broken, fwmarkService(3)], perDatagram: 1, doneAlone: true },
    );
    const ipvs = await Ipvs.open({ transport: kernel });
    // Fired together: info must not reach the kernel before the dump's DONE (the fake checks).
    const [services, info] = await Promise.allSettled([ipvs.services(), ipvs.info()]);
    expect(services.status).toBe('rejected');
    const e = (services as PromiseRejectedResult).reason as unknown;
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).errno).toBe(74);
    expect((e as NetlinkError).operation).toBe('GET_SERVICE');
    expect(info).toEqual({ status: 'fulfilled', value: { version: 0x010201, connTabSize: 4096 } });
    expect(await ipvs.info()).toEqual({ version: 0x010201, connTabSize: 4096 });
    expect(kernel.violations).toEqual([]);
  });

  it('a malformed doit reply (service without SCHED_NAME) rejects with NetlinkError EBADMSG', async () => {
    const kernel = new FakeKernel((call) =>
      call.cmd === IPVS_CMD.GET_INFO
        ? { kind: 'ok', data: [infoAttrs], dataCmd: IPVS_CMD.SET_INFO }
        : { kind: 'ok', data: [serviceReply({ family: AF_INET, address: '10.0.0.1', omit: [IPVS_SVC_ATTR.SCHED_NAME] })], dataCmd: IPVS_CMD.NEW_SERVICE },
    );
    const ipvs = await Ipvs.open({ transport: kernel });
    const e = await ipvs.getService(vip).then(
      () => undefined,
      (err: unknown) => err,
    );
    // The Ipvs API promises NetlinkError with an errno for every failure, like the dump path gives.
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).errno).toBe(74);
    expect(await ipvs.info()).toEqual({ version: 0x010201, connTabSize: 4096 });
  });

  it('an undecodable NLMSG_ERROR answer settles its request instead of leaving it pending', async () => {
    // Too short to hold the echoed header: the request can never be matched to a proper ACK.
    const kernel = new FakeKernel((call) =>
      call.cmd === IPVS_CMD.FLUSH ? { kind: 'raw', type: NLMSG.ERROR, flags: 0, body: new Uint8Array(8) } : { kind: 'ok' },
    );
    const ipvs = await Ipvs.open({ transport: kernel });
    const e = await within(ipvs.flush()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).errno).toBe(74);
  });
});

describe('pipeline', () => {
  const failures = new Map<number, number>([
    [0, 17],
    [127, 2],
    [128, 3],
    [255, 22],
    [999, 34],
  ]);

  /** SET_CONFIG requests whose tcp timeout carries their index, so the fake knows which one it got. */
  const requests = (n: number): IpvsRequest[] => Array.from({ length: n }, (_, i) => ipvsRequest.setConfig({ tcp: i, tcpFin: 0, udp: 0 }));

  function failingKernel(): FakeKernel {
    return new FakeKernel((call) => {
      const errno = failures.get(decodeTimeouts(call.attrs).tcp);
      return errno === undefined ? { kind: 'ok' } : { kind: 'error', errno, capped: true };
    });
  }

  it('1,000 requests: exactly the failed indices are NetlinkErrors, in order, once each', async () => {
    const kernel = failingKernel();
    const handle = await GenlHandle.open({ transport: kernel });
    const seen: [number, OpResult][] = [];
    const count = await handle.pipeline(requests(1000), (i, r) => seen.push([i, r]));
    expect(count).toBe(1000);
    expect(seen.map(([i]) => i)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    for (const [i, r] of seen) {
      const errno = failures.get(i);
      if (errno === undefined) {
        expect(r, `index ${i}`).toBeUndefined();
      } else {
        expect(r, `index ${i}`).toBeInstanceOf(NetlinkError);
        expect(r?.errno).toBe(errno);
        expect(r?.operation).toBe('SET_CONFIG');
      }
    }
    // The kernel ran every request exactly once, in input order.
    expect(kernel.calls.map((c) => decodeTimeouts(c.attrs).tcp)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });

  it('≤128 messages a datagram, ACK only on the last, next batch only after the barrier answered', async () => {
    const kernel = failingKernel();
    const handle = await GenlHandle.open({ transport: kernel });
    await handle.pipeline(requests(1000), () => undefined);
    const batches = kernel.datagrams.filter((d) => d[0]?.type === kernel.familyId);
    expect(batches.map((b) => b.length)).toEqual([128, 128, 128, 128, 128, 128, 128, 104]);
    for (const b of batches) {
      b.forEach((m, i) => expect(Boolean(m.flags & NLM_F.ACK)).toBe(i === b.length - 1));
      for (const m of b) expect(m.flags & NLM_F.REQUEST).toBe(NLM_F.REQUEST);
    }
    expect(kernel.maxOutstanding).toBeLessThanOrEqual(128);
    expect(kernel.violations).toEqual([]);
  });

  it('a batch that would cross the seq wrap starts again at 1, so refusals still find their index', async () => {
    const kernel = failingKernel();
    const handle = await GenlHandle.open({ transport: kernel });
    // Members are looked up by seq - first: their seqs must be consecutive.
    (handle as unknown as { nextSeq: number }).nextSeq = 0xffffffff - 50;
    const seen: OpResult[] = [];
    await handle.pipeline(requests(300), (_, r) => seen.push(r));
    const batches = kernel.datagrams.filter((d) => d[0]?.type === kernel.familyId);
    expect(batches.map((b) => b[0]?.seq)).toEqual([1, 129, 257]);
    for (const b of batches) b.forEach((m, i) => expect(m.seq).toBe((b[0]?.seq as number) + i));
    expect(seen.map((r, i) => [i, r?.errno]).filter(([, e]) => e !== undefined)).toEqual(
      [...failures].filter(([i]) => i < 300).sort(([a], [b]) => a - b),
    );
  });

  it('honours a smaller window and rejects dumps', async () => {
    const kernel = new FakeKernel();
    const handle = await GenlHandle.open({ transport: kernel });
    const results: OpResult[] = [];
    await handle.pipeline(requests(25), (_, r) => results.push(r), 10);
    expect(kernel.datagrams.slice(1).map((d) => d.length)).toEqual([10, 10, 5]);
    expect(results).toEqual(new Array(25).fill(undefined));
    await expect(handle.pipeline([ipvsRequest.getServices()], () => undefined)).rejects.toThrow(TypeError);
  });

  it('Ipvs.apply reports the same way', async () => {
    const kernel = new FakeKernel((call) => (call.cmd === IPVS_CMD.NEW_DEST ? { kind: 'error', errno: 17 } : { kind: 'ok' }));
    const ipvs = await Ipvs.open({ transport: kernel });
    const out: [number, string | undefined][] = [];
    await ipvs.apply(
      [
        { op: 'add-service', service: vip, config: serviceConfig(AF_INET) },
        { op: 'add-dest', service: vip, dest: { family: AF_INET, address: '192.168.1.1', port: 80 }, config: destinationConfig() },
        { op: 'flush' },
      ],
      (i, r) => out.push([i, r?.code]),
    );
    expect(out).toEqual([
      [0, undefined],
      [1, 'EEXIST'],
      [2, undefined],
    ]);
  });
});

describe('socket failures and concurrency', () => {
  it('a socket error (ENOBUFS) rejects every pending request with errno 105 and does not crash', async () => {
    const kernel = new FakeKernel(() => ({ kind: 'hold' }));
    const ipvs = await Ipvs.open({ transport: kernel });
    const pending = [ipvs.info(), ipvs.getTimeouts(), ipvs.flush(), ipvs.services(), ipvs.apply([{ op: 'zero' }], () => undefined)];
    const settled = Promise.allSettled(pending);
    await until(() => kernel.calls.length === 3);
    kernel.emitError(Object.assign(new Error('No buffer space available'), { errno: 105 }));
    for (const r of await within(settled)) {
      expect(r.status).toBe('rejected');
      const e = (r as PromiseRejectedResult).reason as unknown;
      expect(e).toBeInstanceOf(NetlinkError);
      expect((e as NetlinkError).errno).toBe(105);
      expect((e as NetlinkError).code).toBe('ENOBUFS');
    }
    // Whatever the handle does next, it answers rather than hangs.
    await expect(within(ipvs.info())).rejects.toBeInstanceOf(NetlinkError);
  });

  it('dumps never share the socket with other requests, whatever is fired at once', async () => {
    const kernel = tableKernel(5);
    const ipvs = await Ipvs.open({ transport: kernel });
    const work: Promise<unknown>[] = [];
    for (let round = 0; round < 6; round++) {
      work.push(ipvs.info(), ipvs.getTimeouts(), ipvs.services(), ipvs.addService(vip, serviceConfig(AF_INET)));
      work.push(ipvs.destinations(vip), ipvs.getService(vip), ipvs.list());
      work.push(ipvs.apply([{ op: 'flush' }, { op: 'zero' }, { op: 'flush' }], () => undefined));
      for (let i = 0; i < 20; i++) work.push(ipvs.info());
    }
    const results = await within(Promise.all(work), 5000);
    expect(results).toHaveLength(6 * 28);
    expect(kernel.violations).toEqual([]);
    const lists = results.filter((r): r is ServiceEntry[] => Array.isArray(r) && r.length === 5 && !('destinations' in (r[0] as object)));
    for (const l of lists) expect(fwmarks(l)).toEqual([1, 2, 3, 4, 5]);
    expect(kernel.maxOutstanding).toBeLessThanOrEqual(128);
    // Plain requests did overlap, so the fake's checks had something to catch.
    expect(kernel.maxOutstanding).toBeGreaterThan(1);
  });

  it('keeps at most 128 requests unanswered however many are fired at once', async () => {
    // The receive buffer holds ~237 ACKs on 6.12; more replies in flight would overrun it.
    const kernel = tableKernel();
    const ipvs = await Ipvs.open({ transport: kernel });
    const infos = await Promise.all(Array.from({ length: 1000 }, () => ipvs.info()));
    expect(infos).toHaveLength(1000);
    for (const i of infos) expect(i).toEqual({ version: 0x010201, connTabSize: 4096 });
    expect(kernel.maxOutstanding).toBeGreaterThan(1);
    expect(kernel.maxOutstanding).toBeLessThanOrEqual(128);
  });

  it('the fake kernel itself notices a client that breaks the socket rules', async () => {
    // Guards the guard: the checks above pass vacuously if the fake never records violations.
    const kernel = new FakeKernel((call) =>
      call.dump ? { kind: 'dump', cmd: IPVS_CMD.NEW_SERVICE, entries: [fwmarkService(1)] } : { kind: 'hold' },
    );
    const frame = (seq: number, flags: number, cmd: number): Uint8Array =>
      encodeGenlMessage(kernel.familyId, NLM_F.REQUEST | flags, seq, cmd, 1, new Uint8Array(0));
    kernel.send([frame(1, NLM_F.ACK, IPVS_CMD.GET_INFO)], () => undefined);
    kernel.send([frame(2, NLM_F.ACK | NLM_F.DUMP, IPVS_CMD.GET_SERVICE)], () => undefined);
    kernel.send([frame(3, NLM_F.ACK, IPVS_CMD.FLUSH), frame(4, NLM_F.ACK, IPVS_CMD.FLUSH)], () => undefined);
    kernel.send([encodeGenlMessage(0x99, NLM_F.REQUEST, 5, IPVS_CMD.FLUSH, 1, new Uint8Array(0))], () => undefined);
    expect(kernel.violations).toEqual([
      'dump seq 2 sent while 1 requests are unanswered',
      'request while dump seq 2 is unfinished',
      'batch sent while 2 requests are unanswered',
      'ACK asked before the end of a batch (seq 3)',
      'request while dump seq 2 is unfinished',
      'message type 0x99 is not the family id 0x2b',
    ]);
  });
});

describe('a socket that answers inline (sendNow/receiveNow)', () => {
  it('lists the whole table without a turn of the event loop, equal to the evented listing', async () => {
    const evented = await Ipvs.open({ transport: tableKernel(50) });
    const kernel = tableKernel(50, InlineKernel) as InlineKernel;
    const ipvs = await Ipvs.open({ transport: kernel });
    expect(await ipvs.list()).toEqual(await evented.list());
    expect(kernel.deliveredByLoop).toBe(0);
    // GETFAMILY, the service dump, 50 destination dumps: all read inline.
    expect(kernel.calls.filter((c) => c.cmd === IPVS_CMD.GET_DEST)).toHaveLength(50);
    expect(kernel.violations).toEqual([]);
  });

  for (const dryAfter of [0, 1, 2, 5, 40]) {
    it(`a socket that runs dry after ${dryAfter} datagrams hands the rest to the event loop, nothing lost`, async () => {
      const evented = await Ipvs.open({ transport: tableKernel(20) });
      const kernel = tableKernel(20, InlineKernel) as InlineKernel;
      kernel.dryAfter = dryAfter;
      const ipvs = await Ipvs.open({ transport: kernel });
      expect(await within(ipvs.list())).toEqual(await evented.list());
      if (dryAfter < 40) expect(kernel.deliveredByLoop).toBeGreaterThan(0);
      expect(kernel.violations).toEqual([]);
    });
  }

  it('an interrupted inline dump is retried and keeps only the retry', async () => {
    const kernel = new InlineKernel((call) =>
      call.index < 2
        ? { kind: 'dump', cmd: IPVS_CMD.NEW_DEST, entries: [], intr: [-1] }
        : { kind: 'dump', cmd: IPVS_CMD.NEW_DEST, entries: [] },
    );
    const handle = await GenlHandle.open({ transport: kernel, familyId: kernel.familyId });
    let restarts = 0;
    const rest = handle.requestEachNow(ipvsRequest.getDests(vip), () => undefined, () => restarts++);
    expect(rest).toBeUndefined();
    expect(restarts).toBe(2);
  });

  it('a dump interrupted every time is tried 6 times in all, whether its answers come inline or not', async () => {
    for (const dryAfter of [0, 3, Number.POSITIVE_INFINITY]) {
      const kernel = new InlineKernel(() => ({ kind: 'dump', cmd: IPVS_CMD.NEW_DEST, entries: [], intr: [-1] }));
      kernel.dryAfter = dryAfter;
      const handle = await GenlHandle.open({ transport: kernel, familyId: kernel.familyId });
      let restarts = 0;
      const e = await rejection(handle.requestEach(ipvsRequest.getDests(vip), () => undefined, () => restarts++));
      expect([e.errno, kernel.calls.length, restarts], `dry after ${dryAfter}`).toEqual([4, 6, 5]);
    }
  });

  it('single requests and the family lookup are answered inline too', async () => {
    const kernel = tableKernel(3, InlineKernel) as InlineKernel;
    const ipvs = await Ipvs.open({ transport: kernel });
    expect(await ipvs.info()).toEqual({ version: 0x010201, connTabSize: 4096 });
    await ipvs.addService(vip, serviceConfig(AF_INET));
    expect(kernel.deliveredByLoop).toBe(0);
    expect(kernel.readInline).toBeGreaterThanOrEqual(3);
  });

  it('a refusal of an inline dump throws NetlinkError within the call and the socket stays usable', async () => {
    const kernel = new InlineKernel((call) =>
      call.index === 0 ? { kind: 'dump', cmd: IPVS_CMD.NEW_DEST, entries: [], doneErrno: 3 } : { kind: 'ok' },
    );
    const handle = await GenlHandle.open({ transport: kernel, familyId: kernel.familyId });
    let thrown: unknown;
    try {
      handle.requestEachNow(ipvsRequest.getDests(vip), () => undefined);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(NetlinkError);
    expect((thrown as NetlinkError).errno).toBe(3);
    await handle.request(ipvsRequest.flush());
    expect(kernel.deliveredByLoop).toBe(0);
  });

  it('pipelines report the same per-index failures inline as evented', async () => {
    const failing = new Set([0, 127, 128, 299]);
    const make = (Kernel: typeof FakeKernel): FakeKernel =>
      new Kernel((call) => (failing.has(decodeTimeouts(call.attrs).tcp) ? { kind: 'error', errno: 22, capped: true } : { kind: 'ok' }));
    const outcomes = async (kernel: FakeKernel): Promise<(number | undefined)[]> => {
      const handle = await GenlHandle.open({ transport: kernel });
      const seen: (number | undefined)[] = [];
      const reqs = Array.from({ length: 300 }, (_, i) => ipvsRequest.setConfig({ tcp: i, tcpFin: 0, udp: 0 }));
      await handle.pipeline(reqs, (_i, r) => seen.push(r?.errno));
      return seen;
    };
    const inline = make(InlineKernel) as InlineKernel;
    const seen = await outcomes(inline);
    expect(seen).toEqual(await outcomes(make(FakeKernel)));
    expect(seen.filter((e) => e === 22)).toHaveLength(4);
    expect(inline.deliveredByLoop).toBe(0);
    expect(inline.violations).toEqual([]);
  });

  it('a failing sendNow rejects that request with the socket errno and leaves the handle usable', async () => {
    const kernel = new InlineKernel();
    const handle = await GenlHandle.open({ transport: kernel, familyId: kernel.familyId });
    kernel.sendError = Object.assign(new Error('ENOBUFS'), { errno: -105 });
    const e = await rejection(handle.request(ipvsRequest.flush()));
    expect(e.errno).toBe(105);
    await handle.request(ipvsRequest.flush());
  });
});


describe('brief listings from /proc/net/ip_vs', () => {
  const procHeader = 'IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
  // Mark 1: one real server; 2: a tunnel (settings only over netlink); 3: not listed; 4: none.
  const procText =
    procHeader +
    'FWM  00000001 rr \n  -> 0A090901:0000      Masq    7      3          4         \n' +
    'FWM  00000002 rr \n  -> 0A090902:0000      Tunnel  1      0          0         \n' +
    'FWM  00000004 rr \n';
  const marks = [1, 2, 3, 4].map((fwmark): ServiceKey => ({ family: AF_INET, fwmark }));
  const addresses = async (ipvs: Ipvs, keys: ServiceKey[], options: { stats?: boolean; brief?: boolean }): Promise<string[][]> => {
    const out: string[][] = [];
    await ipvs.destinationsOfEach(keys, (i, dests) => (out[i] = dests.map((d) => `${d.key.address}/${d.config.weight}/${d.activeConns}/${d.inactiveConns}`)), options);
    return out;
  };
  const destDumps = (kernel: FakeKernel): number => kernel.calls.filter((c) => c.cmd === IPVS_CMD.GET_DEST).length;

  for (const Kernel of [FakeKernel, InlineKernel]) {
    it(`${Kernel.name}: one read of the file, netlink only for tunnels and services it does not list`, async () => {
      const kernel = tableKernel(4, Kernel);
      let reads = 0;
      kernel.readProcTable = () => (reads++, procText);
      const ipvs = await Ipvs.open({ transport: kernel });
      expect(await addresses(ipvs, marks, { stats: false, brief: true })).toEqual([
        ['10.9.9.1/7/3/4'],
        ['192.168.0.1/1/0/0', '192.168.0.2/2/0/0'],
        ['192.168.0.1/1/0/0', '192.168.0.2/2/0/0'],
        [],
      ]);
      expect([reads, destDumps(kernel)]).toEqual([1, 2]);
    });
  }

  it('without brief, with counters, or without the file, every service is dumped over netlink', async () => {
    for (const [options, file] of [
      [{ stats: false }, procText],
      [{ stats: true, brief: true }, procText],
      [{ stats: false, brief: true }, undefined],
      [{ stats: false, brief: true }, 'not the listing'],
    ] as const) {
      const kernel = tableKernel(4);
      kernel.readProcTable = () => file;
      const ipvs = await Ipvs.open({ transport: kernel });
      const lists = await addresses(ipvs, marks, options);
      expect(lists.every((l) => l[0] === '192.168.0.1/1/0/0'), JSON.stringify(options)).toBe(true);
      expect(destDumps(kernel)).toBe(4);
    }
  });

  it('a mark of an IPv4 and an IPv6 service, which the file does not tell apart, goes to netlink', async () => {
    const kernel = tableKernel(0);
    kernel.readProcTable = () => `${procHeader}FWM  00000001 rr \n  -> 0A090901:0000      Masq    7      3          4         \n`;
    const ipvs = await Ipvs.open({ transport: kernel });
    const both: ServiceKey[] = [{ family: AF_INET, fwmark: 1 }, { family: AF_INET6, fwmark: 1 }];
    expect((await addresses(ipvs, both, { stats: false, brief: true })).map((l) => l[0])).toEqual(['192.168.0.1/1/0/0', '192.168.0.1/1/0/0']);
    expect(destDumps(kernel)).toBe(2);
  });
});
