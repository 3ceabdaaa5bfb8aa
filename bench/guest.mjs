// The benchmark's guest half: runs inside the VM as root (see bench/run.mjs). For each rule set
// it restores with the reference and with ours, each into a fresh network namespace, checks the
// reference's `-S -n` against the input, and times both tools' `-S -n` and `-L -n` on the table;
// then the cost of one command. Prints a markdown table.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SETS = [
  { name: 'S1', services: 1000, dests: 10 },
  { name: 'S2', services: 10000, dests: 1 },
  { name: 'S3', services: 2000, dests: 50 },
];
const args = process.argv.slice(2);
const only = args.filter((a) => /^S\d$/.test(a));
const COMMANDS = Number(process.env.BENCH_COMMANDS || 200);
const REF = '/sbin/ipvsadm';
const OURS = '/project/bin/ipvsadm';
const dir = mkdtempSync(join(tmpdir(), 'bench-'));

function sh(script) {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`sh failed (${r.status}): ${script}\n${r.stderr}`);
  return r.stdout;
}

const ip4 = (base, n) => `${base[0]}.${base[1] + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;

/** The rule set as `ipvsadm -S -n` prints it. */
function rules(set) {
  const out = [];
  for (let i = 0; i < set.services; i++) {
    const vip = `${ip4([10, 0], i + 1)}:80`;
    out.push(`-A -t ${vip} -s ${i % 2 ? 'rr' : 'wlc'}`);
    for (let j = 0; j < set.dests; j++) {
      out.push(`-a -t ${vip} -r ${ip4([172, 16], i * set.dests + j + 1)}:8080 -m -w ${1 + (j % 5)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/**
 * busybox's `time -v` reports ru_maxrss as if it counted pages (4x the kilobytes on x86-64):
 * the factor is measured once against the kernel's own VmHWM of a process that prints it.
 */
function rssFactor() {
  const t = join(dir, 'calibrate');
  const hwm = sh(`busybox time -v -o ${t} node -e "process.stdout.write(require('fs').readFileSync('/proc/self/status','utf8').match(/VmHWM:\\s*(\\d+)/)[1])"`);
  const reported = /Maximum resident set size \(kbytes\): (\d+)/.exec(readFileSync(t, 'utf8'));
  if (!reported) throw new Error('time -v printed no maximum resident set size');
  // A power of two: the page-size confusion, not noise between two readings.
  return 2 ** Math.round(Math.log2(Number(reported[1]) / Number(hwm)));
}
const RSS_FACTOR = rssFactor();

/** busybox `time -v`: wall seconds and peak RSS (MB, corrected) of one command run in netns `ns`. */
function timed(ns, command, stdin = '/dev/null', stdout = '/dev/null') {
  const t = join(dir, 'time');
  sh(`ip netns exec ${ns} busybox time -v -o ${t} ${command} <${stdin} >${stdout} 2>${join(dir, 'err')}`);
  const text = readFileSync(t, 'utf8');
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+)h )?(\d+)m ([\d.]+)s/.exec(text);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(text);
  if (!wall || !rss) throw new Error(`unexpected time output: ${text}`);
  const err = readFileSync(join(dir, 'err'), 'utf8');
  if (err) throw new Error(`${command}: ${err}`);
  return { s: Number(wall[1] || 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]), mb: Number(rss[1]) / RSS_FACTOR / 1024 };
}

let netnsCount = 0;
function freshNetns() {
  const ns = `bench${Date.now() % 100000}n${netnsCount++}`;
  sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
  return ns;
}

const sorted = (text) => text.split('\n').filter(Boolean).sort().join('\n');
const ratio = (ref, ours) => `${(ref / ours).toFixed(2)}x`;
const fmt = (m) => `${m.s.toFixed(2)} s / ${m.mb.toFixed(0)} MB`;

const kernel = sh('uname -r').trim();
const lines = [`### ${kernel}`, '', '| set | operation | reference | ours | speed-up (ref/ours) |', '|---|---|---|---|---|'];
let failures = 0;
for (const set of SETS.filter((s) => only.length === 0 || only.includes(s.name))) {
  const file = join(dir, `${set.name}.rules`);
  const input = rules(set);
  writeFileSync(file, input);
  const m = {};
  for (const tool of ['ref', 'ours']) {
    const ns = freshNetns();
    try {
      m[`restore-${tool}`] = timed(ns, `${tool === 'ref' ? REF : OURS} -R`, file);
      const saved = sh(`ip netns exec ${ns} ${REF} -S -n`);
      if (sorted(saved) !== sorted(input)) {
        failures++;
        process.stdout.write(`!! ${set.name}: after the ${tool} restore the reference's -S -n differs from the input\n`);
      }
      for (const lister of ['ref', 'ours']) {
        for (const what of ['-S -n', '-L -n']) {
          const key = `${what}-${lister}`;
          const r = timed(ns, `${lister === 'ref' ? REF : OURS} ${what}`);
          // Each table is listed twice (once per restore); keep the better of the two runs.
          if (!m[key] || r.s < m[key].s) m[key] = r;
        }
      }
    } finally {
      sh(`ip netns del ${ns}`);
    }
  }
  const label = `${set.name} (${set.services} x ${set.dests})`;
  lines.push(`| ${label} | restore (-R) | ${fmt(m['restore-ref'])} | ${fmt(m['restore-ours'])} | ${ratio(m['restore-ref'].s, m['restore-ours'].s)} |`);
  for (const what of ['-S -n', '-L -n']) {
    lines.push(`| ${label} | ${what} | ${fmt(m[`${what}-ref`])} | ${fmt(m[`${what}-ours`])} | ${ratio(m[`${what}-ref`].s, m[`${what}-ours`].s)} |`);
  }
  process.stdout.write(`${lines.slice(-3).join('\n')}\n`);
}

if (!args.includes('--no-commands')) {
  // One command: COMMANDS sequential `ipvsadm -a` processes each for the reference, ours and
  // `node -e 0`, in ROUNDS interleaved blocks (the order turning each round), so that the
  // emulator's drift over the minutes this takes weighs on all three alike.
  const ROUNDS = 10;
  const tools = ['ref', 'ours', 'node'];
  const loop = (command, from, to) => {
    const script = join(dir, 'loop.sh');
    const body = [];
    for (let i = from; i < to; i++) body.push(command(i));
    writeFileSync(script, `${body.join('\n')}\n`);
    return script;
  };
  const cost = { ref: { s: 0 }, ours: { s: 0 }, node: { s: 0 } };
  // ours / node -e 0 per round: the emulator's speed drifts, and the spread shows by how much.
  const roundRatios = [];
  const ns = {};
  try {
    for (const tool of tools) {
      ns[tool] = freshNetns();
      sh(`ip netns exec ${ns[tool]} ${REF} -A -t 10.0.0.1:80`);
    }
    for (let round = 0; round < ROUNDS; round++) {
      const [from, to] = [Math.floor((COMMANDS * round) / ROUNDS), Math.floor((COMMANDS * (round + 1)) / ROUNDS)];
      const spent = {};
      for (let k = 0; k < tools.length; k++) {
        const tool = tools[(round + k) % tools.length];
        const bin = tool === 'ref' ? REF : OURS;
        const script =
          tool === 'node'
            ? loop(() => 'node -e 0', from, to)
            : loop((i) => `${bin} -a -t 10.0.0.1:80 -r ${ip4([172, 16], i + 1)} -m`, from, to);
        spent[tool] = timed(ns[tool], `/bin/sh ${script}`).s;
        cost[tool].s += spent[tool];
      }
      roundRatios.push(spent.ours / spent.node);
    }
    for (const tool of ['ref', 'ours']) {
      const n = sh(`ip netns exec ${ns[tool]} ${REF} -S -n`).split('\n').filter((l) => l.startsWith('-a ')).length;
      if (n !== COMMANDS) {
        failures++;
        process.stdout.write(`!! one command: ${tool} left ${n} real servers, not ${COMMANDS}\n`);
      }
    }
  } finally {
    for (const name of Object.values(ns)) sh(`ip netns del ${name}`);
  }
  const per = (m) => `${((m.s / COMMANDS) * 1000).toFixed(0)} ms`;
  lines.push(`| one command | ${COMMANDS} x \`ipvsadm -a\` | ${per(cost.ref)} each | ${per(cost.ours)} each | ${ratio(cost.ref.s, cost.ours.s)} |`);
  const r = roundRatios.sort((a, b) => a - b).map((x) => x.toFixed(2));
  lines.push(
    '',
    `One command of ours costs ${(cost.ours.s / cost.node.s).toFixed(2)}x a bare \`node -e 0\` (${per(cost.node)} each);` +
      ` round by round ${r[0]}-${r[r.length - 1]}x, median ${r[r.length >> 1]}x.`,
  );
}
lines.push('', `Peak RSS is busybox time's figure divided by ${RSS_FACTOR}, the factor measured against VmHWM.`);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`\n${lines.join('\n')}\n`);
if (failures) {
  process.stdout.write(`${failures} check(s) failed\n`);
  process.exitCode = 1;
}
