/**
 * The extensions beyond ipvsadm 1.31 (man/ipvsadm.8 "EXTENSIONS"), in-process against the fake
 * kernel:
 *
 * - `-S [-n] --lossless`: the `-S` lines (spec §5.8) made restorable, plus `--set`, thresholds
 *   and sync daemons. Expected texts are written out from the spec's rules (§3.10 kernel daemon
 *   defaults, §5.8 save syntax, §5.9 order, §5.10 flag names), and the output must restore (our
 *   `-R`) into a fresh kernel with the same state.
 * - `-R --keep-going | --stop-on-error [--input FILE]`: every failing line reported as
 *   `SOURCE:LINE: <the reference's text for that line>` (spec §6.1, §6.3 texts), exit 1.
 * - the options pass through ipvsadm-save / ipvsadm-restore; without them nothing changes.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText } from '../../src/cli/format-text.js';
import { restoreScript } from '../../src/cli/restore-script.js';
import { CRASH_TEXT, lineReport } from '../../src/cli/restore-report.js';
import { maskOption, restorableSchedFlags } from '../../src/cli/save-lossless.js';
import { saveScript } from '../../src/cli/save-script.js';
import { AF_INET, AF_INET6 } from '../../src/wire/index.js';
import { FakeIpvs } from './helpers/fake-ipvs.js';
import { argv, filesResolver, kernelWith, run, testIo } from './helpers/cli-run.js';

const TRY = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";

/** A table using everything plain -S loses or writes unrestorably. */
const RICH = [
  '--set 100 20 50',
  '-A -t 10.0.0.1:80 -s rr',
  '-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 3 -x 100 -y 20',
  '-a -t 10.0.0.1:80 -r 192.168.1.3 -g -w 2 -x 50',
  '-A -t 10.0.0.3:80 -s wlc -M 255.255.255.0',
  '-A -t 10.0.0.4:80 -s rr -p 30 -M 255.255.0.0 --pe sip',
  '-a -t 10.0.0.4:80 -r 192.168.1.4 -i --tun-type gue --tun-port 6080 --tun-csum -x 10 -y 5',
  '-A -u 10.0.0.2:53 -s mh -o -b flag-3',
  '-A -f 7 -6 -s rr -M 64',
  '-A -f 2147483648 -s sh -b sh-port,flag-3',
  '--start-daemon master --mcast-interface lo --syncid 9 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2 --sync-maxlen 1400',
  '--start-daemon backup --mcast-interface lo',
];

/** Spec §5.8 applied to RICH: what plain `-S -n` prints (thresholds, timeouts, daemons gone). */
const RICH_SAVE = [
  '-A -t 10.0.0.1:80 -s rr',
  '-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 3',
  '-a -t 10.0.0.1:80 -r 192.168.1.3:80 -g -w 2',
  '-A -t 10.0.0.3:80 -s wlc',
  '-A -t 10.0.0.4:80 -s rr -p 30 -M 255.255.0.0 --pe sip',
  '-a -t 10.0.0.4:80 -r 192.168.1.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum',
  '-A -u 10.0.0.2:53 -s mh -o -b ',
  '-A -f 7 -6 -s rr',
  '-A -f -2147483648 -s sh -b sh-port',
];

/**
 * The same table, lossless: --set first; masks without -p kept; flag-3 named; the fwmark
 * unsigned; thresholds; the daemons last with what differs from the kernel's defaults (master
 * maxlen 1500-28, group 224.0.0.81, port 8848, ttl 1; a backup's maxlen always).
 */
const RICH_LOSSLESS = [
  '--set 100 20 50',
  '-A -t 10.0.0.1:80 -s rr',
  '-a -t 10.0.0.1:80 -r 192.168.1.2:8080 -m -w 3 -x 100 -y 20',
  '-a -t 10.0.0.1:80 -r 192.168.1.3:80 -g -w 2 -x 50',
  '-A -t 10.0.0.3:80 -s wlc -M 255.255.255.0',
  '-A -t 10.0.0.4:80 -s rr -p 30 -M 255.255.0.0 --pe sip',
  '-a -t 10.0.0.4:80 -r 192.168.1.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum -x 10 -y 5',
  '-A -u 10.0.0.2:53 -s mh -o -b flag-3',
  '-A -f 7 -6 -s rr -M 64',
  '-A -f 2147483648 -s sh -b sh-port,flag-3',
  '--start-daemon master --mcast-interface lo --syncid 9 --sync-maxlen 1400 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2',
  '--start-daemon backup --mcast-interface lo --syncid 0 --sync-maxlen 65507',
];

const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');

describe('-S --lossless', () => {
  it('prints what -S prints and what -S loses, every line restorable', async () => {
    const k = await kernelWith(...RICH);
    expect((await run(k, ['-S', '-n'])).out).toBe(text(RICH_SAVE));
    const r = await run(k, ['-S', '-n', '--lossless']);
    expect(r).toMatchObject({ out: text(RICH_LOSSLESS), err: '', rc: 0 });
  });

  it('restores through -R into a fresh kernel with the same services, timeouts and daemons', async () => {
    const k = await kernelWith(...RICH);
    const saved = (await run(k, ['-S', '-n', '--lossless'])).out;
    const fresh = new FakeIpvs();
    fresh.salt = 77; // another boot: another dump order
    const r = await run(fresh, ['-R'], { stdin: saved });
    expect(r).toMatchObject({ err: '', rc: 0 });
    expect((await run(fresh, ['-S', '-n', '--lossless'])).out).toBe(saved);
    expect(await fresh.getTimeouts()).toEqual(await k.getTimeouts());
    expect(await fresh.daemons()).toEqual(await k.daemons());
    const configs = (t: FakeIpvs): unknown =>
      t.dump().map((s) => [s.key, s.config, s.destinations.map((d) => [d.key, d.config])]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
    expect(configs(fresh)).toEqual(configs(k));
  });

  it('on a table -S keeps whole, adds only the --set line', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80 -s wrr -p', '-a -t 10.0.0.1:80 -r 192.168.1.2 -m -w 4', '-A -f 3 -s sh -b sh-fallback');
    const plain = (await run(k, ['-S', '-n'])).out;
    expect((await run(k, ['-S', '-n', '--lossless'])).out).toBe(`--set 900 120 300\n${plain}`);
  });

  it('an empty kernel: just the timeouts', async () => {
    expect((await run(new FakeIpvs(), ['--save', '--lossless'])).out).toBe('--set 900 120 300\n');
  });

  it('without -n names as -S, but an address:port is never cut at 59 bytes', async () => {
    const long = `${'a'.repeat(60)}.example`;
    const resolver = filesResolver(`127.0.0.1 localhost\n10.0.0.1 ${long}\n`);
    const k = await kernelWith('-A -t 10.0.0.1:80 -s rr', '-a -t 10.0.0.1:80 -r 127.0.0.1:8080 -m');
    const plain = (await run(k, ['-S'], { resolver })).out;
    expect(plain).toBe(`-A -t ${`${long}:http`.slice(0, 59)} -s rr\n-a -t ${`${long}:http`.slice(0, 59)} -r localhost:http-alt -m -w 1\n`);
    expect((await run(k, ['-S', '--lossless'], { resolver })).out).toBe(
      `--set 900 120 300\n-A -t ${long}:http -s rr\n-a -t ${long}:http -r localhost:http-alt -m -w 1\n`,
    );
  });

  it('a master with an IPv6 group: its default maxlen is 1500-48, so not written', async () => {
    const k = new FakeIpvs();
    await k.startDaemon({ state: 1, interface: 'lo', syncId: 1, group: 'ff15::1' });
    expect((await run(k, ['-S', '--lossless'])).out).toBe(
      '--set 900 120 300\n--start-daemon master --mcast-interface lo --syncid 1 --mcast-group ff15::1\n',
    );
  });

  it('a failed query: its text, status 1, and no partial save', async () => {
    const k = await kernelWith('-A -t 10.0.0.1:80');
    k.failNext.set('daemons', 1);
    expect(await run(k, ['-S', '--lossless'])).toMatchObject({ out: '', err: 'Permission denied (you must be root)\n', rc: 1 });
    k.failNext.set('destinations', 3);
    expect(await run(k, ['-S', '--lossless'])).toMatchObject({ out: '', err: 'No such service\n', rc: 1 });
  });

  it('is an option of -S only, checked like every ipvsadm option (§2.6)', async () => {
    const k = new FakeIpvs();
    expect(await run(k, argv('-L --lossless'))).toMatchObject({ err: "Illegal 'lossless' option with the 'list' command\n", rc: 2 });
    expect(await run(k, argv('-R --lossless'))).toMatchObject({ err: "Illegal 'lossless' option with the 'restore' command\n", rc: 2 });
    expect(await run(k, argv('-S --lossless --lossless'))).toMatchObject({ err: "multiple 'lossless' options specified\n", rc: 2 });
    expect(await run(k, argv('-S --lossless=1'))).toMatchObject({ err: '--lossless=1: option does not take an argument\n', rc: 255 });
  });

  it('helpers: restorable flag names and masks', () => {
    expect(restorableSchedFlags('sh', 0x38)).toBe('sh-fallback,sh-port,flag-3');
    expect(restorableSchedFlags('mh', 0x20)).toBe('flag-3');
    expect(restorableSchedFlags('wrr', 0x18)).toBe('flag-1,flag-2');
    expect(restorableSchedFlags('rr', 0x05)).toBeUndefined();
    expect(maskOption({ family: AF_INET, mask: 0xffffffff }, AF_INET)).toBeUndefined();
    expect(maskOption({ family: AF_INET, mask: 0xfffff000 }, AF_INET)).toBe('255.255.240.0');
    expect(maskOption({ family: AF_INET6, prefix: 128 }, AF_INET6)).toBeUndefined();
    expect(maskOption({ family: AF_INET6, prefix: 48 }, AF_INET6)).toBe('48');
  });
});

/**
 * One input exercising every kind of failing line, with the text the reference prints for each
 * (spec §2.1, §3.12, §6.1, §6.3).
 */
const MIXED = [
  '-A -t 10.0.0.1:80 -s rr', //                      1 ok
  '', //                                             2 blank: counted, skipped
  '-A -t 10.0.0.1:80', //                            3 Service already exists
  '-a -t 10.0.0.1:80 -r 10.0.1.1 -Q', //             4 popt error
  '-A -t 10.0.0.7:80 -w 3', //                       5 fail error (aborts plain -R)
  '# a comment', //                                  6 not a command (aborts plain -R)
  '-A -t 10.0.0.8:80', //                            7 ok
  '-R', //                                           8 -R inside -R
  '-a -t 10.0.0.9:80 -r 10.0.1.1', //                9 Service not defined
  '-L -t 10.0.0.99:80', //                          10 listing failed
  '-A -t 10.0.0.10:80 -b ,', //                     11 crashes the reference
  '-A -t 10.0.0.1:81 -6', //                        12 -6 used before -f (text ends in a newline)
  '  \t ', //                                       13 blank
  '-a -t 10.0.0.8:80 -r 10.0.1.2 -m', //            14 ok
];
const MIXED_REPORTS: [number, string][] = [
  [3, 'Service already exists'],
  [4, '-Q: unknown option'],
  [5, "Illegal 'weight' option with the 'add-service' command"],
  [6, TRY],
  [8, TRY],
  [9, 'Service not defined'],
  [10, 'No such service'],
  [11, CRASH_TEXT],
  [12, '-6 used before -f'],
];

describe('-R --keep-going', () => {
  it('reports every failing line as SOURCE:LINE: text, runs all the others, exits 1', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-R', '--keep-going'], { stdin: text(MIXED) });
    expect(r.err).toBe(MIXED_REPORTS.map(([n, t]) => `<stdin>:${n}: ${t}\n`).join(''));
    expect(r.rc).toBe(1);
    expect((await run(k, ['-S', '-n'])).out).toBe(
      '-A -t 10.0.0.1:80 -s rr\n-A -t 10.0.0.8:80 -s wlc\n-a -t 10.0.0.8:80 -r 10.0.1.2:80 -m -w 1\n',
    );
  });

  it('exit 0 and silence when every line works; listings and -h print as usual and the run goes on', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-R', '--keep-going'], { stdin: '-A -t 10.0.0.1:80\n-h\n-S -n\n-A -t 10.0.0.2:80\n' });
    expect(r.err).toBe('');
    expect(r.rc).toBe(0);
    expect(r.out).toBe(`${helpText('ipvsadm')}-A -t 10.0.0.1:80 -s wlc\n`);
    expect((await run(k, ['-S', '-n'])).out).toBe('-A -t 10.0.0.1:80 -s wlc\n-A -t 10.0.0.2:80 -s wlc\n');
  });

  it('keeps pipelining: 300 lines in batches of at most 128, a failure in the middle reported by its number', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `-A -t 10.1.${i >> 8}.${i & 255}:80`);
    lines[149] = '-A -t 10.1.0.9:80'; // line 150 repeats line 10
    const k = new FakeIpvs();
    const r = await run(k, ['-R', '--keep-going'], { stdin: text(lines) });
    expect(r).toMatchObject({ err: '<stdin>:150: Service already exists\n', rc: 1 });
    expect((await k.services()).length).toBe(299);
    expect(k.batches.length).toBeLessThan(10);
    expect(Math.max(...k.batches)).toBeLessThanOrEqual(128);
  });

  it('counts CRLF lines and a last line without newline', async () => {
    const r = await run(new FakeIpvs(), ['-R', '--keep-going'], { stdin: '-A -t 10.0.0.1:80\r\n\r\n-A -t 10.0.0.1:80' });
    expect(r).toMatchObject({ err: '<stdin>:3: Service already exists\n', rc: 1 });
  });
});

describe('-R --stop-on-error', () => {
  it('reports the first failing line and applies nothing after it', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-R', '--stop-on-error'], { stdin: text(MIXED) });
    expect(r).toMatchObject({ err: '<stdin>:3: Service already exists\n', rc: 1 });
    expect((await run(k, ['-S', '-n'])).out).toBe('-A -t 10.0.0.1:80 -s rr\n');
  });

  it('stops at an argument error as well (which plain -R also stops at, with 2)', async () => {
    const k = new FakeIpvs();
    const r = await run(k, ['-R', '--stop-on-error'], { stdin: '-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80 -w 1\n-A -t 10.0.0.3:80\n' });
    expect(r).toMatchObject({ err: "<stdin>:2: Illegal 'weight' option with the 'add-service' command\n", rc: 1 });
    expect((await k.services()).length).toBe(1);
  });

  it('sends each change alone, so nothing after line 150 of 300 reaches the kernel', async () => {
    const lines = Array.from({ length: 300 }, (_, i) => `-A -t 10.1.${i >> 8}.${i & 255}:80`);
    lines[149] = '-A -t 10.1.0.9:80';
    const k = new FakeIpvs();
    const r = await run(k, ['-R', '--stop-on-error'], { stdin: text(lines) });
    expect(r).toMatchObject({ err: '<stdin>:150: Service already exists\n', rc: 1 });
    expect((await k.services()).length).toBe(149);
    expect(k.batches.every((n) => n === 1)).toBe(true);
    expect(k.calls.filter((c) => c.method === 'addService').length).toBe(150);
  });

  it('exit 0 when nothing fails', async () => {
    const r = await run(new FakeIpvs(), ['-R', '--stop-on-error'], { stdin: '-A -t 10.0.0.1:80\n-L -n --timeout\n' });
    expect(r).toMatchObject({ out: 'Timeout (tcp tcpfin udp): 900 120 300\n', err: '', rc: 0 });
  });
});

describe('-R --input FILE', () => {
  it('reads the file and names it in reports', async () => {
    const r = await run(new FakeIpvs(), argv('-R --keep-going --input /etc/lvs.rules'), {
      inputs: { '/etc/lvs.rules': '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n' },
    });
    expect(r).toMatchObject({ err: '/etc/lvs.rules:2: Service already exists\n', rc: 1 });
  });

  it('`-` is stdin', async () => {
    const r = await run(new FakeIpvs(), argv('-R --input - --stop-on-error'), { stdin: '-Q\n' });
    expect(r).toMatchObject({ err: `<stdin>:1: ${TRY}\n`, rc: 1 });
  });

  it('without a mode it is plain -R reading the file (aborting on a bad first token, 255)', async () => {
    const k = new FakeIpvs();
    const r = await run(k, argv('-R --input=/r'), { inputs: { '/r': '-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\nfoo\n-A -t 10.0.0.2:80\n' } });
    expect(r).toMatchObject({ err: `Service already exists\n${TRY}\n`, rc: 255 });
    expect((await k.services()).length).toBe(1);
  });

  it('a file that cannot be opened: one line, status 1, nothing run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvsadm-input-'));
    const k = new FakeIpvs();
    expect(await run(k, ['-R', '--input', join(dir, 'missing')])).toMatchObject({
      err: `cannot open file ${join(dir, 'missing')}: No such file or directory\n`,
      rc: 1,
    });
    expect(await run(k, ['-R', '--keep-going', '--input', dir])).toMatchObject({ err: `cannot open file ${dir}: Is a directory\n`, rc: 1 });
    const file = join(dir, 'rules');
    writeFileSync(file, '-A -t 10.0.0.1:80\n-d -t 10.0.0.1:80 -r 10.0.1.1\n');
    expect(await run(k, ['-R', '--keep-going', '--input', file])).toMatchObject({ err: `${file}:2: No such destination\n`, rc: 1 });
  });

  it('options are checked like ipvsadm options (§2.6): the two modes exclude each other', async () => {
    const k = new FakeIpvs();
    expect(await run(k, argv('-R --stop-on-error --keep-going'))).toMatchObject({
      err: "The option 'stop-on-error' conflicts with the 'keep-going' option in the 'restore' command\n",
      rc: 2,
    });
    expect(await run(k, argv('-A -t 10.0.0.1:80 --keep-going'))).toMatchObject({
      err: "Illegal 'keep-going' option with the 'add-service' command\n",
      rc: 2,
    });
    expect(await run(k, argv('-R --input'))).toMatchObject({ err: '--input: missing argument\n', rc: 255 });
  });

  it('lineReport drops the newline of the -6 text', () => {
    expect(lineReport('f', 7, '-6 used before -f\n')).toBe('f:7: -6 used before -f');
  });
});

describe('the scripts and the help text', () => {
  it('ipvsadm-save -n --lossless is ipvsadm -S -n --lossless; other dashed arguments still print the usage', async () => {
    const k = await kernelWith(...RICH);
    const { io, result } = testIo(k);
    expect(await saveScript(['-n', '--lossless'], { ...io, scriptName: 'ipvsadm-save' })).toBe(0);
    expect(result().out).toBe(text(RICH_LOSSLESS));
    const bad = testIo(k);
    expect(await saveScript(['--lossless', '-x'], { ...bad.io, scriptName: 'ipvsadm-save' })).toBe(1);
    expect(bad.result().err).toMatch(/^ipvsadm-save: Script to save the IPVS table to stdout\./);
  });

  it('ipvsadm-restore --keep-going: # lines count, so reports carry the input line numbers', async () => {
    const k = await kernelWith('-A -t 10.9.9.9:80');
    const { io, result } = testIo(k, { stdin: '# saved\n-A -t 10.0.0.1:80\n# again\n-A -t 10.0.0.1:80\n-Q\n' });
    expect(await restoreScript(['--keep-going'], io)).toBe(1);
    expect(result().err).toBe(`<stdin>:4: Service already exists\n<stdin>:5: ${TRY}\n`);
    expect((await run(k, ['-S', '-n'])).out).toBe('-A -t 10.0.0.1:80 -s wlc\n');
  });

  it('ipvsadm-restore without the options is unchanged: # lines dropped, plain -R status', async () => {
    const k = new FakeIpvs();
    const { io, result } = testIo(k, { stdin: '# saved\n-A -t 10.0.0.1:80\n-A -t 10.0.0.1:80\n-A -t 10.0.0.2:80\n' });
    expect(await restoreScript(['--whatever'], io)).toBe(0);
    expect(result().err).toBe('Service already exists\n');
  });

  it('-h does not mention the extensions (it stays the reference text)', () => {
    expect(helpText('ipvsadm')).not.toMatch(/lossless|keep-going|stop-on-error|--input/);
  });
});
