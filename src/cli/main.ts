/**
 * The `ipvsadm` program: start-up, one command (or `-R`'s stream of them), output and exit
 * status, exactly as Debian's ipvsadm 1.31 behaves (spec §1, §3, §5.1–5.2, §6).
 *
 * Everything outside the process (stdio, the kernel, files, name service) comes in through
 * `CliIo`, so tests run whole invocations in-process against a fake kernel.
 *
 * Order of a run:
 * 1. start-up: open the IPVS family and GET_INFO, before any argument is looked at (so even `-h`
 *    fails with "Can't initialize ipvs" when IPVS is unusable; modprobe and one retry if wired);
 * 2. parse (names the files cannot answer are resolved asynchronously, then the line is parsed
 *    again, so the parser stays synchronous);
 * 3. execute and print. stdout is held until the end unless it is a terminal (C stdio's block
 *    buffering: all stderr text precedes all stdout text), stderr is written at once.
 */
import type { Ipvs, ServiceWithDestinations } from '../model/ipvs.js';
import type { OpResult } from '../model/index.js';
import type { IpvsInfo, ServiceEntry, ServiceKey } from '../wire/index.js';
import {
  EXIT,
  initErrno,
  initFailureText,
  ipvsErrorText,
  kernelErrno,
  RUNTIME,
  tryHelpText,
  type ErrorContext,
} from './errors.js';
import {
  helpText,
  renderConnections,
  renderDaemons,
  renderHeader,
  renderListing,
  renderSave,
  renderServices,
  renderTitle,
  renderTimeouts,
  versionText,
} from './format-text.js';
import { isUsageError, parseCommandLine } from './parse.js';
import { isPreparable, SystemResolver } from './resolver.js';
import { RestoreBatches } from './restore-batches.js';
import { fastModification } from './restore-fast.js';
import { inputLineGroups, restoreTokens } from './restore-input.js';
import { modificationOf, type Modification } from './modifications.js';
import { openRestoreInput } from './restore-open.js';
import { ReportingRestore, type RestoreHost } from './restore-report.js';
import { renderLosslessSave, type LosslessTable } from './save-lossless.js';
import { sortDestinations, sortServices } from './sort.js';
import type { Command, ListFormat, Resolver, RestoreMode, UsageError } from './types.js';
import {
  buildConnectionsView,
  buildDaemonsView,
  buildListingView,
  buildTimeoutsView,
  headerView,
  saveFormat,
  type ListingView,
} from './view.js';

/** The part of the `Ipvs` library the command line uses (tests pass a fake). */
export type IpvsLike = Pick<
  Ipvs,
  | 'info'
  | 'services'
  | 'getService'
  | 'destinations'
  | 'destinationsOfEach'
  | 'addService'
  | 'editService'
  | 'deleteService'
  | 'addDestination'
  | 'editDestination'
  | 'deleteDestination'
  | 'flush'
  | 'zero'
  | 'getTimeouts'
  | 'setTimeouts'
  | 'daemons'
  | 'startDaemon'
  | 'stopDaemon'
  | 'apply'
  | 'close'
>;

/** Where text goes: `process.stdout` / `process.stderr` or a test's collector. */
export interface TextSink {
  /** Bytes come only in stdout's blocks (CliIo.stdoutBlock), which may end inside a character. */
  write(text: string | Uint8Array): unknown;
}

/** Everything a run needs from outside the process. */
export interface CliIo {
  /** argv[0] as invoked: the "Try …" line and the help text name it (read only for those). */
  readonly argv0: string;
  /** `-R` reads it line by line, as it arrives. */
  stdin: AsyncIterable<string | Uint8Array>;
  stdout: TextSink;
  stderr: TextSink;
  /** Only POSIXLY_CORRECT / POSIX_ME_HARDER are consulted. */
  env: Record<string, string | undefined>;
  /** When false, stdout is held until the run ends (spec §1.3), or in blocks (`stdoutBlock`). */
  stdoutIsTTY: boolean;
  /**
   * The buffer C stdio gives a stdout that is not a terminal: st_blksize, at most BUFSIZ (8192).
   * ipvsadm's output then reaches the file in the same blocks: a block is written when more
   * text arrives than fits, the rest at exit. Absent: everything is held until the end.
   */
  stdoutBlock?: number;
  /** Opens the IPVS family (`Ipvs.open`). */
  openKernel: () => Promise<IpvsLike>;
  /** Reads a whole file as text (`/proc/net/ip_vs_conn`); throws when it cannot be opened. */
  readFile: (path: string) => string;
  /** Name service; default: /etc/hosts, /etc/services, then the system resolver. */
  resolver?: Resolver;
  /**
   * Opens the file of `-R --input FILE` (an extension) for reading; rejects with the Node error
   * (its `code`, e.g. ENOENT) when it cannot. Absent: node:fs.
   */
  openInput?: (path: string) => Promise<AsyncIterable<Uint8Array>>;
  /**
   * Called before a command that streams a whole table (`-R`, `-S`, `-L` of every service), to
   * tune the process for it (system.ts keeps V8's young generation from growing). Absent: nothing.
   */
  bulk?: () => void;
  /**
   * `/sbin/modprobe -- ip_vs` after a failed start-up; resolves true when it exited 0, and the
   * start-up is then tried once more. Absent: no retry.
   */
  modprobe?: () => Promise<boolean>;
}

/** The connection table ipvsadm reads for `-L -c`. */
export const CONNECTIONS_FILE = '/proc/net/ip_vs_conn';

/** What one invocation (a command line, or one `-R` line) ended with. */
interface Outcome {
  status: number;
  /** The original leaves the whole process here (exit(), crash): `-R` stops reading. */
  end?: boolean;
}

const ok: Outcome = { status: EXIT.OK };

/**
 * Lines per view and text of a numeric listing: the same bytes as one service at a time, for
 * less work per service, and few enough to die young in V8's small young generation (CliIo.bulk).
 */
const PRINT_BATCH = 64;

/** stdout as C stdio handles it: straight through on a terminal, else in blocks (or held until the end when no block size is known). */
class Output {
  private held: string[] = [];
  /** In block mode: bytes of `held` plus `carry`. */
  private heldBytes = 0;
  /** In block mode: what a block write left over (under a block, maybe part of a character). */
  private carry: Buffer | undefined;
  /** Put before every error line: `FILE:LINE: ` while a reporting `-R` runs a line. */
  prefix = '';
  /** Error lines written so far. */
  errors = 0;

  constructor(private readonly io: CliIo) {}

  out(text: string): void {
    if (text === '') return;
    if (this.io.stdoutIsTTY) {
      this.io.stdout.write(text);
      return;
    }
    this.held.push(text);
    const block = this.io.stdoutBlock;
    if (block === undefined) return;
    this.heldBytes += Buffer.byteLength(text);
    // glibc's fully buffered stream, fed by printf pieces shorter than a block: a full buffer is
    // written when the next byte comes, so 1 to `block` bytes always wait. That depends only on
    // the total, not on how the text was split into calls here.
    if (this.heldBytes <= block) return;
    const all = this.takeHeld();
    const keep = ((all.length - 1) % block) + 1;
    this.io.stdout.write(all.subarray(0, all.length - keep));
    this.carry = Buffer.from(all.subarray(all.length - keep));
    this.heldBytes = keep;
  }

  /** One error line on stderr (unbuffered). */
  err(line: string): void {
    this.errors++;
    this.io.stderr.write(`${this.prefix}${line}\n`);
  }

  flush(): void {
    if (this.carry !== undefined) {
      this.io.stdout.write(this.takeHeld());
    } else if (this.held.length > 0) {
      const text = this.held.join('');
      this.held = [];
      this.io.stdout.write(text);
    }
    this.heldBytes = 0;
  }

  private takeHeld(): Buffer {
    const text = Buffer.from(this.held.join(''));
    this.held = [];
    const carry = this.carry;
    this.carry = undefined;
    return carry === undefined ? text : Buffer.concat([carry, text]);
  }
}

/** The state of one process: the kernel handle, the start-up info and the error context (§6.3). */
class Session {
  /** Which operation's texts apply to the next error; carried across `-R` lines. */
  private context: ErrorContext = 'init';

  constructor(
    private readonly io: CliIo,
    private readonly output: Output,
    private readonly kernel: IpvsLike,
    private readonly info: IpvsInfo,
    private readonly resolver: Resolver,
  ) {}

  /** One invocation: `argv` without argv0; `inRestore` when it is a line of `-R`. */
  async run(argv: string[], inRestore: boolean): Promise<Outcome> {
    const parsed = await this.parse(argv);
    if (isUsageError(parsed)) return this.refused(parsed);
    return this.execute(parsed, inRestore);
  }

  private async parse(argv: string[]): Promise<Command | UsageError> {
    const io = this.io;
    // argv0 is read through, not copied: the process's one is found with system calls (invokedName).
    const ctx = { get argv0() { return io.argv0; }, env: io.env, resolver: this.resolver };
    let parsed = parseCommandLine(argv, ctx);
    const r = this.resolver;
    // Each round answers the names the last parse asked for; a parse asks for at most one
    // name per argument, so this ends.
    for (let round = 0; isPreparable(r) && r.hasPending() && round <= argv.length; round++) {
      await r.resolvePending();
      parsed = parseCommandLine(argv, ctx);
    }
    return parsed;
  }

  private refused(e: UsageError): Outcome {
    const r = refusal(e, this.io.argv0);
    if (r.message !== undefined) this.output.err(r.message);
    return r.outcome;
  }

  private async execute(cmd: Command, inRestore: boolean): Promise<Outcome> {
    const change = modificationOf(cmd);
    if (change) return this.modify(change);
    switch (cmd.kind) {
      case 'help':
        this.output.out(helpText(this.io.argv0));
        return { status: EXIT.OK, end: true };
      case 'version':
        this.output.out(versionText());
        return { status: EXIT.OK, end: true };
      case 'restore':
        if (inRestore) {
          this.output.err(tryHelpText(this.io.argv0));
          return { status: EXIT.ERROR, end: true };
        }
        this.io.bulk?.();
        if (cmd.mode !== undefined || cmd.input !== undefined) return this.restoreWithOptions(cmd.mode, cmd.input);
        return this.restore();
      case 'save':
        this.io.bulk?.();
        if (cmd.lossless) return this.saveLossless(cmd.numeric);
        return this.listServices(saveFormat(cmd.numeric), 'save');
      case 'list':
        switch (cmd.what) {
          case 'services':
            if (cmd.service) return this.listOne(cmd.service, cmd.format);
            this.io.bulk?.();
            return this.listServices(cmd.format, 'list');
          case 'timeout':
            return this.listTimeouts();
          case 'daemon':
            return this.listDaemons();
          case 'connections':
            return this.listConnections(cmd.format);
        }
      // modificationOf() answered every other kind above.
      // falls through
      default:
        throw new Error(`no way to run ${cmd.kind}`);
    }
  }

  /** The kernel's errno for a failed operation, or the exception itself when it is not a kernel failure. */
  private errnoOf(e: unknown): number {
    const errno = kernelErrno(e);
    if (errno === undefined) throw e;
    return errno;
  }

  /** A modifying command: on a kernel error its text, status 255, and `-R` goes on. */
  private async modify(change: Modification): Promise<Outcome> {
    if (change.context) this.context = change.context;
    let result: OpResult;
    await this.kernel.apply([change.change], (_i, r) => (result = r));
    if (result === undefined) return ok;
    this.output.err(ipvsErrorText(this.errnoOf(result), this.context));
    return { status: EXIT.ERROR };
  }

  /** A listing that fails: its text (when there is one) and exit 1 for the whole process. */
  private listFailed(e: unknown, withText: boolean): Outcome {
    const errno = this.errnoOf(e);
    if (withText) this.output.err(ipvsErrorText(errno, this.context));
    return { status: EXIT.LIST_FAILED, end: true };
  }

  /** Builds a view; when it asked for names the files lack, resolves them and builds it again. */
  private async withNames<T>(build: () => T): Promise<T> {
    let view = build();
    const r = this.resolver;
    if (isPreparable(r) && r.hasPending()) {
      await r.resolvePending();
      view = build();
    }
    return view;
  }

  /**
   * `-L` (version line, titles, every service) and `-S`: the version line is printed before the
   * services are fetched; services are sorted, then each one's real servers fetched in turn. A
   * failed real-server dump prints what was complete so far and ends the process with 1.
   */
  private async listServices(format: ListFormat, how: 'list' | 'save'): Promise<Outcome> {
    if (how === 'list') this.output.out(renderHeader(headerView(this.info)));
    // Counters are decoded only for the modes that print them.
    const stats = how === 'list' && (format.mode === 'stats' || format.mode === 'rate');
    let services: ServiceEntry[];
    try {
      // The service dump sets no error context of its own.
      services = await this.kernel.services({ stats });
    } catch (e) {
      return this.listFailed(e, true);
    }
    const ordered = format.sort ? sortServices(services) : services;
    if (how === 'list') this.output.out(renderTitle(format.mode));
    // Already in display order: the view must not sort again (the comparator is not transitive).
    const unsorted = { ...format, sort: false };
    const render = (view: ListingView): string => (how === 'save' ? renderSave(view) : renderServices(view));
    // Numeric blocks are printed as they arrive, a few dozen at a time, so a big table never
    // sits in memory as views; with names, everything waits for the resolver's answers.
    const named: ServiceWithDestinations[] = [];
    let batch: ServiceWithDestinations[] = [];
    let batchLines = 0;
    const print = (): void => {
      if (batch.length > 0) this.output.out(render(buildListingView(batch, unsorted, this.resolver)));
      batch = [];
      batchLines = 0;
    };
    let failure: unknown;
    let failed = false;
    this.context = 'get-dests';
    try {
      await this.kernel.destinationsOfEach(
        ordered.map((s) => s.key),
        (i, dests) => {
          const s = ordered[i] as ServiceEntry;
          // Built field by field: a spread of 10,000 services took a quarter of a second under TCG.
          const block = { key: s.key, config: s.config, stats: s.stats, stats64: s.stats64, destinations: format.sort ? sortDestinations(dests) : dests };
          if (!format.numeric) named.push(block);
          else {
            batch.push(block);
            batchLines += 1 + dests.length;
            if (batchLines >= PRINT_BATCH) print();
          }
        },
        // -S and plain -L print nothing that /proc/net/ip_vs lacks.
        { stats, brief: how === 'save' || format.mode === 'default' },
      );
    } catch (e) {
      failure = e;
      failed = true;
    }
    print();
    if (named.length > 0) this.output.out(render(await this.withNames(() => buildListingView(named, unsorted, this.resolver))));
    return failed ? this.listFailed(failure, true) : ok;
  }

  /** `-L <service>`: fetched with GET_SERVICE before anything is printed; missing → exit 1. */
  private async listOne(key: ServiceKey, format: ListFormat): Promise<Outcome> {
    this.context = 'get-service';
    let entry: ServiceEntry;
    try {
      entry = await this.kernel.getService(key);
    } catch (e) {
      return this.listFailed(e, true);
    }
    const done: ServiceWithDestinations[] = [];
    let failure: unknown;
    let failed = false;
    this.context = 'get-dests';
    try {
      const dests = await this.kernel.destinations(entry.key);
      done.push({ ...entry, destinations: dests });
    } catch (e) {
      failure = e;
      failed = true;
    }
    const view = await this.withNames(() => buildListingView(done, format, this.resolver));
    this.output.out(renderListing(view));
    return failed ? this.listFailed(failure, true) : ok;
  }

  /** `-L --timeout`: a failure prints nothing and exits 1. */
  private async listTimeouts(): Promise<Outcome> {
    this.context = 'get-timeout';
    try {
      this.output.out(renderTimeouts(buildTimeoutsView(await this.kernel.getTimeouts())));
      return ok;
    } catch (e) {
      return this.listFailed(e, false);
    }
  }

  /** `-L --daemon`: a failure prints nothing and exits 1. */
  private async listDaemons(): Promise<Outcome> {
    this.context = 'get-daemon';
    try {
      this.output.out(renderDaemons(buildDaemonsView(await this.kernel.daemons())));
      return ok;
    } catch (e) {
      return this.listFailed(e, false);
    }
  }

  /** `-L -c`: /proc/net/ip_vs_conn, not netlink. */
  private async listConnections(format: ListFormat): Promise<Outcome> {
    let text: string;
    try {
      text = this.io.readFile(CONNECTIONS_FILE);
    } catch {
      this.output.err(RUNTIME.cannotOpenConnections);
      return { status: EXIT.LIST_FAILED, end: true };
    }
    const view = await this.withNames(() => buildConnectionsView(text, format, this.resolver));
    if (view.failure?.message !== undefined) {
      this.output.err(view.failure.message);
      return { status: view.failure.status, end: true };
    }
    this.output.out(renderConnections(view));
    return view.failure ? { status: view.failure.status, end: true } : ok;
  }

  /**
   * `-R`: every line of stdin is one invocation, with the reference's observable result (same
   * table, same stderr in the same order, same status) but pipelined: modifying lines are
   * parsed ahead into batches while the previous batch is in the kernel, and their errors are
   * printed in line order when the batch answers. Kernel and popt errors fail only their line;
   * "fail" errors, "Try …", failed listings, `-h` and `-v` end the process once everything before
   * them has been applied. Any other line (listings, `-S`) waits for the batches before it. A
   * batch is sent when it is full or when stdin has nothing more buffered, so lines typed at a
   * terminal run as they are typed. The status is the last executed line's (0 for no line).
   */
  private async restore(input: AsyncIterable<string | Uint8Array> = this.io.stdin): Promise<Outcome> {
    /** The outcome of the last line whose result is known. */
    let last: Outcome = ok;
    const run = new RestoreBatches<RestoreSlot>(this.kernel, (slot, refused) => {
      if (refused !== undefined) {
        this.output.err(refused);
        last = { status: EXIT.ERROR };
      } else if (slot) {
        if (slot.message !== undefined) this.output.err(slot.message);
        last = slot.outcome;
      } else {
        last = ok;
      }
    });
    for await (const lines of inputLineGroups(input)) {
      for (const line of lines) {
        const fast = fastModification(line);
        if (fast) {
          if (fast.context) this.context = fast.context;
          if (run.add(fast.change, this.context, undefined)) await run.send();
          continue;
        }
        const argv = restoreTokens(line);
        if (argv.length === 0) continue;
        const parsed = await this.parse(argv);
        if (isUsageError(parsed)) {
          const r = refusal(parsed, this.io.argv0);
          if (!r.outcome.end) {
            run.note({ message: r.message, outcome: r.outcome });
            continue;
          }
          await run.drain();
          if (r.message !== undefined) this.output.err(r.message);
          return r.outcome;
        }
        const change = modificationOf(parsed);
        if (change) {
          if (change.context) this.context = change.context;
          if (run.add(change.change, this.context, undefined)) await run.send();
          continue;
        }
        await run.drain();
        last = await this.execute(parsed, true);
        if (last.end) return last;
      }
      await run.send();
    }
    await run.drain();
    return { status: last.status };
  }

  // -------------------------------------------------------------------------------------------
  // Extensions (opt-in through long options ipvsadm does not have; man/ipvsadm.8 "EXTENSIONS")

  /**
   * `-R` with `--input FILE` and/or `--keep-going` / `--stop-on-error`. A file that cannot be
   * opened is one line on stderr and status 1 before anything runs.
   */
  private async restoreWithOptions(mode: RestoreMode | undefined, path: string | undefined): Promise<Outcome> {
    const opened = await openRestoreInput(this.io, path);
    if ('error' in opened) {
      this.output.err(opened.error);
      return { status: EXIT.LIST_FAILED, end: true };
    }
    if (mode === undefined) return this.restore(opened.input);
    const host: RestoreHost = {
      kernel: this.kernel,
      parse: (argv) => this.parse(argv),
      execute: async (cmd, prefix) => {
        const before = this.output.errors;
        this.output.prefix = prefix;
        try {
          return { status: (await this.execute(cmd, true)).status, printed: this.output.errors > before };
        } finally {
          this.output.prefix = '';
        }
      },
      enterContext: (change) => {
        if (change.context) this.context = change.context;
        return this.context;
      },
      err: (line) => this.output.err(line),
    };
    const status = await new ReportingRestore(host, mode, opened.source).run(opened.input);
    return { status, end: true };
  }

  /**
   * `-S [-n] --lossless`: timeouts, the sorted table and the sync daemons, fetched in full before
   * anything is printed; if any query fails, its text (as `-S` prints it) and status 1, and no
   * partial save.
   */
  private async saveLossless(numeric: boolean): Promise<Outcome> {
    let table: LosslessTable;
    try {
      this.context = 'get-timeout';
      const timeouts = await this.kernel.getTimeouts();
      // A save writes no counters: they are not decoded.
      const services = sortServices(await this.kernel.services({ stats: false }));
      const withDests: ServiceWithDestinations[] = [];
      this.context = 'get-dests';
      await this.kernel.destinationsOfEach(
        services.map((s) => s.key),
        (i, dests) => (withDests[i] = { ...(services[i] as ServiceEntry), destinations: sortDestinations(dests) }),
        { stats: false },
      );
      this.context = 'get-daemon';
      table = { timeouts, services: withDests, daemons: await this.kernel.daemons() };
    } catch (e) {
      return this.listFailed(e, true);
    }
    this.output.out(await this.withNames(() => renderLosslessSave(table, numeric, this.resolver)));
    return ok;
  }
}

/** What a refused command line prints (nothing for `-b ,`) and how the invocation ends. */
function refusal(e: UsageError, argv0: string): { message?: string; outcome: Outcome } {
  // An empty message is `-b ,`, where the original crashes: nothing printed, process over.
  if (e.message === '') return { outcome: { status: e.status, end: true } };
  if (e.status === EXIT.FAIL) return { message: e.message, outcome: { status: EXIT.FAIL, end: true } };
  // "Try …" leaves the process; popt's own errors only fail this invocation.
  if (e.message === tryHelpText(argv0)) return { message: e.message, outcome: { status: EXIT.ERROR, end: true } };
  return { message: e.message, outcome: { status: EXIT.ERROR } };
}

/** What a queued `-R` line settles to: nothing for a change (its kernel answer decides), or a refusal's text and outcome. */
type RestoreSlot = { message: string | undefined; outcome: Outcome } | undefined;

/** Opens the kernel and reads GET_INFO: the start-up of every run (§1.1). */
async function startUp(io: CliIo): Promise<{ kernel: IpvsLike; info: IpvsInfo } | { errno: number }> {
  let kernel: IpvsLike | undefined;
  try {
    kernel = await io.openKernel();
    return { kernel, info: await kernel.info() };
  } catch (e) {
    kernel?.close();
    return { errno: initErrno(e) };
  }
}

function oneLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * Runs `ipvsadm` with `argv` (without argv0) and resolves with the exit status. Never throws:
 * an unexpected failure is one line on stderr and status 255.
 */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const output = new Output(io);
  let kernel: IpvsLike | undefined;
  try {
    let started = await startUp(io);
    if ('errno' in started && io.modprobe && (await io.modprobe())) started = await startUp(io);
    if ('errno' in started) {
      output.err(initFailureText(started.errno));
      return EXIT.FAIL;
    }
    kernel = started.kernel;
    const resolver = io.resolver ?? new SystemResolver();
    const session = new Session(io, output, kernel, started.info, resolver);
    const outcome = await session.run(argv, false);
    return outcome.status;
  } catch (e) {
    output.err(`${io.argv0}: internal error: ${oneLine(e)}`);
    return EXIT.ERROR;
  } finally {
    output.flush();
    try {
      kernel?.close();
    } catch {
      // Closing is best effort; the process is ending.
    }
  }
}
