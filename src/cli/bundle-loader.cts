/**
 * Loads the one-file bundle of the command-line programs (dist/ipvsadm.cjs) with a V8 code
 * cache beside it. Compiling the bundle is a large part of a single command's start-up on a
 * slow machine; a cache is written by the first run of its kind that finds it missing or stale,
 * only where the bundle itself lies (never a shared temporary directory, which another user
 * could fill).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module = require('node:module');
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** The programs' entry points (src/cli/system.ts): what bin/ipvsadm, -save and -restore run. */
export interface Programs {
  runIpvsadm(): Promise<void>;
  runSave(): Promise<void>;
  runRestore(): Promise<void>;
}

/**
 * The program and its first option (`ipvsadm.a`, `ipvsadm.R`, `ipvsadm-save.n`): V8 caches the
 * functions a run compiled, and a restore compiles others than an `-a`, so each kind of command
 * keeps its own cache.
 */
function commandKind(): string {
  const program = basename(process.argv[1] ?? '').replace(/[^A-Za-z-]/g, '') || 'ipvsadm';
  const option = /^--([a-z][a-z-]{0,15})|^-([A-Za-z])/.exec(process.argv[2] ?? '');
  return option ? `${program}.${option[1] ?? option[2]}` : program;
}

/** `dist/ipvsadm.cjs`, compiled from the cache when V8 accepts it; ipvsadm's bin/ entries call this. */
export function loadPrograms(): Programs {
  const file = join(__dirname, '..', '..', 'ipvsadm.cjs');
  const cacheFile = `${file}.${process.version}.${commandKind()}.cache`;
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // first run, or the cache was removed
  }
  // The build turns the bundle's lazy import()s into require()s: a script compiled from a cache
  // has no dynamic-import callback on Node 20.
  const script = new Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected === true) {
    // At exit the cache also holds what this run compiled lazily: the functions a command uses.
    process.once('exit', () => {
      const temporary = `${cacheFile}.${process.pid}`;
      try {
        writeFileSync(temporary, script.createCachedData());
        renameSync(temporary, cacheFile);
      } catch {
        // A read-only installation runs without a cache.
        rmSync(temporary, { force: true });
      }
    });
  }
  const exports = {};
  const module = { exports };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(exports, exports, Module.createRequire(file), module, file, dirname(file));
  return module.exports as Programs;
}
