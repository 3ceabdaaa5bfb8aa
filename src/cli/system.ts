/**
 * The real surroundings of the command-line programs: process stdio, the kernel (`Ipvs.open`,
 * loaded only when needed), /proc, `/sbin/modprobe`, and the name the program was invoked by.
 * The executables in bin/ are thin calls of `runIpvsadm`, `runSave` and `runRestore`.
 */
import { accessSync, constants as fsConstants, readFileSync } from 'node:fs';
import { basename, delimiter, isAbsolute, join, resolve } from 'node:path';
import { main, type CliIo, type IpvsLike } from './main.js';
import { descriptorSink, outputSettled, stdinChunks, stdioMode, type StdioMode } from './stdio.js';

/**
 * argv[0] as the user typed it, as far as it can be recovered. A script started through its
 * `#!` line loses argv[0]: the kernel hands the interpreter the path it executed instead
 * (`./ipvsadm`, `/tmp/lvs`, or for a bare `ipvsadm` the full path the shell found in PATH). So:
 * the path as passed (from /proc/self/cmdline, before Node makes it absolute), and when it is
 * exactly what a PATH search for its base name finds first, the bare name the user most likely
 * typed. Only the "Try …" line and the help text show it.
 */
export function invokedName(fallback = 'ipvsadm'): string {
  const resolved = process.argv[1];
  if (resolved === undefined) return fallback;
  let raw = resolved;
  try {
    const parts = readFileSync('/proc/self/cmdline', 'utf8').split('\0');
    if (parts[parts.length - 1] === '') parts.pop();
    const candidate = parts[parts.length - 1 - (process.argv.length - 2)];
    if (candidate !== undefined && resolve(candidate) === resolved) raw = candidate;
  } catch {
    // No /proc: the absolute path it is.
  }
  if (!isAbsolute(raw)) return raw;
  const name = basename(raw);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const found = join(dir, name);
    try {
      accessSync(found, fsConstants.X_OK);
    } catch {
      continue;
    }
    return found === raw ? name : raw;
  }
  return raw;
}

/** `/sbin/modprobe -- ip_vs` with our stdio, as ipvsadm runs it when start-up fails; true when it exited 0. */
export async function modprobeIpvs(): Promise<boolean> {
  const { spawn } = await import('node:child_process');
  return new Promise((done) => {
    try {
      const child = spawn('/sbin/modprobe', ['--', 'ip_vs'], { stdio: 'inherit' });
      child.on('error', () => done(false));
      child.on('exit', (code) => done(code === 0));
    } catch {
      done(false);
    }
  });
}

async function openKernel(): Promise<IpvsLike> {
  const { Ipvs } = await import('../model/ipvs.js');
  // The programs open the socket first, before any other I/O, and start no threads that do any.
  return Ipvs.open({ ownsDescriptors: true });
}

/** The process's real CliIo; `name` gives argv0 when something first names the program (`-a` never does). */
export function processIo(name: () => string): CliIo {
  // Examined when something is printed, as glibc does at a stream's first write: `-a` never is.
  let stdout: StdioMode | undefined;
  const mode = (): StdioMode => (stdout ??= stdioMode(1));
  let argv0: string | undefined;
  return {
    get argv0() {
      return (argv0 ??= name());
    },
    stdin: stdinChunks,
    stdout: descriptorSink(1),
    stderr: descriptorSink(2),
    env: process.env,
    get stdoutIsTTY() {
      return mode().tty;
    },
    get stdoutBlock() {
      return mode().block;
    },
    openKernel,
    readFile: (path) => readFileSync(path, 'utf8'),
    modprobe: modprobeIpvs,
    bulk: keepYoungGenerationSmall,
  };
}

/**
 * V8 doubles its young generation, up to 2 x 16 MB, each time enough has survived scavenges;
 * over a long `-R` or listing that always happens, though little stays alive at once. Growth
 * factor 1 keeps it at its first size. Under emulation, S3 `-R` peaked at 63 MB instead of
 * 84-88 MB, no slower. (The flag is read at each growth, so setting it now takes effect.)
 */
function keepYoungGenerationSmall(): void {
  const { setFlagsFromString } = process.getBuiltinModule('node:v8');
  setFlagsFromString('--semi-space-growth-factor=1');
}

/**
 * Runs a program body and exits with its status. A closed stdout pipe ends the process as
 * SIGPIPE would end the C program (status 141, see descriptorSink), without a stack trace.
 */
export async function runProgram(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (e) {
    // main() does not throw; this is the last line of defence.
    const name = basename(process.argv[1] ?? 'ipvsadm');
    descriptorSink(2).write(`${name}: internal error: ${String(e).replace(/\n/g, ' ')}\n`);
    process.exitCode = 255;
  }
  // As C's exit() does, once all output is out: Node's own ending frees the environment and the
  // heap first (~10-20 ms of a one-command run under emulation).
  if (outputSettled()) process.exit();
}

/** bin/ipvsadm. */
export async function runIpvsadm(): Promise<void> {
  await runProgram(() => main(process.argv.slice(2), processIo(invokedName)));
}

/** bin/ipvsadm-save. */
export async function runSave(): Promise<void> {
  const { saveScript } = await import('./save-script.js');
  const name = basename(invokedName('ipvsadm-save'));
  await runProgram(() => saveScript(process.argv.slice(2), { ...processIo(() => 'ipvsadm'), scriptName: name }));
}

/** bin/ipvsadm-restore. */
export async function runRestore(): Promise<void> {
  const { restoreScript } = await import('./restore-script.js');
  await runProgram(() => restoreScript(process.argv.slice(2), processIo(() => 'ipvsadm')));
}
