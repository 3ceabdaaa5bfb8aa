#!/usr/bin/env node
// Runs the compiled kernel tests (dist/test/kernel/**/*.test.js, node:test) inside
// one VM per kernel (6.1, then 6.12) and sums up.
//
//   node test/vm/kernel-suite.mjs [--kernel 6.1|6.12|all] [--timeout S] [--smp N] [file-or-substring ...]
//   KERNELS=6.1 node test/vm/kernel-suite.mjs
//
// The last line of output is exactly "N passed, N failed" (totals over the kernels).
// Exit status is non-zero if a kernel could not boot or run, ran zero tests, or
// any test failed. Expects `npm run build` to have been run (npm run test:kernel does).

import fs from 'node:fs';
import path from 'node:path';
import { BED_FAILURE, BedError, KERNELS, ROOT, ensureBed, runInVm, setVerbose } from './vm.mjs';

const TEST_DIR = path.join(ROOT, 'dist', 'test', 'kernel');

function parseArgs(argv) {
  const o = { filters: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (a === '--') { o.filters.push(...argv.slice(i + 1)); break; }
    if (m) {
      if (m[1] === 'verbose') o.verbose = true;
      else o[m[1]] = m[2] ?? argv[++i];
    } else o.filters.push(a);
  }
  return o;
}

function findTests(filters) {
  const out = [];
  const walk = (d) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && e.name.endsWith('.test.js')) out.push(path.relative(ROOT, p).split(path.sep).join('/'));
    }
  };
  walk(TEST_DIR);
  out.sort();
  if (!filters.length) return out;
  return out.filter((f) => filters.some((x) => f.includes(x.replace(/\.ts$/, '').replace(/^test\//, ''))));
}

/** Last value of a spec-reporter summary line such as "ℹ pass 9". */
function summaryValue(text, key) {
  const re = new RegExp(`^\\S* ?${key} (\\d+)\\s*$`, 'gm');
  let m, v = null;
  while ((m = re.exec(text))) v = Number(m[1]);
  return v;
}

const fmt = (ms) => (ms == null ? '-' : `${(ms / 1000).toFixed(1)} s`);
const shq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.verbose) setVerbose(true);
  const sel = o.kernel || process.env.KERNELS || 'all';
  const kernels = sel === 'all' ? Object.keys(KERNELS) : sel.split(/[ ,]+/).filter(Boolean);
  for (const k of kernels) if (!KERNELS[k]) throw new BedError(`unknown kernel ${k} (choose ${Object.keys(KERNELS).join(', ')})`);
  const timeout = Number(o.timeout || process.env.VM_TIMEOUT || 1800);

  const files = findTests(o.filters);
  if (!files.length) {
    process.stdout.write(`kernel-suite: no compiled kernel tests matched under ${path.relative(ROOT, TEST_DIR)}/ (run npm run build)\n0 passed, 1 failed\n`);
    return 1;
  }
  const command = ['node', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files.map(shq)].join(' ');

  const results = [];
  for (const kernel of kernels) {
    const tBuild = Date.now();
    let bed;
    try {
      bed = ensureBed(kernel);
    } catch (e) {
      results.push({ kernel, error: `bed build failed: ${e.message}`, pass: 0, fail: 0 });
      process.stdout.write(`\n=== kernel ${kernel}: BED BUILD FAILED: ${e.message}\n`);
      continue;
    }
    const buildMs = Date.now() - tBuild;
    process.stdout.write(`\n=== kernel ${kernel}: ${bed.kernel.pkg} ${bed.kernel.version} (${bed.kernel.release}), ${files.length} test file(s)\n`);
    let captured = '';
    const res = await runInVm(kernel, command, {
      bed, timeout, smp: o.smp ? Number(o.smp) : undefined,
      onOutput: (b) => { captured += b.toString('utf8'); process.stdout.write(b); },
    });
    for (const f of res.writeback) process.stdout.write(`(wrote back ${f})\n`);
    const tests = summaryValue(captured, 'tests');
    const pass = summaryValue(captured, 'pass') ?? 0;
    const fail = (summaryValue(captured, 'fail') ?? 0) + (summaryValue(captured, 'cancelled') ?? 0);
    const skipped = (summaryValue(captured, 'skipped') ?? 0) + (summaryValue(captured, 'todo') ?? 0);
    const r = { kernel, bed, res, buildMs, tests, pass, fail, skipped };
    if (res.status === BED_FAILURE && res.error) {
      r.error = res.error;
      process.stdout.write(`\n!!! kernel ${kernel}: the VM failed: ${res.error}\n${res.diagnostics}\n`);
    } else if (tests == null) r.error = `no node:test summary in the output (exit status ${res.status})`;
    else if (tests === 0 || pass + fail === 0) r.error = 'zero tests ran';
    else if (res.status !== 0 && fail === 0) r.error = `node --test exited ${res.status} without a failing test`;
    results.push(r);
  }

  process.stdout.write('\n=== kernel suite summary\n');
  let passed = 0, failed = 0;
  for (const r of results) {
    passed += r.pass;
    failed += r.fail + (r.error ? 1 : 0);
    const name = r.bed ? `${r.kernel} (${r.bed.kernel.pkg} ${r.bed.kernel.version})` : r.kernel;
    const figs = `${r.pass} passed, ${r.fail} failed, ${r.skipped ?? 0} skipped`;
    const times = r.res ? `; bed check ${fmt(r.buildMs)}, boot ${fmt(r.res.bootMs)}, tests ${fmt(r.res.cmdMs)}, VM total ${fmt(r.res.totalMs)}` : '';
    process.stdout.write(`${name}: ${figs}${times}${r.error ? `  -- KERNEL FAILED: ${r.error} (counted as 1 failure)` : ''}\n`);
    // Hung boots were retried; their cause belongs in the summary, the part of a log people read.
    for (const h of r.res?.hungBoots ?? []) process.stdout.write(`  ${r.kernel}: booted again after: ${h}\n`);
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 && results.length > 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`kernel-suite: ERROR: ${e instanceof BedError ? e.message : e.stack}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exitCode = 1;
});
