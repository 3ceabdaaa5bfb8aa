/**
 * Debian's `ipvsadm-restore` (spec §9), in-process: reads all of stdin, drops the lines that
 * start with `#`, clears the table (`ipvsadm -C`, before anything is parsed), then feeds the rest
 * to `ipvsadm -R`, whose status is the script's. Arguments are ignored.
 *
 * The text handed to `-R` is what the shell script's `echo "$(grep -v '^#')"` produces: trailing
 * newlines removed, one newline added (so empty input is one empty line).
 *
 * Extension: `--keep-going` or `--stop-on-error` among the arguments (the last one wins) is
 * passed on to `-R`; then `#` lines become empty lines instead of disappearing, so that the
 * `<stdin>:LINE:` of a report is the line number in the script's own input.
 */
import { main, type CliIo } from './main.js';

async function readAll(stdin: AsyncIterable<string | Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of stdin) {
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk));
  }
  return Buffer.concat(parts);
}

/** `grep -v '^#'` then `$(…)` and `echo`: the exact bytes `ipvsadm -R` receives. */
export function restoreScriptInput(input: Uint8Array, keepLineNumbers = false): Buffer {
  const text = Buffer.from(input).toString('latin1');
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const kept = (keepLineNumbers ? lines.map((l) => (l.startsWith('#') ? '' : l)) : lines.filter((l) => !l.startsWith('#'))).join('\n');
  return Buffer.from(`${kept.replace(/\n+$/, '')}\n`, 'latin1');
}

async function* once(data: Buffer): AsyncGenerator<Buffer> {
  yield data;
}

async function* nothing(): AsyncGenerator<Buffer> {
  // `ipvsadm -C` does not read stdin.
}

/** Runs the script; `io.argv0` is the argv0 of the inner `ipvsadm` runs. */
export async function restoreScript(args: string[], io: CliIo): Promise<number> {
  const mode = args.filter((a) => a === '--keep-going' || a === '--stop-on-error').pop();
  const input = restoreScriptInput(await readAll(io.stdin), mode !== undefined);
  await main(['-C'], { ...io, stdin: nothing() });
  return main(mode === undefined ? ['-R'] : ['-R', mode], { ...io, stdin: once(input) });
}
