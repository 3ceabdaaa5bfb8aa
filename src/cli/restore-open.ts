/**
 * Where `-R` reads from with the `--input FILE` extension: the named file, or stdin for `-` or
 * without the option, and the name reports give it (`FILE`, or `<stdin>`).
 */
import { strerror } from './errors.js';
import type { CliIo } from './main.js';
import { STDIN_NAME } from './restore-report.js';

/** An opened `-R` input (ipvsadm's stdin, or `--input FILE`) and its name in `SOURCE:LINE:` reports. */
export interface RestoreInput {
  input: AsyncIterable<string | Uint8Array>;
  source: string;
}

/** The strerror text of a Node file-system error (`ENOENT` → `No such file or directory`). */
function reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  // node:os only here, on a failure: loading it costs every command's start-up otherwise.
  const { constants } = process.getBuiltinModule('node:os');
  const errno = typeof code === 'string' ? (constants.errno as Record<string, number | undefined>)[code] : undefined;
  if (errno !== undefined) return strerror(errno);
  return e instanceof Error ? e.message : String(e);
}

async function openWithFs(path: string): Promise<AsyncIterable<Uint8Array>> {
  const { open } = await import('node:fs/promises');
  const handle = await open(path, 'r');
  // A directory opens fine and fails on the first read; ask now so the error comes before any line runs.
  if ((await handle.stat()).isDirectory()) {
    await handle.close();
    throw Object.assign(new Error(`EISDIR: ${path}`), { code: 'EISDIR' });
  }
  return handle.createReadStream();
}

/**
 * `-R [--input FILE]` (extension of ipvsadm's `-R`, which reads only stdin): opens FILE, or
 * takes stdin when `path` is undefined or `-`. On failure, the line to print:
 * `cannot open file FILE: <strerror>` (after `-L -c`'s `cannot open file /proc/net/ip_vs_conn`).
 */
export async function openRestoreInput(io: CliIo, path: string | undefined): Promise<RestoreInput | { error: string }> {
  if (path === undefined || path === '-') return { input: io.stdin, source: STDIN_NAME };
  try {
    return { input: await (io.openInput ?? openWithFs)(path), source: path };
  } catch (e) {
    return { error: `cannot open file ${path}: ${reason(e)}` };
  }
}
