/**
 * The differential suite: every case of test/kernel/differential/*.cases run through Debian's
 * ipvsadm (the reference) and through ours on this kernel, comparing each step's stdout,
 * stderr and exit status and the resulting state as the reference prints it. Runs as root in
 * the VM (see differential/README.md).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { main, type CliIo } from '../../src/cli/main.js';
import { restoreScript } from '../../src/cli/restore-script.js';
import { saveScript } from '../../src/cli/save-script.js';
import { Ipvs } from '../../src/index.js';
import { loadCases, PROGRAMS, type Case, type Step } from './differential/cases.js';
import { kernelRelease, openClean, reset } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CASES = loadCases(join(ROOT, 'test/kernel/differential'));

/** Names the cases may use (differential/README.md); appended to the guest's /etc/hosts. */
const EXTRA_HOSTS = [
  '10.9.9.9\ta-very-long-hostname-for-testing-truncation.example.org',
  '10.9.9.8\texactly-twenty-eight-chars.x',
  '10.9.9.7\tsvc-name-of-length-twenty-six',
  '192.168.10.1\tweb1.lvs.test web1',
  '192.168.10.2\tweb2.lvs.test web2',
  '192.168.10.3\tweb3.lvs.test',
  '2001:db8::10\tv6web.lvs.test',
];

/** What one step printed and how it ended. */
interface StepResult {
  step: string;
  stdout: string;
  stderr: string;
  /** The exit status; a death by signal N shows as 128+N, as the shell reports it. */
  status: number;
}

/** Everything compared for one case. */
interface Outcome {
  steps: StepResult[];
  /** `ipvsadm -S -n`, `-L -n --timeout`, `-L --daemon` by the reference afterwards. */
  state: string;
}

/** The environment every step starts from: the suite's own, without popt's switches. */
function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.POSIXLY_CORRECT;
  delete env.POSIX_ME_HARDER;
  return { ...env, ...extra };
}

const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function show(s: Step): string {
  const env = Object.entries(s.env).map(([k, v]) => `${k}=${v} `);
  const stdin = s.stdin === undefined ? '' : ` <<< ${JSON.stringify(s.stdin)}`;
  return `${env.join('')}${s.program} ${s.args.map((a) => JSON.stringify(a)).join(' ')}${stdin}`;
}

/**
 * The reference's listings of the result, printed after the last step. Timeouts and daemons
 * change only through `--set` and `--start-daemon` (also inside -R input), so they are listed
 * only for cases that mention those: each C run costs ~100 ms under TCG.
 */
function stateListings(c: Case): string[] {
  return /--set|daemon/.test(c.text) ? ['-S -n', '-L -n --timeout', '-L --daemon'] : ['-S -n'];
}

/**
 * Runs the steps as real processes (`PATH` led by `path` when given), then the reference's
 * state listings, all from one shell: under TCG a spawn from node costs far more than the C
 * tool itself, so one spawn per side keeps hundreds of cases within minutes.
 */
function runAsProcesses(steps: Step[], listings: string[], path?: string): Outcome {
  const dir = mkdtempSync(join(tmpdir(), 'diff-'));
  try {
    const lines = steps.map((s, i) => {
      writeFileSync(join(dir, `in${i}`), s.stdin ?? '');
      const env = Object.entries(s.env).map(([k, v]) => `${k}=${shq(v)} `);
      const prefix = path === undefined ? '' : `PATH=${shq(path)}:"$PATH"; `;
      const run = `${env.join('')}${s.program} ${s.args.map(shq).join(' ')}`;
      return `(${prefix}${run}) <in${i} >out${i} 2>err${i}; echo $? >rc${i}`;
    });
    const state = listings.map((a) => `echo '$ ipvsadm ${a}'; ipvsadm ${a} 2>&1; echo "(exit $?)";`);
    const script = [`cd ${shq(dir)} || exit 99`, ...lines, `{ ${state.join(' ')} :; } >state`].join('\n');
    const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: baseEnv({}) });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`harness shell exited ${r.status}: ${r.stderr}`);
    const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
    return {
      steps: steps.map((s, i) => ({
        step: show(s),
        stdout: read(`out${i}`),
        stderr: read(`err${i}`),
        status: Number(read(`rc${i}`).trim()),
      })),
      state: read('state'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function* chunks(text: string): AsyncGenerator<Buffer> {
  if (text !== '') yield Buffer.from(text, 'utf8');
}

/** Our program, in this process, exactly as bin/… runs it but with argv and stdio injected. */
async function inProcessStep(s: Step): Promise<StepResult> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    argv0: 'ipvsadm',
    stdin: chunks(s.stdin ?? ''),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: baseEnv(s.env),
    stdoutIsTTY: false,
    openKernel: () => Ipvs.open(),
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  let status: number;
  if (s.program === 'ipvsadm') status = await main(s.args, io);
  else if (s.program === 'ipvsadm-save') status = await saveScript(s.args, { ...io, scriptName: 'ipvsadm-save' });
  else status = await restoreScript(s.args, io);
  return { step: show(s), stdout, stderr, status };
}

let ipvs: Ipvs;
let ourBin: string;
let hostsBefore: string;
const tally = { identical: 0, different: 0 };

before(async () => {
  ipvs = await openClean();
  hostsBefore = readFileSync('/etc/hosts', 'utf8');
  writeFileSync('/etc/hosts', `${hostsBefore.replace(/\n?$/, '\n')}${EXTRA_HOSTS.join('\n')}\n`);
  // Our programs under the names the reference has, first in PATH for the spawned cases.
  ourBin = mkdtempSync(join(tmpdir(), 'ours-'));
  for (const p of PROGRAMS) symlinkSync(join(ROOT, 'bin', p), join(ourBin, p));
});

after(async () => {
  await reset(ipvs);
  ipvs.close();
  writeFileSync('/etc/hosts', hostsBefore);
  rmSync(ourBin, { recursive: true, force: true });
  const total = tally.identical + tally.different;
  process.stdout.write(
    `differential on ${kernelRelease()}: ${tally.identical} of ${total} cases identical, ${tally.different} different\n`,
  );
});

async function runSide(c: Case, ours: boolean): Promise<Outcome> {
  await reset(ipvs);
  const listings = stateListings(c);
  if (!ours) return runAsProcesses(c.steps, listings);
  const steps: StepResult[] = [];
  for (const s of c.steps) {
    if (s.spawn) steps.push(...runAsProcesses([s], [], ourBin).steps);
    else steps.push(await inProcessStep(s));
  }
  return { steps, state: runAsProcesses([], listings).state };
}

const step = (...args: string[]): Step => ({ spawn: false, env: {}, program: 'ipvsadm', args });

test('the harness tells a different program apart (ours given -L where the reference got -L -n)', async () => {
  const reference = await runSide(
    { where: 'self-check', text: '', spawn: false, steps: [step('-A', '-t', 'web1:80'), step('-L', '-n')] },
    false,
  );
  const ours = await runSide(
    { where: 'self-check', text: '', spawn: false, steps: [step('-A', '-t', 'web1:80'), step('-L')] },
    true,
  );
  assert.match(reference.state, /-A -t 192\.168\.10\.1:80 -s wlc/);
  assert.equal(ours.state, reference.state);
  assert.notEqual(ours.steps[1]?.stdout, reference.steps[1]?.stdout);
  assert.match(ours.steps[1]?.stdout ?? '', /web1\.lvs\.test:http/);
});

const files = [...new Set(CASES.map((c) => c.where.split(':')[0] as string))];
for (const file of files) {
  describe(`differential ${file}`, () => {
    for (const c of CASES.filter((x) => x.where.startsWith(`${file}:`))) {
      test(`${c.where}${c.spawn ? ' [process]' : ''} ${c.text}`, async () => {
        const reference = await runSide(c, false);
        const ours = await runSide(c, true);
        try {
          assert.deepStrictEqual(ours, reference);
          tally.identical++;
        } catch (e) {
          tally.different++;
          throw e;
        }
      });
    }
  });
}
