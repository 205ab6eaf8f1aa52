/**
 * The `queue` label of per-queue metrics, bounded: the first `limit` queues a pool lists (its most
 * important, since the list is in priority order) keep their own series; every other queue is
 * counted under `queue="_other"`, so a pool on 500 generated queues exports a few hundred series
 * per metric family, not tens of thousands (--metrics-queues).
 */
export const OTHER_QUEUES = '_other';

export class QueueLabels {
  private listed: readonly string[] = [];
  private own = new Set<string>();

  constructor(
    private readonly queues: () => readonly string[],
    private readonly limit: number,
  ) {}

  /** The label value for `queue`. */
  of(queue: string): string {
    const now = this.queues();
    if (now !== this.listed) {
      this.listed = now;
      this.own = new Set(now.slice(0, this.limit));
    }
    return this.own.has(queue) ? queue : OTHER_QUEUES;
  }

  /** The labels to show at zero from the start: the queues kept apart, and `_other` if any is not. */
  initial(): string[] {
    const all = this.queues();
    const own = all.slice(0, this.limit);
    return all.length > own.length ? [...own, OTHER_QUEUES] : [...own];
  }
}
