/**
 * The batches of one `ipvsadm -R` (plain or reporting): modifying lines are sent through
 * `Ipvs.apply` at most `limit` at a time, with at most one batch in the kernel while the next is
 * filled, and every queued line is settled in line order, so that messages print where the
 * reference prints them.
 */
import { MAX_OUTSTANDING, type IpvsChange, type OpResult } from '../model/index.js';
import { ipvsErrorText, kernelErrno, type ErrorContext } from './errors.js';
import type { IpvsLike } from './main.js';

interface Queued<S> {
  change?: IpvsChange;
  context?: ErrorContext;
  slot: S;
}

/** `-R`'s pipelined batches; `settle` gets each queued line's slot and, for a refused change, the reference's text. */
export class RestoreBatches<S> {
  private filling: Queued<S>[] = [];
  private requests = 0;
  private inKernel: Promise<void> = Promise.resolve();

  constructor(
    private readonly kernel: Pick<IpvsLike, 'apply'>,
    private readonly settle: (slot: S, refusal: string | undefined) => void,
    private readonly limit = MAX_OUTSTANDING,
  ) {}

  /** A modifying line; true when the batch is full and must be sent before the next line. */
  add(change: IpvsChange, context: ErrorContext, slot: S): boolean {
    this.filling.push({ change, context, slot });
    return ++this.requests >= this.limit;
  }

  /** A line known from parsing alone (a refusal that does not end the run): settled in its turn. */
  note(slot: S): void {
    this.filling.push({ slot });
  }

  /** Sends what was filled, once the batch before it has answered. */
  async send(): Promise<void> {
    if (this.filling.length === 0) return;
    const queued = this.filling;
    this.filling = [];
    this.requests = 0;
    await this.inKernel;
    this.inKernel = this.apply(queued);
  }

  /** Everything queued applied and settled. */
  async drain(): Promise<void> {
    await this.send();
    await this.inKernel;
  }

  private async apply(queued: Queued<S>[]): Promise<void> {
    const changes: IpvsChange[] = [];
    for (const q of queued) if (q.change) changes.push(q.change);
    const results: OpResult[] = [];
    if (changes.length > 0) await this.kernel.apply(changes, (i, r) => (results[i] = r));
    let i = 0;
    for (const q of queued) {
      const r = q.change ? results[i++] : undefined;
      if (r === undefined) {
        this.settle(q.slot, undefined);
        continue;
      }
      const errno = kernelErrno(r);
      if (errno === undefined) throw r;
      this.settle(q.slot, ipvsErrorText(errno, q.context as ErrorContext));
    }
  }
}
