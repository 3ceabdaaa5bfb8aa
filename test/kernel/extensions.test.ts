/**
 * The extensions beyond ipvsadm 1.31 on a real kernel, checked against Debian's ipvsadm (the
 * reference, `/sbin/ipvsadm`) in fresh network namespaces:
 *
 * - `-S -n --lossless`: a table built by our tool with thresholds, scheduler-flag bits -S cannot
 *   name, a fwmark above 2^31, a mask without persistence, non-default timeouts and two sync
 *   daemons (master on lo, backup on a 9000-MTU dummy) is saved; the text is restored into a
 *   fresh namespace by the reference's `ipvsadm -R`, by Debian's `ipvsadm-restore` and by our
 *   `-R`; the reference's `-S -n`, `-L -n`, `-L -n --thresholds`, `-L -n --timeout` and
 *   `-L --daemon`, and our lossless save, must be the same before and after. Plain `-S -n` of the
 *   same table is shown not to restore (the reason for the extension).
 * - `-R --keep-going` / `--stop-on-error`: every line of an input is also run through the
 *   reference one invocation at a time; our reports must be `FILE:LINE: <what the reference
 *   printed for that line>` for exactly the lines the reference failed, and the resulting tables
 *   (read by the reference) must be what the reference's line-by-line runs left: all lines for
 *   keep-going, the lines before the first failure for stop-on-error. Also with 300 lines, so
 *   that keep-going spans batches and stop-on-error must not let a batch run past the failure.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

const OURS = join(process.cwd(), 'bin', 'ipvsadm');
const OURS_SAVE = join(process.cwd(), 'bin', 'ipvsadm-save');
const OURS_RESTORE = join(process.cwd(), 'bin', 'ipvsadm-restore');
const REF = '/sbin/ipvsadm';
const TMP = mkdtempSync('/tmp/ipvsadm-ext-');

interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
  signal: NodeJS.Signals | null;
}

function spawn(cmd: string, args: string[], input?: string): Run {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 1 << 26 });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status, signal: r.signal };
}

const made: string[] = [];

/** A fresh named network namespace with lo up (and a dummy0 of MTU 9000 when asked). */
function freshNs(name: string, dummy = false): string {
  spawn('ip', ['netns', 'del', name]);
  const steps = [['netns', 'add', name], ['-n', name, 'link', 'set', 'lo', 'up']];
  if (dummy) steps.push(['-n', name, 'link', 'add', 'dum0', 'mtu', '9000', 'type', 'dummy'], ['-n', name, 'link', 'set', 'dum0', 'up']);
  for (const s of steps) {
    const r = spawn('ip', s);
    assert.equal(r.status, 0, `ip ${s.join(' ')}: ${r.stderr}`);
  }
  made.push(name);
  return name;
}

after(() => {
  for (const n of made) spawn('ip', ['netns', 'del', n]);
});

/** `cmd args` inside namespace `ns`. */
function inNs(ns: string, cmd: string, args: string[], input?: string): Run {
  return spawn('ip', ['netns', 'exec', ns, cmd, ...args], input);
}

function ok(ns: string, cmd: string, args: string[], input?: string): string {
  const r = inNs(ns, cmd, args, input);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} in ${ns}: status ${r.status}, ${r.stderr}`);
  assert.equal(r.stderr, '', `${cmd} ${args.join(' ')} in ${ns}`);
  return r.stdout;
}

/** What the reference shows of a namespace, and our lossless save of it. */
function state(ns: string): Record<string, string> {
  return {
    save: ok(ns, REF, ['-S', '-n']),
    list: ok(ns, REF, ['-L', '-n']),
    thresholds: ok(ns, REF, ['-L', '-n', '--thresholds']),
    timeout: ok(ns, REF, ['-L', '-n', '--timeout']),
    daemon: ok(ns, REF, ['-L', '--daemon']),
    lossless: ok(ns, OURS, ['-S', '-n', '--lossless']),
  };
}

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
  '-a -f 2147483648 -r 192.168.1.9:0 -m -w 0 -x 7',
  '--start-daemon master --mcast-interface lo --syncid 9 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2 --sync-maxlen 1400',
  '--start-daemon backup --mcast-interface dum0 --syncid 200',
];

const text = (lines: readonly string[]): string => lines.map((l) => `${l}\n`).join('');

describe('-S -n --lossless, restored by the reference', () => {
  let original: Record<string, string>;
  let saved: string;
  const file = join(TMP, 'lossless.rules');

  test('a table built by our tool, saved losslessly', () => {
    const ns = freshNs('ext-lossless-a', true);
    ok(ns, OURS, ['-R'], text(RICH));
    original = state(ns);
    saved = original.lossless as string;
    writeFileSync(file, saved);
    // What the lossless text says, line by line (spec §5.8 + the extension's additions).
    assert.deepEqual(saved.split('\n').filter((l) => l !== ''), [
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
      '-a -f 2147483648 -r 192.168.1.9:0 -m -w 0 -x 7',
      '--start-daemon master --mcast-interface lo --syncid 9 --sync-maxlen 1400 --mcast-group 239.1.1.1 --mcast-port 9000 --mcast-ttl 2',
      // A backup's default maxlen is the interface MTU minus 28: written, so it is pinned.
      '--start-daemon backup --mcast-interface dum0 --syncid 200 --sync-maxlen 8972',
    ]);
    assert.equal(original.timeout, 'Timeout (tcp tcpfin udp): 100 20 50\n');
    assert.match(original.daemon as string, /^master sync daemon \(mcast=lo, syncid=9, maxlen=1400, group=239\.1\.1\.1, port=9000, ttl=2\)\nbackup sync daemon \(mcast=dum0, syncid=200, maxlen=8972, group=224\.0\.0\.81, port=8848, ttl=1\)\n$/);
    // ipvsadm-save passes the option on.
    assert.equal(ok(ns, OURS_SAVE, ['-n', '--lossless']), saved);
  });

  test("the reference's ipvsadm -R rebuilds the same state in a fresh namespace", () => {
    const ns = freshNs('ext-lossless-b', true);
    ok(ns, REF, ['-R'], saved);
    assert.deepEqual(state(ns), original);
  });

  test("Debian's ipvsadm-restore does too", () => {
    const ns = freshNs('ext-lossless-c', true);
    ok(ns, '/sbin/ipvsadm-restore', [], saved);
    assert.deepEqual(state(ns), original);
  });

  test('our -R (from the file, reporting) does too', () => {
    const ns = freshNs('ext-lossless-d', true);
    ok(ns, OURS, ['-R', '--stop-on-error', '--input', file]);
    assert.deepEqual(state(ns), original);
  });

  test('while plain -S -n of the same table does not restore (the reference aborts on -f -2147483648)', () => {
    const ns = freshNs('ext-lossless-e', true);
    const r = inNs(ns, REF, ['-R'], original.save);
    assert.equal(r.status, 2);
    assert.equal(r.stderr, '-b: missing argument\n' + "invalid fwmark value `-2147483648' specified\n");
  });
});

/** One line of restore input as the reference runs it alone, in order, in one namespace. */
interface RefLine {
  line: number;
  failed: boolean;
  message: string;
}

/**
 * Runs each non-blank line through the reference as its own invocation (what -R does per line),
 * stopping after the first failure if asked; returns what failed and with which text.
 */
function referenceLines(ns: string, lines: readonly string[], stopAtFirst: boolean): RefLine[] {
  const out: RefLine[] = [];
  for (const [i, l] of lines.entries()) {
    const argv = l.split(/[ \t\r]+/).filter((w) => w !== '' && w !== 'ipvsadm');
    if (argv.length === 0) continue;
    const r = inNs(ns, REF, argv);
    const failed = r.status !== 0;
    // -b , crashes the reference without a word; ours reports a text of its own for it.
    const message = r.signal === 'SIGSEGV' ? 'CRASH' : r.stderr.replace(/\n+$/, '').replaceAll(REF, OURS);
    out.push({ line: i + 1, failed, message });
    if (failed && stopAtFirst) break;
  }
  return out;
}

const CRASH_TEXT = 'scheduler flags made only of commas (ipvsadm 1.31 crashes on this line)';

function expectedReports(source: string, ref: readonly RefLine[]): string {
  return ref
    .filter((r) => r.failed)
    .map((r) => `${source}:${r.line}: ${r.message === 'CRASH' ? CRASH_TEXT : r.message}\n`)
    .join('');
}

const MIXED = [
  '-A -t 10.0.0.1:80 -s rr',
  '',
  '-A -t 10.0.0.1:80',
  '-a -t 10.0.0.1:80 -r 192.168.1.1 -Q',
  '-A -t 10.0.0.7:80 -w 3',
  '# a comment',
  '-A -t 10.0.0.8:80',
  '-a -t 10.0.0.8:80 -r 192.168.1.2 -m',
  '-a -t 10.0.0.9:80 -r 192.168.1.1',
  '-a -t 10.0.0.8:80 -r 192.168.1.3 -y 10',
  '-A -t 10.0.0.10:80 -b ,',
  '-A -t 10.0.0.1:81 -6',
  '-A -t 10.0.0.11:80 -s nosuch',
  '-e -t 10.0.0.8:80 -r 192.168.1.4',
  '   ',
  '-E -t 10.0.0.1:80 -s wrr -p 20',
  '-d -t 10.0.0.8:80 -r 192.168.1.2',
  '--start-daemon master --mcast-interface nosuch0',
  '-A -u 10.0.0.12:53 -s sh -b sh-port',
];

describe('-R --keep-going and --stop-on-error against the reference, line by line', () => {
  const file = join(TMP, 'mixed.rules');
  writeFileSync(file, text(MIXED));

  test('--keep-going: every failing line reported with the reference text; the table is what all lines left', () => {
    const refNs = freshNs('ext-report-ref');
    const ref = referenceLines(refNs, MIXED, false);
    assert.ok(ref.filter((r) => r.failed).length >= 10, 'the input exercises many failures');
    const ns = freshNs('ext-report-ours');
    const r = inNs(ns, OURS, ['-R', '--keep-going', '--input', file]);
    assert.equal(r.stderr, expectedReports(file, ref));
    assert.equal(r.status, 1);
    assert.equal(ok(ns, REF, ['-S', '-n']), ok(refNs, REF, ['-S', '-n']));
  });

  test('--stop-on-error (stdin): the first failing line reported; the table is what the lines before it left', () => {
    const refNs = freshNs('ext-stop-ref');
    const ref = referenceLines(refNs, MIXED, true);
    const ns = freshNs('ext-stop-ours');
    const r = inNs(ns, OURS, ['-R', '--stop-on-error'], text(MIXED));
    assert.equal(r.stderr, expectedReports('<stdin>', ref));
    assert.equal(r.stderr, '<stdin>:3: Service already exists\n');
    assert.equal(r.status, 1);
    assert.equal(ok(ns, REF, ['-S', '-n']), ok(refNs, REF, ['-S', '-n']));
  });

  test('ipvsadm-restore --keep-going: # lines count in the line numbers', () => {
    const ns = freshNs('ext-report-script');
    const r = inNs(ns, OURS_RESTORE, ['--keep-going'], '# rules\n-A -t 10.0.0.1:80\n#\n-A -t 10.0.0.1:80\n');
    assert.equal(r.stderr, '<stdin>:4: Service already exists\n');
    assert.equal(r.status, 1);
  });

  const many = Array.from({ length: 300 }, (_, i) => `-A -t 10.1.${i >> 8}.${i & 255}:80`);
  many[149] = '-A -t 10.1.0.9:80'; // line 150 repeats line 10
  const countServices = (ns: string): number => ok(ns, REF, ['-S', '-n']).split('\n').filter((l) => l !== '').length;

  test('300 lines, --keep-going: batches run past the failure, which is reported by its number', () => {
    const ns = freshNs('ext-many-keep');
    const r = inNs(ns, OURS, ['-R', '--keep-going'], text(many));
    assert.equal(r.stderr, '<stdin>:150: Service already exists\n');
    assert.equal(r.status, 1);
    assert.equal(countServices(ns), 299);
  });

  test('300 lines, --stop-on-error: nothing after line 150 reaches the kernel', () => {
    const ns = freshNs('ext-many-stop');
    const r = inNs(ns, OURS, ['-R', '--stop-on-error'], text(many));
    assert.equal(r.stderr, '<stdin>:150: Service already exists\n');
    assert.equal(r.status, 1);
    assert.equal(countServices(ns), 149);
    assert.equal(readFileSync(file, 'utf8'), text(MIXED)); // the input file is only read
  });
});
