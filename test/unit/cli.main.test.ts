/**
 * The ipvsadm program as a whole (src/cli/main.ts and the save/restore scripts), in-process:
 * argv → stdout, stderr, exit status.
 *
 * - EVIDENCE REPLAY: the reference's test scripts (fixtures/evidence/tN.sh) run again, command by
 *   command, against an in-memory kernel that answers with the kernel's errnos; every recorded
 *   run must match byte for byte (stdout, stderr, status), on the 6.1 and the 6.12 recordings.
 * - TRACE REPLAY: the strace'd commands (fixtures/strace) run through the real `Ipvs` library
 *   over a fake netlink socket that answers with the bytes the real kernel sent; the requests we
 *   send must be the bytes ipvsadm sent, and the output what ipvsadm printed.
 * - SPEC: start-up (§1.1), exit statuses (§1.2), buffering (§1.3), -R (§3.12), the errno texts of
 *   §6.3 per operation, listings (§5.1–5.2), the scripts (§9). Expected texts are the spec's or
 *   the evidence's.
 */
import { constants } from 'node:os';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main, type IpvsLike } from '../../src/cli/main.js';
import { ERRNO, ipvsErrorText, strerror } from '../../src/cli/errors.js';
import { SystemResolver, parseHosts, parseServices, type NameFallback } from '../../src/cli/resolver.js';
import { RESTORE_TOKEN_MAX, inputLineGroups, restoreTokens } from '../../src/cli/restore-input.js';
import { restoreScript, restoreScriptInput } from '../../src/cli/restore-script.js';
import { saveScript } from '../../src/cli/save-script.js';
import { helpText } from '../../src/cli/format-text.js';
import { NetlinkError } from '../../src/kernel/errors.js';
import { Ipvs } from '../../src/model/ipvs.js';
import {
  AF_INET,
  AF_INET6,
  AttrWriter,
  IPVS_CMD,
  IPVS_INFO_ATTR,
  serviceReference,
  type ServiceKey,
} from '../../src/wire/index.js';
import { E, FakeIpvs } from './helpers/fake-ipvs.js';
import { ETC_SERVICES, argv, filesResolver, kernelWith, run, testIo } from './helpers/cli-run.js';
import { evidenceRuns, evidenceSection } from './helpers/evidence.js';
import { FakeKernel, type Reply } from './helpers/fake-kernel.js';
import { readTrace, type TracedMessage } from './helpers/strace-dec.js';
import { CONN_TITLE, replay } from './helpers/script-replay.js';

const CANT_INIT = (text: string): string =>
  `Can't initialize ipvs: ${text}\nAre you sure that IP Virtual Server is built in the kernel or as module?\n`;
const TRY = (argv0: string): string => `Try \`${argv0} -h' or '${argv0} --help' for more information.\n`;
const INVALID = 'Invalid operation.  Possibly wrong module version, address not unicast, ...';
const HEADER = 'IP Virtual Server version 1.2.1 (size=4096)\n';
const TITLE = 'Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
const vip: ServiceKey = { family: AF_INET, protocol: 6, address: '10.0.0.1', port: 80 };

async function saved(k: FakeIpvs): Promise<string> {
  return (await run(k, ['-S', '-n'])).out;
}

// ---------------------------------------------------------------------------------------------

describe('evidence replay: the reference scripts, run again against our ipvsadm', () => {
  // The kernel's dump order is salted per boot; these salts reproduce the recorded boots where
  // the order shows (found by search: any salt fits the other scripts). Not replayed here: t5,
  // t10 (sort orders over many boots' worth of tables), t11, t15 (live traffic) and t1, t6, t7,
  // t8 (other harnesses); cli.format.test.ts covers their listings.
  const cases: [script: string, out: string, kernel: '6.1' | '6.12', salt: number, compared: number][] = [
    ['t2.sh', 't2.out', '6.1', 0, 151],
    ['t2.sh', 't2.612.out', '6.12', 0, 151],
    ['t3.sh', 't3.out', '6.1', 0, 155],
    ['t3.sh', 't3.612.out', '6.12', 15, 155],
    ['t4.sh', 't4.out', '6.1', 0, 133],
    ['t4.sh', 't4.612.out', '6.12', 0, 133],
    ['t9.sh', 't9.out', '6.1', 0, 48],
    ['t9.sh', 't9.612.out', '6.12', 0, 48],
    ['t12.sh', 't12.out', '6.1', 0, 97],
    ['t12.sh', 't12.612.out', '6.12', 0, 97],
    ['t13.sh', 't13.out', '6.1', 0, 22],
    ['t13.sh', 't13.612.out', '6.12', 0, 22],
    ['t14.sh', 't14.out', '6.1', 0, 5],
    ['t14.sh', 't14.612.out', '6.12', 0, 5],
    ['t16.sh', 't16.out', '6.1', 0, 17],
    ['t17.sh', 't17.out', '6.1', 0, 5],
    ['t18.sh', 't18.out', '6.1', 0, 16],
    ['t19.sh', 't19.out', '6.1', 0, 21],
    ['t20.sh', 't20.out', '6.1', 0, 4],
    ['t21.sh', 't21.out', '6.1', 0, 8],
  ];
  // `-b ,` crashes the original (SIGSEGV: the shell prints "Segmentation fault", status 139).
  // We deliberately fail cleanly instead: nothing printed, status 255, nothing changed.
  const deliberate = [
    '#148 ipvsadm -A -t 10.2.0.17:80 -b ,: stderr "" ≠ "Segmentation fault\\n"; rc 255 ≠ 139',
  ];
  for (const [script, out, kernel, salt, compared] of cases) {
    it(`${out}: every recorded ipvsadm run matches`, async () => {
      const r = await replay(script, out, salt, kernel);
      expect(r.mismatches.filter((m) => !deliberate.includes(m))).toEqual([]);
      expect(r.compared).toBe(compared);
    });
  }
});

// ---------------------------------------------------------------------------------------------

interface Exchange {
  sent: TracedMessage;
  replies: TracedMessage[];
  errno: number;
}

interface TracedCommand {
  command: string;
  exchanges: Exchange[];
  /** What ipvsadm printed (stdout and stderr lines). */
  printed: string;
  rc: number;
}

/** The decoded strace file as commands → (request, replies, errno) exchanges. */
function tracedCommands(path: string): TracedCommand[] {
  const messages = readTrace(path);
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: TracedCommand[] = [];
  let cur: TracedCommand | undefined;
  let m = 0;
  for (const line of lines) {
    const cmd = /^OUT> === ipvsadm (.*)$/.exec(line);
    if (cmd) {
      cur = { command: cmd[1] as string, exchanges: [], printed: '', rc: -1 };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    const rc = /^OUT> rc=(\d+)$/.exec(line);
    if (rc) cur.rc = Number(rc[1]);
    else if (line.startsWith('OUT> ')) cur.printed += `${line.slice(5)}\n`;
    else if (/^(sendmsg|recvmsg): type=0x[0-9a-f]+\(IPVS\)/.test(line)) {
      const msg = messages[m++] as TracedMessage;
      if (msg.direction === 'sendmsg') cur.exchanges.push({ sent: msg, replies: [], errno: 0 });
      else cur.exchanges[cur.exchanges.length - 1]?.replies.push(msg);
    } else {
      const err = /^recvmsg: NLMSG_ERROR .*\{error=-(E[A-Z0-9]+)/.exec(line);
      const ex = cur.exchanges[cur.exchanges.length - 1];
      if (err && ex) ex.errno = (constants.errno as Record<string, number>)[err[1] as string] as number;
    }
  }
  return out;
}

function infoReply(): Uint8Array {
  const w = new AttrWriter();
  w.u32(IPVS_INFO_ATTR.VERSION, 0x010201);
  w.u32(IPVS_INFO_ATTR.CONN_TAB_SIZE, 4096);
  return w.finish();
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

for (const kernel of ['6.1', '6.12']) {
  describe(`trace replay (${kernel}): the bytes ipvsadm sent, the text it printed`, () => {
    const path = new URL(`../../fixtures/strace/ipvsadm-1.31.kernel-${kernel}.dec`, import.meta.url).pathname;
    for (const traced of tracedCommands(path)) {
      it(`ipvsadm ${traced.command}`, async () => {
        let next = 0;
        const fk = new FakeKernel((call): Reply => {
          if (call.cmd === IPVS_CMD.GET_INFO) return { kind: 'ok', data: [infoReply()], dataCmd: IPVS_CMD.SET_INFO };
          const ex = traced.exchanges[next++];
          if (!ex) return { kind: 'error', errno: E.EINVAL };
          if (ex.errno) return { kind: 'error', errno: ex.errno };
          const data = ex.replies.map((r) => r.attrs);
          const cmd = ex.replies[0]?.cmd ?? IPVS_CMD.NEW_SERVICE;
          return call.dump ? { kind: 'dump', entries: data, cmd } : { kind: 'ok', data, dataCmd: cmd };
        });
        const r = await run(undefined, argv(traced.command), {
          openKernel: () => Ipvs.open({ transport: fk }),
          resolver: filesResolver(),
        });
        const ours = fk.calls.filter((c) => c.cmd !== IPVS_CMD.GET_INFO);
        expect(ours.map((c) => [c.cmd, c.dump, hex(c.attrs)])).toEqual(
          traced.exchanges.map((e) => [e.sent.cmd, e.sent.flags.includes('0x300'), hex(e.sent.attrs)]),
        );
        expect(fk.calls.filter((c) => c.cmd === IPVS_CMD.GET_INFO)).toHaveLength(1);
        // The trace shows stderr and stdout lines together; ours has stderr first.
        expect(r.err + r.out).toBe(traced.printed);
        expect(r.rc).toBe(traced.rc);
        expect(fk.closed).toBe(true);
      });
    }
  });
}

// ---------------------------------------------------------------------------------------------

describe('start-up (§1.1): before any argument is looked at', () => {
  const absent = async (): Promise<IpvsLike> => {
    throw new NetlinkError('GETFAMILY', E.ENOENT);
  };

  it('no IPVS family: "Protocol not available", status 2, even for -h, -v, nothing and nonsense (t13)', async () => {
    const recorded = evidenceRuns('t13.out').filter((x) => x.err.startsWith("Can't initialize"));
    expect(recorded.map((x) => x.command)).toEqual(['ipvsadm -L -n', 'ipvsadm -v', 'ipvsadm -h', 'ipvsadm']);
    for (const rec of recorded) {
      const r = await run(undefined, argv(rec.command).slice(1), { openKernel: absent });
      expect(r).toMatchObject({ out: rec.out, err: rec.err, rc: rec.rc });
    }
    for (const line of ['foo', '-n -L', '-A', '-R', '-b ,']) {
      const r = await run(undefined, argv(line), { openKernel: absent });
      expect(r).toMatchObject({ out: '', err: CANT_INIT('Protocol not available'), rc: 2 });
    }
  });

  it('GET_INFO refused (no CAP_NET_ADMIN): "Permission denied (you must be root)" (t14)', async () => {
    const k = new FakeIpvs();
    k.failNext.set('info', E.EPERM);
    const r = await run(k, ['-h']);
    expect(r).toMatchObject({ out: '', err: CANT_INIT('Permission denied (you must be root)'), rc: 2 });
    expect(k.closed).toBe(1);
  });

  it('other start-up failures: a socket without errno, a system error, an unreadable GET_INFO reply', async () => {
    const plain = await run(undefined, ['-L'], {
      openKernel: async () => {
        throw new Error('no netlink');
      },
    });
    expect(plain.err).toBe(CANT_INIT('Protocol not available'));
    const sys = await run(undefined, ['-L'], {
      openKernel: async () => {
        throw Object.assign(new Error('EMFILE'), { errno: -24 });
      },
    });
    expect(sys.err).toBe(CANT_INIT('Too many open files'));
    const k = new FakeIpvs();
    k.failNext.set('info', ERRNO.EBADMSG);
    expect((await run(k, ['-L'])).err).toBe(CANT_INIT(INVALID));
  });

  it('after a failed start-up modprobe runs once; when it succeeds the start-up is retried', async () => {
    const k = new FakeIpvs();
    let opens = 0;
    let probes = 0;
    const openKernel = async (): Promise<IpvsLike> => {
      if (opens++ === 0) throw new NetlinkError('GETFAMILY', E.ENOENT);
      return k;
    };
    const ok = await run(undefined, ['-L', '-n'], { openKernel, modprobe: async () => (probes++, true) });
    expect(ok).toMatchObject({ out: HEADER + TITLE, err: '', rc: 0 });
    expect([opens, probes]).toEqual([2, 1]);

    opens = 0;
    const failed = await run(undefined, ['-L', '-n'], {
      openKernel: async () => {
        opens++;
        throw new NetlinkError('GETFAMILY', E.ENOENT);
      },
      modprobe: async () => (probes++, false),
    });
    expect(failed).toMatchObject({ err: CANT_INIT('Protocol not available'), rc: 2 });
    expect([opens, probes]).toEqual([1, 2]);

    const fine = new FakeIpvs();
    await run(fine, ['-L'], { modprobe: async () => (probes++, true) });
    expect(probes).toBe(2);
  });

  it('one GET_INFO, whose version and size make the header; the kernel is closed at the end', async () => {
    const k = new FakeIpvs();
    k.info_ = { version: 0x010203, connTabSize: 1048576 };
    const r = await run(k, []);
    expect(r.out).toBe(`IP Virtual Server version 1.2.3 (size=1048576)\n${TITLE}`);
    expect(k.calls.filter((c) => c.method === 'info')).toHaveLength(1);
    expect(k.closed).toBe(1);
  });
});

describe('exit statuses (§1.2) and the Try line', () => {
  it('0 for success, help, version; 2 for "fail"; 255 for Try, popt and kernel errors; 1 for listings', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80');
    expect((await run(k, ['-A', '-t', '10.0.0.2:80'])).rc).toBe(0);
    expect((await run(k, ['-h'])).rc).toBe(0);
    expect((await run(k, ['-v'])).out).toBe('ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
    expect(await run(k, ['-A'])).toMatchObject({
      err: "You need to supply the 'service-address' option for the 'add-service' command\n",
      rc: 2,
    });
    expect(await run(k, ['-n', '-L'])).toMatchObject({ err: TRY('ipvsadm'), rc: 255 });
    expect(await run(k, ['-L', '-Q'])).toMatchObject({ err: '-Q: unknown option\n', rc: 255 });
    expect(await run(k, ['-A', '-t', '10.0.0.1:80'])).toMatchObject({ err: 'Service already exists\n', rc: 255 });
    expect(await run(k, ['-L', '-t', '10.0.0.9:80'])).toMatchObject({ out: '', err: 'No such service\n', rc: 1 });
    expect(await run(k, [''])).toMatchObject({ err: TRY('ipvsadm'), rc: 255 });
  });

  it('-6 before -f prints an extra empty line', async () => {
    expect(await run(new FakeIpvs(), ['-A', '-6'])).toMatchObject({ err: '-6 used before -f\n\n', rc: 2 });
  });

  it('-b with only commas (the original crashes) prints nothing, fails, and changes nothing', async () => {
    const k = new FakeIpvs();
    expect(await run(k, argv('-A -t 10.0.0.1:80 -b ,'))).toMatchObject({ out: '', err: '', rc: 255 });
    expect(k.calls.map((c) => c.method)).toEqual(['info']);
  });

  it('-h and the Try line name argv0 (t16)', async () => {
    const k = new FakeIpvs();
    const help = await run(k, ['-h'], { argv0: '/tmp/lvs' });
    expect(help.out).toBe(helpText('/tmp/lvs'));
    // `/tmp/lvs -h | head -4`: the last four lines of the section.
    const recorded = evidenceSection('t16.out', '== argv0', '== POSIXLY_CORRECT')
      .slice(-4)
      .map((l) => `${l.replace(/\$$/, '')}\n`);
    expect(recorded[0]).toBe('ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
    expect(help.out.split('\n').slice(0, 4).map((l) => `${l}\n`)).toEqual(recorded);
    expect(help.out).toContain('  /tmp/lvs -A|E virtual-service');
    expect(help.out).not.toMatch(/^ {2}ipvsadm /m);
    expect((await run(k, ['bar'], { argv0: './ipvsadm' })).err).toBe(TRY('./ipvsadm'));
    expect((await run(k, ['-h', '-L'], { argv0: 'lvs' })).out).toBe(helpText('lvs'));
  });

  it('argv0 is read only when a message names it (finding the invoked name takes system calls)', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80');
    const reads: number[] = [];
    const counted = (line: string) => {
      const { io, result } = testIo(k);
      Object.defineProperty(io, 'argv0', { get: () => (reads.push(1), './lvs') });
      return main(argv(line), io).then((rc) => ({ rc, ...result() }));
    };
    expect((await counted('-a -t 10.0.0.1:80 -r 10.1.1.1 -m')).rc).toBe(0);
    expect(reads).toHaveLength(0);
    const refused = await counted('bar');
    expect(refused.err).toBe(TRY('./lvs'));
    expect(reads.length).toBeGreaterThan(0);
  });

  it('an unexpected exception is one line on stderr and status 255, never a stack trace', async () => {
    const k = new FakeIpvs();
    k.flush = async () => {
      throw new TypeError('boom\nsecond line');
    };
    const r = await run(k, ['-C']);
    expect(r).toMatchObject({ out: '', err: 'ipvsadm: internal error: TypeError: boom second line\n', rc: 255 });
    expect(k.closed).toBe(1);
  });
});

describe('output streams (§1.3)', () => {
  const input = '-L -n\n-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-L -n\n';

  it('stdout not a terminal: held until exit, so all of stderr comes first (t16)', async () => {
    const r = await run(new FakeIpvs(), ['-R'], { stdin: input, tty: false });
    const recorded = evidenceSection('t16.out', '== buffering/interleave', '== argv0');
    expect(recorded[0]).toBe('rc=0');
    expect(r.rc).toBe(0);
    expect(r.both).toBe(recorded.slice(1).map((l) => `${l.replace(/\$$/, '')}\n`).join(''));
  });

  it('stdout a terminal: written as it comes, interleaved with stderr in program order', async () => {
    const r = await run(new FakeIpvs(), ['-R'], { stdin: input, tty: true });
    expect(r.both).toBe(`${HEADER}${TITLE}Service already exists\n${HEADER}${TITLE}TCP  10.0.0.1:80 wlc\n`);
  });

  it("stdout in C stdio's blocks: whole blocks go out once text no longer fits, stderr lands between them", async () => {
    // 40 services: about 1,400 bytes of -L -n; 3 lines of -R error text after it.
    const lines = Array.from({ length: 40 }, (_, i) => `-A -t 10.0.${Math.floor(i / 200)}.${(i % 200) + 1}:80`);
    const script = `${lines.join('\n')}\n-L -n\n-A -t 10.0.0.1:80\n-L -n\n`;
    const held = await run(new FakeIpvs(), ['-R'], { stdin: script });
    const blocks = await run(new FakeIpvs(), ['-R'], { stdin: script, block: 512 });
    expect(blocks.out).toBe(held.out);
    expect(blocks.err).toBe('Service already exists\n');
    const total = Buffer.byteLength(held.out);
    // The first listing is 1,024 bytes: a buffer filled exactly is not written until more comes.
    const first = Buffer.byteLength(held.out.slice(0, held.out.indexOf(HEADER, 1)));
    expect(first).toBe(1024);
    const whole = Math.floor((first - 1) / 512) * 512;
    // Only whole blocks before exit; everything is there in the end.
    expect(blocks.stdoutWrites.slice(0, -1).every((n) => n % 512 === 0)).toBe(true);
    expect(blocks.stdoutWrites.reduce((a, b) => a + b, 0)).toBe(total);
    // The error was written after the blocks of the first listing, before the rest.
    const errAt = Buffer.from(blocks.both).indexOf('Service already exists');
    expect(errAt).toBe(whole);
    // Held whole, all of stderr comes first.
    expect(held.both.startsWith('Service already exists\n')).toBe(true);
  });

  it('a block may end inside a character: the bytes still arrive whole and in order', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-A', '-t', '10.0.0.1:80'], {});
    expect(r.rc).toBe(0);
    const resolver = filesResolver(`10.0.0.1 ${'é'.repeat(20)}\n`);
    const held = await run(k, ['-L'], { resolver });
    for (const block of [7, 64, 100]) {
      const blocks = await run(k, ['-L'], { resolver, block });
      expect(blocks.out).toBe(held.out);
      expect(blocks.stdoutWrites.slice(0, -1).every((n) => n % block === 0)).toBe(true);
    }
  });

  it('bulk() is announced before whole-table commands only (-R, -S, -L of every service)', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80');
    const calls = async (args: string[], stdin = ''): Promise<number> => {
      const { io } = testIo(k, { stdin });
      let n = 0;
      io.bulk = () => n++;
      await main(args, io);
      return n;
    };
    expect(await calls(['-R'], '-a -t 10.0.0.1:80 -r 10.0.1.1\n')).toBe(1);
    expect(await calls(['-S', '-n'])).toBe(1);
    expect(await calls(['-L', '-n'])).toBe(1);
    expect(await calls([])).toBe(1);
    expect(await calls(['-L', '-n', '-t', '10.0.0.1:80'])).toBe(0);
    expect(await calls(['-a', '-t', '10.0.0.1:80', '-r', '10.0.1.2'])).toBe(0);
    expect(await calls(['-L', '--timeout'])).toBe(0);
  });

  it('the version line of -L precedes a failed service dump on stdout (§5.1)', async () => {
    const k = new FakeIpvs();
    k.failNext.set('services', E.ENOMEM);
    expect(await run(k, ['-L', '-n'], { tty: true })).toMatchObject({
      both: `${HEADER}Memory allocation problem\n`,
      rc: 1,
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('-R (§3.12)', () => {
  it('kernel errors continue; the status is the last line’s (spec examples)', async () => {
    const k = new FakeIpvs();
    const a = await run(k, ['-R'], { stdin: '-A -t 10.0.0.3:80\n-A -t 10.0.0.3:80\n-A -t 10.0.0.4:80\n' });
    expect(a).toMatchObject({ out: '', err: 'Service already exists\n', rc: 0 });
    const b = await run(k, ['-R'], { stdin: '-A -t 10.0.0.5:80\n-A -t 10.0.0.3:80\n' });
    expect(b).toMatchObject({ err: 'Service already exists\n', rc: 255 });
    const c = await run(k, ['-R'], { stdin: '-A -t 10.0.0.6:80\n-A -t 10.0.0.7:80 -w 3\n-A -t 10.0.0.8:80\n' });
    expect(c).toMatchObject({ err: "Illegal 'weight' option with the 'add-service' command\n", rc: 2 });
    expect(await saved(k)).toBe(
      ['10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'].map((a) => `-A -t ${a}:80 -s wlc\n`).join(''),
    );
  });

  it('a line that is not a command (# comments, -R itself) aborts with Try and 255; later lines do not run', async () => {
    for (const bad of ['# a comment', '#', '-R', 'foo', '-X']) {
      const k = new FakeIpvs();
      const r = await run(k, ['-R'], { stdin: `-A -t 10.0.0.1:80\n${bad}\n-A -t 10.0.0.2:80\n` });
      expect(r).toMatchObject({ out: '', err: TRY('ipvsadm'), rc: 255 });
      expect(await saved(k)).toBe('-A -t 10.0.0.1:80 -s wlc\n');
    }
    const k = new FakeIpvs();
    const trailing = await run(k, ['-R'], { stdin: '-A -t 10.0.0.10:80 # trailing comment\n-A -t 10.0.0.11:80\n' });
    expect(trailing).toMatchObject({ err: 'unexpected argument #\n', rc: 2 });
    expect(await saved(k)).toBe('');
  });

  it('popt errors only fail their line; -h and -v end the process with 0', async () => {
    const k = new FakeIpvs();
    expect(await run(k, ['-R'], { stdin: '-L -Q\n-A -t 10.0.0.16:80\n' })).toMatchObject({
      err: '-Q: unknown option\n',
      rc: 0,
    });
    expect(await run(k, ['-R'], { stdin: '-A -t 10.0.0.17:80\n-b\n' })).toMatchObject({ rc: 255 });
    const h = await run(k, ['-R'], { stdin: '-h\n-A -t 10.0.0.18:80\n', argv0: './lvs' });
    expect(h).toMatchObject({ out: helpText('./lvs'), err: '', rc: 0 });
    const v = await run(k, ['-R'], { stdin: '-A -t 10.0.0.19:80\n-v\n-A -t 10.0.0.1:80 -s nosuch\n' });
    expect(v).toMatchObject({ out: 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n', rc: 0 });
    expect(await saved(k)).toBe(['16', '17', '19'].map((n) => `-A -t 10.0.0.${n}:80 -s wlc\n`).join(''));
  });

  it('pipelined: over many batches, errors print in line order, interleaved with popt errors', async () => {
    const k = new FakeIpvs();
    const lines: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < 700; i++) {
      const a = `10.1.${i >> 8}.${i & 255}`;
      if (i % 97 === 5) {
        lines.push(`-A -t 10.1.0.0:80`); // exists from line 0
        expected.push('Service already exists');
      } else if (i % 131 === 7) {
        lines.push(`-A -t ${a}:80 -Q`);
        expected.push('-Q: unknown option');
      } else lines.push(`-A -t ${a}:80`);
    }
    lines.push('-d -t 10.1.0.0:80 -r 1.2.3.4');
    expected.push('No such destination');
    const r = await run(k, ['-R'], { stdin: `${lines.join('\n')}\n` });
    expect(r.err).toBe(expected.map((l) => `${l}\n`).join(''));
    expect(r.rc).toBe(255);
    expect(k.calls.filter((c) => c.method === 'addService')).toHaveLength(700 - 6);
    expect(k.batches.length).toBeGreaterThan(1);
    expect(Math.max(...k.batches)).toBeLessThanOrEqual(128);
  });

  it('pipelined: a listing line sees every line before it; an ending line stops after the earlier ones are applied', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-R'], {
      stdin: '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-S -n\n-A -t 10.0.0.2:80\n-A -t 10.0.0.1:80\n-X\n-A -t 10.0.0.3:80\n',
    });
    expect(r).toMatchObject({
      out: '-A -t 10.0.0.1:80 -s wlc\n',
      err: `Service already exists\nService already exists\n${TRY('ipvsadm')}`,
      rc: 255,
    });
    expect(await saved(k)).toBe('-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.2:80 -s wlc\n');
  });

  it('pipelined: a line typed at a terminal reaches the kernel before the next one is read', async () => {
    const k = new FakeIpvs();
    const seen: number[] = [];
    async function* typed(): AsyncGenerator<string> {
      for (const n of [1, 2, 3]) {
        seen.push(k.calls.length);
        yield `-A -t 10.0.0.${n}:80\n`;
      }
      seen.push(k.calls.length);
    }
    const r = await run(k, ['-R'], { stdin: typed() });
    expect(r.rc).toBe(0);
    expect(seen.map((n) => n - (seen[0] as number))).toEqual([0, 1, 2, 3]);
  });

  it('a failed listing ends the restore with 1', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-R'], { stdin: '-L -n -t 10.0.0.9:80\n-A -t 10.0.0.1:80\n' });
    expect(r).toMatchObject({ out: '', err: 'No such service\n', rc: 1 });
    expect(await saved(k)).toBe('');
  });

  it('tokens: blanks, TAB, CR; ipvsadm dropped anywhere; no quotes; empty lines skipped; a last line without LF', async () => {
    const k = new FakeIpvs();
    const stdin =
      'ipvsadm -A -t 10.0.0.2:80\n  \t -a   -t 10.0.0.2:80\t-r 192.168.1.2 ipvsadm\n\n\n' +
      '-A\t-t\t10.0.0.20:80\r\n   \nipvsadm\n-At 10.0.0.21:80\n-A -u 10.0.0.2:53';
    expect(await run(k, ['-R'], { stdin })).toMatchObject({ out: '', err: '', rc: 0 });
    expect(await saved(k)).toBe(
      '-A -t 10.0.0.2:80 -s wlc\n-a -t 10.0.0.2:80 -r 192.168.1.2:80 -g -w 1\n' +
        '-A -t 10.0.0.20:80 -s wlc\n-A -t 10.0.0.21:80 -s wlc\n-A -u 10.0.0.2:53 -s wlc\n',
    );
    const quoted = await run(k, ['-R'], { stdin: '-A -t "10.0.0.18:80"\n' });
    expect(quoted).toMatchObject({ err: 'illegal virtual server address[:port] specified\n', rc: 2 });
    for (const empty of ['', '\n', '   ', 'ipvsadm ipvsadm\n']) {
      expect(await run(k, ['-R'], { stdin: empty })).toMatchObject({ out: '', err: '', rc: 0 });
    }
  });

  it('reads as the input arrives: lines split across chunks; each line runs before the next is read', async () => {
    const k = new FakeIpvs();
    const seen: number[] = [];
    async function* slowly(): AsyncGenerator<string> {
      yield '-A -t 10.0.0.1';
      yield ':80\n-A -t 10.0.';
      seen.push(k.calls.filter((c) => c.method === 'addService').length);
      yield '0.2:80\n';
      seen.push(k.calls.filter((c) => c.method === 'addService').length);
    }
    const { io, result } = testIo(k);
    io.stdin = slowly();
    expect(await main(['-R'], io)).toBe(0);
    expect(result().err).toBe('');
    expect(seen).toEqual([1, 2]);
  });

  it('the error context of one line carries into the next (§6.3 quirk): flushing sets none', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80');
    k.failNext.set('flush', E.ESRCH);
    const r = await run(k, ['-R'], { stdin: '-a -t 10.0.0.1:80 -r 192.168.1.1\n-C\n' });
    expect(r).toMatchObject({ err: 'Service not defined\n', rc: 255 });
    k.failNext.set('flush', E.ESRCH);
    // At top level the context is start-up's: only the generic texts, then strerror.
    expect((await run(k, ['-C'])).err).toBe('No such process\n');
  });

  it('the save output of -S goes back through -R (t9 round trip, minus the -b line ipvsadm cannot read)', async () => {
    const k = await kernelWith(
      '-A -t 10.1.0.1:80 -s sh -b sh-port -p 30 -M 255.255.255.0',
      '-a -t 10.1.0.1:80 -r 192.168.2.1:8080 -m -w 4',
      '-a -t 10.1.0.1:80 -r 192.168.2.2 -i --tun-type gue --tun-port 6080 --tun-remcsum',
      '-a -t 10.1.0.1:80 -r 192.168.2.3 -i --tun-type gre --tun-csum',
      '-a -t 10.1.0.1:80 -r [2001:db8::3]:80 -i --tun-type gre',
      '-A -f 3 -6 -s rr',
      '-A -u 10.1.0.2:53 -o -s sh -b flag-3',
    );
    const rules = await saved(k);
    const fresh = new FakeIpvs();
    const r = await run(fresh, ['-R'], { stdin: rules });
    expect(r).toMatchObject({ err: '-b: missing argument\n', rc: 0 });
    expect(await saved(fresh)).toBe(rules.replace('-A -u 10.1.0.2:53 -s sh -o -b \n', ''));
  });
});

describe('restore input', () => {
  it('tokens longer than 4096 bytes are cut into 4096-byte pieces', () => {
    const long = 'x'.repeat(RESTORE_TOKEN_MAX * 2 + 5);
    expect(restoreTokens(`-A ${long} -t`).map((t) => t.length)).toEqual([2, 4096, 4096, 5, 2]);
    expect(restoreTokens(' ipvsadm\t\r')).toEqual([]);
  });

  it('lines are cut at LF only, across chunks of any size', async () => {
    async function* bytes(): AsyncGenerator<Uint8Array> {
      for (const b of Buffer.from('a b\r\n\nc\nd')) yield Uint8Array.of(b);
    }
    const lines: string[] = [];
    for await (const group of inputLineGroups(bytes())) lines.push(...group);
    expect(lines).toEqual(['a b\r', '', 'c', 'd']);
  });

  it('bytes that are not ASCII survive, split across chunks, and tokens read as UTF-8', async () => {
    const text = '-A -t h\u00e9te:80 \u20ac\n';
    const bytes = Buffer.from(text);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (const b of bytes) yield Uint8Array.of(b);
    }
    const lines: string[] = [];
    for await (const group of inputLineGroups(chunks())) lines.push(...group);
    expect(lines.map(restoreTokens)).toEqual([['-A', '-t', 'h\u00e9te:80', '\u20ac']]);
    expect(restoreTokens(Buffer.from('\u00e9'.repeat(2049)).toString('latin1')).map((t) => Buffer.byteLength(t))).toEqual([4096, 2]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('errno → text by operation (§6.3)', () => {
  type Row = [command: string, method: keyof IpvsLike, errno: number, text: string];
  const setup = ['-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 192.168.1.1'];
  const specific: Row[] = [
    ['-A -t 10.0.0.2:80', 'addService', E.EEXIST, 'Service already exists'],
    ['-A -t 10.0.0.2:80', 'addService', E.ENOENT, 'Scheduler or persistence engine not found'],
    ['-E -t 10.0.0.1:80', 'editService', E.ESRCH, 'No such service'],
    ['-E -t 10.0.0.1:80', 'editService', E.ENOENT, 'Scheduler or persistence engine not found'],
    ['-D -t 10.0.0.1:80', 'deleteService', E.ESRCH, 'No such service'],
    ['-Z -t 10.0.0.1:80', 'zero', E.ESRCH, 'No such service'],
    ['-a -t 10.0.0.1:80 -r 192.168.1.2', 'addDestination', E.ESRCH, 'Service not defined'],
    ['-a -t 10.0.0.1:80 -r 192.168.1.2', 'addDestination', E.EEXIST, 'Destination already exists'],
    ['-e -t 10.0.0.1:80 -r 192.168.1.1', 'editDestination', E.ESRCH, 'Service not defined'],
    ['-e -t 10.0.0.1:80 -r 192.168.1.1', 'editDestination', E.ENOENT, 'No such destination'],
    ['-d -t 10.0.0.1:80 -r 192.168.1.1', 'deleteDestination', E.ESRCH, 'Service not defined'],
    ['-d -t 10.0.0.1:80 -r 192.168.1.1', 'deleteDestination', E.ENOENT, 'No such destination'],
    ['--start-daemon master --mcast-interface lo', 'startDaemon', E.EEXIST, 'Daemon has already run'],
    ['--stop-daemon master', 'stopDaemon', E.ESRCH, 'No daemon is running'],
  ];
  // The same errnos in other contexts fall through to strerror.
  const elsewhere: Row[] = [
    ['-A -t 10.0.0.2:80', 'addService', E.ESRCH, 'No such process'],
    ['-E -t 10.0.0.1:80', 'editService', E.EEXIST, 'File exists'],
    ['-D -t 10.0.0.1:80', 'deleteService', E.ENOENT, 'No such file or directory'],
    ['-a -t 10.0.0.1:80 -r 192.168.1.2', 'addDestination', E.ENOENT, 'No such file or directory'],
    ['--start-daemon master --mcast-interface lo', 'startDaemon', E.ESRCH, 'No such process'],
    ['--stop-daemon master', 'stopDaemon', E.EEXIST, 'File exists'],
    ['--set 1 2 3', 'setTimeouts', E.ESRCH, 'No such process'],
    ['-C', 'flush', E.EEXIST, 'File exists'],
  ];
  const generic: [number, string][] = [
    [E.EPERM, 'Permission denied (you must be root)'],
    [E.EINVAL, INVALID],
    [E.ENOPROTOOPT, 'Protocol not available'],
    [E.ENOMEM, 'Memory allocation problem'],
    [E.EOPNOTSUPP, 'Operation not supported with IPv6'],
    [E.EAFNOSUPPORT, 'Operation not supported with specified address family'],
    [E.EMSGSIZE, 'Module is wrong version'],
    // strerror texts seen in practice, and one glibc has no text for.
    [E.ERANGE, 'Numerical result out of range'],
    [E.ENODEV, 'No such device'],
    [E.ENETUNREACH, 'Network is unreachable'],
    [E.EADDRNOTAVAIL, 'Cannot assign requested address'],
    [524, 'Unknown error 524'],
  ];
  const modifying: [string, keyof IpvsLike][] = [
    ['-A -t 10.0.0.2:80', 'addService'],
    ['-E -t 10.0.0.1:80', 'editService'],
    ['-D -t 10.0.0.1:80', 'deleteService'],
    ['-C', 'flush'],
    ['-a -t 10.0.0.1:80 -r 192.168.1.2', 'addDestination'],
    ['-e -t 10.0.0.1:80 -r 192.168.1.1', 'editDestination'],
    ['-d -t 10.0.0.1:80 -r 192.168.1.1', 'deleteDestination'],
    ['-Z', 'zero'],
    ['-Z -t 10.0.0.1:80', 'zero'],
    ['--set 1 2 3', 'setTimeouts'],
    ['--start-daemon backup --mcast-interface lo', 'startDaemon'],
    ['--stop-daemon backup', 'stopDaemon'],
  ];
  const rows: Row[] = [
    ...specific,
    ...elsewhere,
    ...modifying.flatMap(([c, m]) => generic.map(([e, t]): Row => [c, m, e, t])),
  ];

  it.each(rows)('ipvsadm %s, %s fails with errno %i → %s (status 255)', async (command, method, errno, text) => {
    const k = await kernelWith(...setup);
    k.failNext.set(method, errno);
    expect(await run(k, argv(command))).toMatchObject({ out: '', err: `${text}\n`, rc: 255 });
    expect(k.calls.at(-1)?.method).toBe(method);
  });

  it('the kernel rules of the fake produce the texts ipvsadm shows for them', async () => {
    const k = await kernelWith(...setup);
    const cases: [string, string][] = [
      ['-A -t 10.0.0.1:80', 'Service already exists'],
      ['-A -t 10.0.0.5:80 -s nosuch', 'Scheduler or persistence engine not found'],
      ['-A -t 10.0.0.5:80 -p --pe nope', 'Scheduler or persistence engine not found'],
      ['-E -t 10.0.0.9:80', 'No such service'],
      ['-D -t 10.0.0.9:80', 'No such service'],
      ['-Z -t 10.0.0.9:80', 'No such service'],
      ['-a -t 10.0.0.9:80 -r 192.168.1.1', 'Service not defined'],
      ['-a -t 10.0.0.1:80 -r 192.168.1.1:8080', 'Destination already exists'],
      ['-a -t 10.0.0.1:80 -r 192.168.1.5 -y 50', 'Numerical result out of range'],
      ['-a -t 10.0.0.1:80 -r 0.0.0.0', INVALID],
      ['-e -t 10.0.0.1:80 -r 192.168.1.9', 'No such destination'],
      ['-d -t 10.0.0.1:80 -r 192.168.1.9', 'No such destination'],
      ['--start-daemon master', 'No such device'],
      ['--stop-daemon master', 'No daemon is running'],
    ];
    for (const [command, text] of cases) {
      expect(await run(k, argv(command)), command).toMatchObject({ err: `${text}\n`, rc: 255 });
    }
    expect((await run(k, argv('--start-daemon master --mcast-interface lo'))).rc).toBe(0);
    expect(await run(k, argv('--start-daemon master --mcast-interface lo'))).toMatchObject({
      err: 'Daemon has already run\n',
      rc: 255,
    });
  });

  it('a reply that cannot be decoded, or a socket failure, is reported as EINVAL', async () => {
    const k = await kernelWith(...setup);
    k.failNext.set('addService', ERRNO.EBADMSG);
    expect((await run(k, argv('-A -t 10.0.0.3:80'))).err).toBe(`${INVALID}\n`);
    k.addService = async () => {
      throw new NetlinkError('socket', 105 /* ENOBUFS */, 'recv');
    };
    expect(await run(k, argv('-A -t 10.0.0.3:80'))).toMatchObject({ err: `${INVALID}\n`, rc: 255 });
  });

  it('texts and strerror directly', () => {
    expect(ipvsErrorText(E.ESRCH, 'get-dests')).toBe('No such service');
    expect(ipvsErrorText(E.ESRCH, 'get-service')).toBe('No such service');
    expect(ipvsErrorText(E.ESRCH, 'init')).toBe('No such process');
    expect(strerror(41)).toBe('Unknown error 41');
    expect(strerror(133)).toBe('Memory page has hardware error');
  });
});

// ---------------------------------------------------------------------------------------------

describe('listings (§5.1, §5.2, §5.12–5.14)', () => {
  it('-L <service> fetches it with GET_SERVICE first; missing: "No such service", exit 1, no output', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80', '-a -t 10.0.0.1:80 -r 192.168.1.1');
    const missing = await run(k, argv('-L -n -t 10.0.0.9:80'));
    expect(missing).toMatchObject({ out: '', err: 'No such service\n', rc: 1 });
    expect(k.calls.filter((c) => c.method !== 'info').map((c) => c.method)).toEqual(['getService']);
    k.calls.length = 0;
    const found = await run(k, argv('-L -n -t 10.0.0.1:80'));
    expect(found).toMatchObject({
      out: `${TITLE}TCP  10.0.0.1:80 wlc\n  -> 192.168.1.1:80               Route   1      0          0         \n`,
      rc: 0,
    });
    expect(k.calls.filter((c) => c.method !== 'info').map((c) => c.method)).toEqual(['getService', 'destinations']);
  });

  it('a failed real-server dump: what was complete, the text in the get-dests context, exit 1', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80', '-A -t 10.0.0.2:80');
    let n = 0;
    const dests = k.destinations.bind(k);
    k.destinations = async (key) => {
      if (n++ === 1) throw new NetlinkError('GET_DEST', E.ESRCH);
      return dests(key);
    };
    const r = await run(k, argv('-L -n'));
    expect(r).toMatchObject({ out: `${HEADER}${TITLE}TCP  10.0.0.1:80 wlc\n`, err: 'No such service\n', rc: 1 });
    n = 0;
    const s = await run(k, argv('-S -n'));
    expect(s).toMatchObject({ out: '-A -t 10.0.0.1:80 -s wlc\n', err: 'No such service\n', rc: 1 });
    n = 1;
    expect(await run(k, argv('-L -n -t 10.0.0.2:80'))).toMatchObject({ out: TITLE, err: 'No such service\n', rc: 1 });
  });

  it('--timeout and --daemon print nothing when the query fails (exit 1)', async () => {
    const k = new FakeIpvs();
    k.failNext.set('getTimeouts', E.EPERM);
    expect(await run(k, argv('-L --timeout'))).toMatchObject({ out: '', err: '', rc: 1 });
    k.failNext.set('daemons', E.EPERM);
    expect(await run(k, argv('-L --daemon'))).toMatchObject({ out: '', err: '', rc: 1 });
    expect(await run(k, argv('-L --timeout'))).toMatchObject({ out: 'Timeout (tcp tcpfin udp): 900 120 300\n', rc: 0 });
    expect(await run(k, argv('-L --daemon'))).toMatchObject({ out: '', rc: 0 });
  });

  it('-L -c reads /proc/net/ip_vs_conn: unreadable, empty, title only', async () => {
    const k = new FakeIpvs();
    expect(await run(k, argv('-L -n -c'))).toMatchObject({
      out: '',
      err: 'cannot open file /proc/net/ip_vs_conn\n',
      rc: 1,
    });
    expect(await run(k, argv('-L -n -c'), { files: { '/proc/net/ip_vs_conn': '' } })).toMatchObject({
      out: '',
      err: 'unexpected input from /proc/net/ip_vs_conn\n',
      rc: 1,
    });
    const conn =
      CONN_TITLE + 'TCP 0A000064 E6C6 0A000064 0050 7F000001 1F90 TIME_WAIT       115\n';
    expect(await run(k, argv('-L -c'), { files: { '/proc/net/ip_vs_conn': conn } })).toMatchObject({
      out:
        'IPVS connection entries\npro expire state       source             virtual            destination\n' +
        'TCP 01:55  TIME_WAIT   10.0.0.100:59078   10.0.0.100:http    localhost:http-alt\n',
      rc: 0,
    });
  });

  it('-S output through the formatter: the spec §5.8 example', async () => {
    const k = await kernelWith(
      '-A -t 10.1.0.1:80 -s sh -p 30 -M 255.255.255.0 -b sh-port',
      '-a -t 10.1.0.1:80 -r 192.168.2.1:8080 -m -w 4',
      '-a -t 10.1.0.1:80 -r 192.168.2.2 -i --tun-type gue --tun-port 6080 --tun-remcsum',
      '-a -t 10.1.0.1:80 -r 192.168.2.3 -i --tun-type gre --tun-csum',
      '-a -t 10.1.0.1:80 -r [2001:db8::3]:80 -i --tun-type gre --tun-nocsum',
      '-A -u 10.1.0.2:53 -s sh -o -b flag-3',
      '-A -f 3 -6 -s rr',
      '-A -f 9 -6',
      '-a -f 9 -6 -r 192.168.5.5 -i',
    );
    const spec = [
      '-A -t 10.1.0.1:80 -s sh -p 30 -M 255.255.255.0 -b sh-port',
      '-a -t 10.1.0.1:80 -r 192.168.2.1:8080 -m -w 4',
      '-a -t 10.1.0.1:80 -r 192.168.2.2:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum',
      '-a -t 10.1.0.1:80 -r 192.168.2.3:80 -i -w 1 --tun-type gre --tun-csum',
      '-a -t 10.1.0.1:80 -r [2001:db8::3]:80 -i -w 1 --tun-type gre --tun-nocsum',
      '-A -u 10.1.0.2:53 -s sh -o -b ',
      '-A -f 3 -6 -s rr',
      '-A -f 9 -6 -s wlc',
      '-a -f 9 -6 -r 192.168.5.5:0 -i -w 1 --tun-type ipip',
    ];
    expect(await saved(k)).toBe(spec.map((l) => `${l}\n`).join(''));
    const named = (await run(k, ['-S'])).out;
    expect(named).toContain('-A -t 10.1.0.1:http -s sh');
    expect(named).toContain('-r 192.168.2.1:http-alt -m -w 4');
    expect(named).toContain('-A -u 10.1.0.2:domain -s sh -o -b \n');
  });

  it('no arguments lists like -L, with names', async () => {
    const k = await kernelWith('-A -t 127.0.0.1:8080');
    expect((await run(k, [])).out).toBe(`${HEADER}${TITLE}TCP  localhost:http-alt wlc\n`);
  });
});

// ---------------------------------------------------------------------------------------------

describe('what the command line sends: the service nest templates of -D, -Z, -a, -e, -d', () => {
  it('passes the parsed template and destination defaults to the library', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80', '-A -f 5 -6', '-a -t 10.0.0.1:80 -r 192.168.1.1');
    const ref4 = serviceReference(AF_INET);
    await run(k, argv('-e -t 10.0.0.1:80 -r 192.168.1.1 -w 3'));
    await run(k, argv('-d -t 10.0.0.1:80 -r 192.168.1.1'));
    await run(k, argv('-Z -t 10.0.0.1:80'));
    await run(k, argv('-Z -t 0.0.0.0'));
    await run(k, argv('-D -f 5 -6'));
    const calls = k.calls.filter((c) => c.method !== 'info');
    expect(calls[0]?.args[3]).toEqual(ref4);
    expect(calls[1]?.args[2]).toMatchObject({ forward: 3, weight: 1 });
    expect(calls[1]?.args[3]).toEqual(ref4);
    expect(calls[2]?.args).toEqual([vip, ref4]);
    expect(calls[3]?.args).toEqual([undefined, undefined]);
    expect(calls[4]?.args).toEqual([{ family: AF_INET6, fwmark: 5 }, serviceReference(AF_INET6)]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('ipvsadm-save and ipvsadm-restore (§9)', () => {
  async function script(
    kind: 'save' | 'restore',
    args: string[],
    k: FakeIpvs,
    stdin = '',
  ): Promise<{ out: string; err: string; rc: number }> {
    const { io, result } = testIo(k, { stdin });
    const rc = kind === 'save' ? await saveScript(args, { ...io, scriptName: 'ipvsadm-save' }) : await restoreScript(args, io);
    const { out, err } = result();
    return { out, err, rc };
  }

  it('save: -n (repeatable) for numeric, other dash arguments print the usage and exit 1, the rest is ignored', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80');
    expect(await script('save', [], k)).toMatchObject({ out: '-A -t 10.0.0.1:http -s wlc\n', rc: 0 });
    expect(await script('save', ['-n', '-n'], k)).toMatchObject({ out: '-A -t 10.0.0.1:80 -s wlc\n', rc: 0 });
    expect(await script('save', ['foo'], k)).toMatchObject({ out: '-A -t 10.0.0.1:http -s wlc\n', rc: 0 });
    const usage = evidenceRuns('t9.out').find((x) => x.command === 'sh /sbin/ipvsadm-save -x');
    expect(await script('save', ['-x'], k)).toEqual({ out: usage?.out, err: usage?.err, rc: usage?.rc });
  });

  it('restore: comments removed, the table cleared first, then -R with its status', async () => {
    const k = await kernelWith('-A -t 10.9.9.9:80');
    const r = await script('restore', ['ignored'], k, '# comment line\n-A -t 10.8.8.8:80\n-A -t 10.8.8.8:80\n-A -t 10.8.8.9:80\n');
    expect(r).toMatchObject({ out: '', err: 'Service already exists\n', rc: 0 });
    expect(await saved(k)).toBe('-A -t 10.8.8.8:80 -s wlc\n-A -t 10.8.8.9:80 -s wlc\n');
    expect(k.calls.filter((c) => c.method === 'flush')).toHaveLength(1);
    expect(await script('restore', [], k, '')).toMatchObject({ rc: 0, err: '' });
    expect(await saved(k)).toBe('');
  });

  it('restore input: grep -v "^#", trailing newlines collapsed to one', () => {
    const t = (s: string): string => restoreScriptInput(Buffer.from(s)).toString();
    expect(t('')).toBe('\n');
    expect(t('#only\n')).toBe('\n');
    expect(t('a\n # kept\n#dropped\nb\n\n\n')).toBe('a\n # kept\nb\n');
    expect(t('a')).toBe('a\n');
  });
});

// ---------------------------------------------------------------------------------------------

describe('resolver: glibc files semantics, then the system resolver', () => {
  const hosts = [
    '127.0.0.1 localhost',
    '10.0.0.9 Mixed.Case alias1 # comment',
    '10.0.0.10 mixed.case',
    '::1 six-lo',
    '::ffff:10.1.2.3 mapped4',
    '2001:db8::7 v6only',
    '10.0.0.1 v4name',
    '# 10.0.0.99 commented',
    '10.0.0.5',
  ].join('\n');
  const r = filesResolver(hosts);

  it('by name: first line in file order, names and aliases without case, IPv4 rules of glibc', () => {
    expect(r.hostAddress('MIXED.case', AF_INET)).toBe('10.0.0.9');
    expect(r.hostAddress('alias1', AF_INET)).toBe('10.0.0.9');
    expect(r.hostAddress('six-lo', AF_INET)).toBe('127.0.0.1');
    expect(r.hostAddress('mapped4', AF_INET)).toBe('10.1.2.3');
    expect(r.hostAddress('v6only', AF_INET)).toBeUndefined();
    expect(r.hostAddress('v6only', AF_INET6)).toBe('2001:db8::7');
    expect(r.hostAddress('commented', AF_INET)).toBeUndefined();
    expect(r.hostAddress('comment', AF_INET)).toBeUndefined();
  });

  it('by address: the canonical name of the first matching line; none for v4-mapped, v4-compatible, ::', () => {
    expect(r.hostName('10.0.0.9', AF_INET)).toBe('Mixed.Case');
    expect(r.hostName('127.0.0.1', AF_INET)).toBe('localhost');
    expect(r.hostName('2001:db8::7', AF_INET6)).toBe('v6only');
    expect(r.hostName('::1', AF_INET6)).toBe('six-lo');
    expect(r.hostName('::ffff:10.1.2.3', AF_INET6)).toBeUndefined();
    expect(r.hostName('::ffff:10.0.0.1', AF_INET6)).toBeUndefined();
    expect(r.hostName('::10.0.0.1', AF_INET6)).toBeUndefined();
    expect(r.hostName('10.0.0.5', AF_INET)).toBeUndefined();
  });

  it('services: first entry in file order, aliases, per protocol; port 0 has no name', () => {
    expect(r.servicePort('http', 'tcp')).toBe(80);
    expect(r.servicePort('www', 'tcp')).toBe(80);
    expect(r.servicePort('http', 'udp')).toBeUndefined();
    expect(r.servicePort('webcache', 'tcp')).toBe(8080);
    expect(r.serviceName(8080, 'tcp')).toBe('http-alt');
    expect(r.serviceName(53, 'udp')).toBe('domain');
    expect(r.serviceName(80, 'sctp')).toBeUndefined();
    expect(r.serviceName(0, 'tcp')).toBeUndefined();
    const custom = parseServices('zero 0/tcp\nfoo 7/tcp bar # x\nfoo2 7/tcp\nbad 70000/tcp\n');
    expect(custom.map((s) => [s.name, s.port, s.aliases])).toEqual([
      ['zero', 0, []],
      ['foo', 7, ['bar']],
      ['foo2', 7, []],
    ]);
    expect(parseServices(ETC_SERVICES).find((s) => s.name === 'http')).toEqual({
      name: 'http',
      port: 80,
      protocol: 'tcp',
      aliases: ['www'],
    });
    expect(parseHosts('1.2.3.4\n5.6.7.8 a b\n')).toEqual([{ address: '5.6.7.8', names: ['a', 'b'] }]);
  });

  it('what the files lack is looked up asynchronously, then the command line is parsed again', async () => {
    const asked: string[] = [];
    const fallback: NameFallback = {
      hostAddress: async (name, family) => {
        asked.push(`${family}/${name}`);
        return name === 'www.example.net' ? '192.0.2.10' : undefined;
      },
      hostName: async (address) => {
        asked.push(address);
        return address === '192.0.2.10' ? 'www.example.net' : undefined;
      },
    };
    const resolver = new SystemResolver({
      readFile: (p) => (p === '/etc/services' ? ETC_SERVICES : '127.0.0.1 localhost\n'),
      fallback,
    });
    const k = new FakeIpvs();
    expect(await run(k, argv('-A -t www.example.net:http'), { resolver })).toMatchObject({ err: '', rc: 0 });
    expect(await run(k, argv('-a -t www.example.net:80 -r 1.2.3.4.5'), { resolver })).toMatchObject({
      err: 'illegal real server address[:port] specified\n',
      rc: 2,
    });
    expect(await run(k, argv('-A -t nowhere.example:80'), { resolver })).toMatchObject({
      err: 'illegal virtual server address[:port] specified\n',
      rc: 2,
    });
    expect(await saved(k)).toBe('-A -t 192.0.2.10:80 -s wlc\n');
    expect((await run(k, ['-L'], { resolver })).out).toBe(`${HEADER}${TITLE}TCP  www.example.net:http wlc\n`);
    // Digits and dots never reach the system resolver (glibc answers them itself); answers are cached.
    expect(asked).toEqual(['2/www.example.net', '2/nowhere.example', '192.0.2.10']);
  });
});
