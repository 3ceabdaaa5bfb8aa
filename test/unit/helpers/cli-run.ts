/**
 * Runs the command line in-process (src/cli/main.ts) against a fake kernel and collects what a
 * terminal or a pipe would have received: stdout, stderr, both interleaved as written, and the
 * exit status.
 */
import { readFileSync } from 'node:fs';
import { main, type CliIo, type IpvsLike } from '../../../src/cli/main.js';
import { SystemResolver } from '../../../src/cli/resolver.js';
import type { Resolver } from '../../../src/cli/types.js';
import { FakeIpvs } from './fake-ipvs.js';

/** Debian 12's /etc/services (netbase 6.4), as on the reference VM. */
export const ETC_SERVICES = readFileSync(new URL('../fixtures/etc-services', import.meta.url), 'utf8');

/** A files-only resolver over the given /etc/hosts text and Debian's /etc/services. */
export function filesResolver(hosts = '127.0.0.1 localhost\n'): SystemResolver {
  return new SystemResolver({
    readFile: (path) => {
      if (path === '/etc/hosts') return hosts;
      if (path === '/etc/services') return ETC_SERVICES;
      throw new Error(`ENOENT: ${path}`);
    },
    fallback: null,
  });
}

export interface RunResult {
  out: string;
  err: string;
  /** stdout and stderr in the order the bytes reached the (shared) file. */
  both: string;
  /** The size of every write to stdout, in order. */
  stdoutWrites: number[];
  rc: number;
}

export interface RunOptions {
  argv0?: string;
  /** stdin for -R: one string, the chunks in which it arrives, or a stream of them. */
  stdin?: string | string[] | AsyncIterable<string>;
  tty?: boolean;
  /** stdout's C stdio buffer (CliIo.stdoutBlock); absent: held until the end. */
  block?: number;
  env?: Record<string, string | undefined>;
  resolver?: Resolver;
  /** /proc and other files `-L -c` reads. */
  files?: Record<string, string>;
  openKernel?: () => Promise<IpvsLike>;
  modprobe?: () => Promise<boolean>;
  /** Files `-R --input FILE` can open (others fail with ENOENT); absent: the real file system. */
  inputs?: Record<string, string>;
}

async function* chunks(parts: Iterable<string> | AsyncIterable<string>): AsyncGenerator<Buffer> {
  for await (const p of parts) yield Buffer.from(p, 'utf8');
}

/** A CliIo whose output lands in the returned collectors. */
export function testIo(kernel: IpvsLike | undefined, o: RunOptions = {}): { io: CliIo; result: () => Omit<RunResult, 'rc'> } {
  // Bytes, decoded at the end: a stdout block may end inside a character.
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const both: Buffer[] = [];
  const stdoutWrites: number[] = [];
  const stdin = o.stdin === undefined ? [] : typeof o.stdin === 'string' ? [o.stdin] : o.stdin;
  const files = o.files ?? {};
  const io: CliIo = {
    argv0: o.argv0 ?? 'ipvsadm',
    stdin: chunks(stdin),
    stdout: {
      write: (t: string | Uint8Array) => {
        const b = Buffer.from(t);
        stdoutWrites.push(b.length);
        out.push(b);
        both.push(b);
        return true;
      },
    },
    stderr: {
      write: (t: string | Uint8Array) => {
        const b = Buffer.from(t);
        err.push(b);
        both.push(b);
        return true;
      },
    },
    env: o.env ?? {},
    stdoutIsTTY: o.tty ?? false,
    ...(o.block !== undefined && { stdoutBlock: o.block }),
    openKernel:
      o.openKernel ??
      (async () => {
        if (!kernel) throw new Error('no kernel');
        return kernel;
      }),
    readFile: (path) => {
      const text = files[path];
      if (text === undefined) throw new Error(`ENOENT: ${path}`);
      return text;
    },
    resolver: o.resolver ?? filesResolver(),
  };
  if (o.modprobe) io.modprobe = o.modprobe;
  const inputs = o.inputs;
  if (inputs) {
    io.openInput = async (path) => {
      const text = inputs[path];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return chunks([text]);
    };
  }
  const text = (parts: Buffer[]): string => Buffer.concat(parts).toString('utf8');
  return { io, result: () => ({ out: text(out), err: text(err), both: text(both), stdoutWrites }) };
}

/** `ipvsadm <argv>` against `kernel`. */
export async function run(kernel: IpvsLike | undefined, argv: string[], o: RunOptions = {}): Promise<RunResult> {
  const { io, result } = testIo(kernel, o);
  const rc = await main(argv, io);
  return { ...result(), rc };
}

/** Splits a command line on blanks (no quoting needed by the tests that use it). */
export function argv(line: string): string[] {
  return line.split(/\s+/).filter((w) => w !== '');
}

/** A fake kernel with the given command lines already applied (each must succeed), its call log cleared. */
export async function kernelWith(...lines: string[]): Promise<FakeIpvs> {
  const k = new FakeIpvs();
  for (const l of lines) {
    const r = await run(k, argv(l));
    if (r.rc !== 0) throw new Error(`setup "${l}" failed: ${r.err}`);
  }
  k.calls.length = 0;
  return k;
}

export { FakeIpvs };
