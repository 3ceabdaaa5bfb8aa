/**
 * `ipvsadm -R --keep-going` / `-R --stop-on-error`, an extension of ipvsadm's `-R`: every line
 * is still one ipvsadm invocation with the reference's message, but each failing line is
 * reported as `SOURCE:LINE: message` on stderr and no line ends the run by itself:
 *
 * - keep-going: every line is run; modifying lines are pipelined in batches as in plain `-R`.
 * - stop-on-error: the run stops at the first failing line. The kernel applies every request of
 *   a batch even after one of them failed, so here each change is sent alone and answered before
 *   the next line is read: nothing after the failing line reaches the kernel.
 *
 * A line fails when the reference would print an error for it: a kernel error (`Service already
 * exists`), a popt error (`-Q: unknown option`), an argument error (`Illegal 'weight' option …`,
 * which aborts plain `-R`), a first token that is not a command (the "Try …" text, which aborts
 * plain `-R`), `-R` inside the input, or a failed listing. `-h` and `-v` lines print their text
 * and the run goes on. Lines are numbered from 1 and every input line counts, blank ones too.
 *
 * The status is 0 when no line failed and REPORT_FAILED otherwise.
 */
import { MAX_OUTSTANDING } from '../model/index.js';
import type { ErrorContext } from './errors.js';
import type { IpvsLike } from './main.js';
import { modificationOf, type Modification } from './modifications.js';
import { isUsageError } from './parse.js';
import { RestoreBatches } from './restore-batches.js';
import { inputLineGroups, restoreTokens } from './restore-input.js';
import type { Command, RestoreMode, UsageError } from './types.js';

/** The exit status of `-R --keep-going|--stop-on-error` when any line failed (plain `-R` has no such status). */
export const REPORT_FAILED = 1;

/** How `-R`'s stdin (no `--input`, or `--input -`) is named in `SOURCE:LINE:` reports. */
export const STDIN_NAME = '<stdin>';

/**
 * What `-b ,` reports: the reference crashes on it (SIGSEGV) and prints nothing, so there is no
 * reference text to repeat.
 */
export const CRASH_TEXT = 'scheduler flags made only of commas (ipvsadm 1.31 crashes on this line)';

/** What a reporting `-R` uses of the session that runs it (main.ts's Session: ipvsadm's one process). */
export interface RestoreHost {
  kernel: Pick<IpvsLike, 'apply'>;
  /** One line's argv parsed as an ipvsadm command line, names resolved. */
  parse(argv: string[]): Promise<Command | UsageError>;
  /**
   * Runs a line that changes nothing in the kernel (listing, `-S`, `-h`, `-v`, `-R`) with
   * `prefix` before each error line it prints; resolves with its status and whether it printed
   * an error line.
   */
  execute(cmd: Command, prefix: string): Promise<{ status: number; printed: boolean }>;
  /** Makes a change's error context the current one (null keeps it) and returns it (spec §6.3). */
  enterContext(change: Modification): ErrorContext;
  /** One line on stderr. */
  err(line: string): void;
}

/** The report of a failing `-R` line: `SOURCE:LINE: message`, one line (the `-6 used before -f` text ends in a newline of its own). */
export function lineReport(source: string, line: number, message: string): string {
  return `${source}:${line}: ${message.replace(/\n+$/, '')}`;
}

/** A line waiting for its batch: its number, and the message of a refusal known from parsing alone. */
interface Slot {
  line: number;
  message?: string;
}

/** `-R --keep-going` / `-R --stop-on-error` (extensions of ipvsadm's `-R`) over one input. */
export class ReportingRestore {
  private failed = false;
  private readonly batches: RestoreBatches<Slot>;

  constructor(
    private readonly host: RestoreHost,
    private readonly mode: RestoreMode,
    private readonly source: string,
  ) {
    // In stop mode each change is alone in its batch: the kernel runs a whole batch regardless.
    this.batches = new RestoreBatches<Slot>(
      host.kernel,
      (slot, refused) => {
        const message = refused ?? slot.message;
        if (message === undefined) return;
        this.failed = true;
        this.host.err(lineReport(this.source, slot.line, message));
      },
      mode === 'stop-on-error' ? 1 : MAX_OUTSTANDING,
    );
  }

  /** Runs every line of `input` (or up to the first failure); resolves with the exit status. */
  async run(input: AsyncIterable<string | Uint8Array>): Promise<number> {
    let line = 0;
    for await (const lines of inputLineGroups(input)) {
      for (const text of lines) {
        line++;
        const argv = restoreTokens(text);
        if (argv.length === 0) continue;
        await this.runLine(line, argv);
        if (this.stopped()) return REPORT_FAILED;
      }
      await this.batches.send();
    }
    await this.batches.drain();
    return this.failed ? REPORT_FAILED : 0;
  }

  private stopped(): boolean {
    return this.mode === 'stop-on-error' && this.failed;
  }

  private async runLine(line: number, argv: string[]): Promise<void> {
    const parsed = await this.host.parse(argv);
    if (isUsageError(parsed)) {
      this.batches.note({ line, message: parsed.message === '' ? CRASH_TEXT : parsed.message });
      if (this.mode === 'stop-on-error') await this.batches.drain();
      return;
    }
    const change = modificationOf(parsed);
    if (change) {
      const full = this.batches.add(change.change, this.host.enterContext(change), { line });
      // In stop mode the answer must be in before the next line is even parsed.
      if (full) await (this.mode === 'stop-on-error' ? this.batches.drain() : this.batches.send());
      return;
    }
    await this.batches.drain();
    if (this.stopped()) return;
    const r = await this.host.execute(parsed, lineReport(this.source, line, ''));
    if (r.status === 0) return;
    this.failed = true;
    if (!r.printed) this.host.err(lineReport(this.source, line, `failed with ipvsadm exit status ${r.status}`));
  }
}
