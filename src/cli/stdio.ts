/**
 * The process's standard descriptors without Node's stream objects: `process.stdout` alone loads
 * some twenty internal modules (streams, net, tty), a visible part of a single command's cost.
 * Writes are synchronous, as C's stdio writes are; stdin is read synchronously when it is a
 * regular file (no thread-pool round trip per chunk) and through `process.stdin` otherwise.
 */
import { fstatSync, readSync, writeSync, type Stats } from 'node:fs';
import type { TextSink } from './main.js';

/** How a closed stdout pipe ends the C program: killed by SIGPIPE. */
const SIGPIPE_STATUS = 128 + 13;

function errnoCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** The Node streams sinks fell back to (descriptorSink): they may still hold text. */
const fallbacks = new Set<NodeJS.WriteStream>();

/** Whether everything written to the sinks has reached its descriptor. */
export function outputSettled(): boolean {
  for (const stream of fallbacks) if (stream.writableLength > 0) return false;
  return true;
}

/**
 * fd 1 or 2 as a sink. A descriptor left non-blocking by whoever shares it can refuse a write
 * (EAGAIN): from then on the rest goes through Node's stream, in order.
 */
export function descriptorSink(fd: 1 | 2): TextSink {
  let stream: NodeJS.WriteStream | undefined;
  return {
    write(text: string | Uint8Array) {
      if (stream) return stream.write(text);
      const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
      let done = 0;
      while (done < bytes.length) {
        try {
          done += writeSync(fd, bytes, done);
        } catch (e) {
          const code = errnoCode(e);
          if (code === 'EAGAIN') {
            stream = fd === 1 ? process.stdout : process.stderr;
            fallbacks.add(stream);
            return stream.write(bytes.subarray(done));
          }
          if (code === 'EPIPE' && fd === 1) process.exit(SIGPIPE_STATUS);
          return false; // stderr gone or another failure: nothing left to tell it to
        }
      }
      return true;
    },
  };
}

/** Linux's memory devices (/dev/null, /dev/zero, /dev/full, /dev/urandom, …): never terminals. */
const MEMORY_DEVICES_MAJOR = 1;

/** The major number of a device number, as glibc's major() splits it. */
export function deviceMajor(rdev: number): number {
  return ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
}

/** How C stdio buffers one standard descriptor. */
export interface StdioMode {
  tty: boolean;
  block: number | undefined;
}

/**
 * What C stdio makes of `fd`, from one fstat: a terminal (written as it comes), or a fully
 * buffered stream whose buffer glibc sizes at st_blksize when that is below BUFSIZ (8192), else
 * BUFSIZ. The tty module (with net and streams: ~60 ms under emulation) is loaded only for a
 * character device that may be a terminal, so not for the `>/dev/null` of scripts; a descriptor
 * that cannot be examined is neither, with no block size.
 */
export function stdioMode(fd: number): StdioMode {
  let stat: Stats;
  try {
    stat = fstatSync(fd);
  } catch {
    return { tty: false, block: undefined };
  }
  if (stat.isCharacterDevice() && deviceMajor(stat.rdev) !== MEMORY_DEVICES_MAJOR) {
    const { isatty } = process.getBuiltinModule('node:tty');
    if (isatty(fd)) return { tty: true, block: undefined };
  }
  return { tty: false, block: stat.blksize > 0 && stat.blksize < 8192 ? stat.blksize : 8192 };
}

/** Chunks of a regular-file stdin read synchronously. */
const FILE_CHUNK = 256 * 1024;

/** stdin as chunks, touched only when iterated (only `-R` reads it). */
export const stdinChunks: AsyncIterable<Uint8Array> = {
  [Symbol.asyncIterator]: () => {
    let regular = false;
    try {
      regular = fstatSync(0).isFile();
    } catch {
      // not open: the stream reports it
    }
    return regular ? fileChunks() : (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  },
};

async function* fileChunks(): AsyncGenerator<Uint8Array> {
  for (;;) {
    const buf = Buffer.allocUnsafe(FILE_CHUNK);
    const n = readSync(0, buf, 0, FILE_CHUNK, null);
    if (n === 0) return;
    yield buf.subarray(0, n);
  }
}
