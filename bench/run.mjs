#!/usr/bin/env node
// `npm run bench`: boots the VM once per kernel (6.1, 6.12) and runs bench/guest.mjs there: the
// reference ipvsadm and ours side by side on S1 = 1,000 x 10, S2 = 10,000 x 1 and
// S3 = 2,000 x 50 rules, plus the cost of one command. Prints one markdown table per kernel.
//
//   npm run bench [-- --kernel 6.12] [-- S3] [-- --no-commands]
//   BENCH_COMMANDS=200 (the number of sequential single commands timed)
import { KERNELS, runInVm } from '../test/vm/vm.mjs';

const argv = process.argv.slice(2);
const k = argv.indexOf('--kernel');
const kernels = k >= 0 ? [argv[k + 1]] : Object.keys(KERNELS);
const pass = argv.filter((a, i) => a !== '--kernel' && (k < 0 || i !== k + 1));
const env = process.env.BENCH_COMMANDS ? `BENCH_COMMANDS=${Number(process.env.BENCH_COMMANDS)} ` : '';
let status = 0;
for (const kernel of kernels) {
  const res = await runInVm(kernel, `${env}node bench/guest.mjs ${pass.join(' ')}`, { timeout: 3600, writeback: false });
  if (res.status !== 0) {
    process.stderr.write(`bench: kernel ${kernel} exited ${res.status}${res.error ? `: ${res.error}` : ''}\n`);
    status = 1;
  }
}
process.exitCode = status;
