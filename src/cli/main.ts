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
  renderTimeouts,
  versionText,
} from './format-text.js';
import { isUsageError, parseCommandLine } from './parse.js';
import { isPreparable, SystemResolver } from './resolver.js';
import { inputLines, restoreTokens } from './restore-input.js';
import { sortDestinations, sortServices } from './sort.js';
import type { Command, ListFormat, Resolver, UsageError } from './types.js';
import {
  buildConnectionsView,
  buildDaemonsView,
  buildListingView,
  buildTimeoutsView,
  headerView,
  saveFormat,
} from './view.js';

/** The part of the `Ipvs` library the command line uses (tests pass a fake). */
export type IpvsLike = Pick<
  Ipvs,
  | 'info'
  | 'services'
  | 'getService'
  | 'destinations'
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
  | 'close'
>;

/** Where text goes: `process.stdout` / `process.stderr` or a test's collector. */
export interface TextSink {
  write(text: string): unknown;
}

/** Everything a run needs from outside the process. */
export interface CliIo {
  /** argv[0] as invoked: the "Try …" line and the help text name it. */
  argv0: string;
  /** `-R` reads it line by line, as it arrives. */
  stdin: AsyncIterable<string | Uint8Array>;
  stdout: TextSink;
  stderr: TextSink;
  /** Only POSIXLY_CORRECT / POSIX_ME_HARDER are consulted. */
  env: Record<string, string | undefined>;
  /** When false, stdout is held until the run ends (spec §1.3). */
  stdoutIsTTY: boolean;
  /** Opens the IPVS family (`Ipvs.open`). */
  openKernel: () => Promise<IpvsLike>;
  /** Reads a whole file as text (`/proc/net/ip_vs_conn`); throws when it cannot be opened. */
  readFile: (path: string) => string;
  /** Name service; default: /etc/hosts, /etc/services, then the system resolver. */
  resolver?: Resolver;
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

/** stdout as C stdio handles it: straight through on a terminal, else held until the end. */
class Output {
  private held: string[] = [];

  constructor(private readonly io: CliIo) {}

  out(text: string): void {
    if (text === '') return;
    if (this.io.stdoutIsTTY) this.io.stdout.write(text);
    else this.held.push(text);
  }

  /** One error line on stderr (unbuffered). */
  err(line: string): void {
    this.io.stderr.write(`${line}\n`);
  }

  flush(): void {
    if (this.held.length === 0) return;
    const text = this.held.join('');
    this.held = [];
    this.io.stdout.write(text);
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
    const ctx = { argv0: this.io.argv0, env: this.io.env, resolver: this.resolver };
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
    // An empty message is `-b ,`, where the original crashes: nothing printed, process over.
    if (e.message === '') return { status: e.status, end: true };
    this.output.err(e.message);
    if (e.status === EXIT.FAIL) return { status: EXIT.FAIL, end: true };
    // "Try …" leaves the process; popt's own errors only fail this invocation.
    if (e.message === tryHelpText(this.io.argv0)) return { status: EXIT.ERROR, end: true };
    return { status: EXIT.ERROR };
  }

  private async execute(cmd: Command, inRestore: boolean): Promise<Outcome> {
    const k = this.kernel;
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
        return this.restore();
      case 'add-service':
        return this.modify('add-service', () => k.addService(cmd.service, cmd.config));
      case 'edit-service':
        return this.modify('edit-service', () => k.editService(cmd.service, cmd.config));
      case 'delete-service':
        return this.modify('delete-service', () => k.deleteService(cmd.service, cmd.template));
      case 'flush':
        return this.modify(null, () => k.flush());
      case 'add-server':
        return this.modify('add-dest', () => k.addDestination(cmd.service, cmd.dest, cmd.config, cmd.template));
      case 'edit-server':
        return this.modify('edit-dest', () => k.editDestination(cmd.service, cmd.dest, cmd.config, cmd.template));
      case 'delete-server':
        return this.modify('delete-dest', () => k.deleteDestination(cmd.service, cmd.dest, cmd.config, cmd.template));
      case 'zero':
        return this.modify('zero', () => k.zero(cmd.service, cmd.template));
      case 'set':
        return this.modify('set-timeout', () => k.setTimeouts(cmd.timeouts));
      case 'start-daemon':
        return this.modify('start-daemon', () => k.startDaemon(cmd.daemon));
      case 'stop-daemon':
        return this.modify('stop-daemon', () => k.stopDaemon(cmd.state, cmd.syncId));
      case 'save':
        return this.listServices(saveFormat(cmd.numeric), 'save');
      case 'list':
        switch (cmd.what) {
          case 'services':
            return cmd.service ? this.listOne(cmd.service, cmd.format) : this.listServices(cmd.format, 'list');
          case 'timeout':
            return this.listTimeouts();
          case 'daemon':
            return this.listDaemons();
          case 'connections':
            return this.listConnections(cmd.format);
        }
    }
  }

  /** The kernel's errno for a failed operation, or the exception itself when it is not a kernel failure. */
  private errnoOf(e: unknown): number {
    const errno = kernelErrno(e);
    if (errno === undefined) throw e;
    return errno;
  }

  /** A modifying command: on a kernel error its text, status 255, and `-R` goes on. */
  private async modify(context: ErrorContext | null, op: () => Promise<void>): Promise<Outcome> {
    if (context) this.context = context;
    try {
      await op();
      return ok;
    } catch (e) {
      this.output.err(ipvsErrorText(this.errnoOf(e), this.context));
      return { status: EXIT.ERROR };
    }
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
    let services: ServiceEntry[];
    try {
      // The service dump sets no error context of its own.
      services = await this.kernel.services();
    } catch (e) {
      return this.listFailed(e, true);
    }
    const ordered = format.sort ? sortServices(services) : services;
    const done: ServiceWithDestinations[] = [];
    let failure: unknown;
    let failed = false;
    for (const s of ordered) {
      this.context = 'get-dests';
      try {
        const dests = await this.kernel.destinations(s.key);
        done.push({ ...s, destinations: format.sort ? sortDestinations(dests) : dests });
      } catch (e) {
        failure = e;
        failed = true;
        break;
      }
    }
    // Already in display order: the view must not sort again (the comparator is not transitive).
    const unsorted = { ...format, sort: false };
    const view = await this.withNames(() => buildListingView(done, unsorted, this.resolver));
    this.output.out(how === 'save' ? renderSave(view) : renderListing(view));
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
   * `-R`: every line of stdin is one invocation through the same path. Kernel and popt errors
   * fail only their line; "fail" errors, "Try …", failed listings, `-h` and `-v` end the process.
   * The status is the last executed line's (0 for no line at all).
   */
  private async restore(): Promise<Outcome> {
    let last: Outcome = ok;
    for await (const line of inputLines(this.io.stdin)) {
      const argv = restoreTokens(line);
      if (argv.length === 0) continue;
      last = await this.run(argv, true);
      if (last.end) return last;
    }
    return { status: last.status };
  }
}

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
