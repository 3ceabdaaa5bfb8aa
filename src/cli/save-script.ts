/**
 * Debian's `ipvsadm-save [-n]` (spec §9), in-process: `-n` (any number of times) selects numeric
 * output, any other argument starting with `-` prints the usage to stderr and exits 1, other
 * arguments are ignored; then it is `ipvsadm -S [-n]`, with that run's output and status.
 *
 * Extension: `--lossless` (any number of times) is passed on, `ipvsadm -S [-n] --lossless`.
 */
import { main, type CliIo } from './main.js';

/** The usage text, naming the script by `scriptName` (its base name). */
export function saveUsage(scriptName: string): string {
  return (
    `${scriptName}: Script to save the IPVS table to stdout.\n` +
    '   With the -n option, prints out the table in numeric format.\n'
  );
}

/** Runs the script with `args`; `io.argv0` is the argv0 of the inner `ipvsadm` run. */
export async function saveScript(args: string[], io: CliIo & { scriptName: string }): Promise<number> {
  let numeric = false;
  let lossless = false;
  for (const a of args) {
    if (a === '-n') numeric = true;
    else if (a === '--lossless') lossless = true;
    else if (a.startsWith('-')) {
      io.stderr.write(saveUsage(io.scriptName));
      return 1;
    }
  }
  const argv = numeric ? ['-S', '-n'] : ['-S'];
  if (lossless) argv.push('--lossless');
  return main(argv, io);
}
