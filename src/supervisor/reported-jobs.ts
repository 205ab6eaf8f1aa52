/**
 * The jobs a worker child reports running, as of its latest sample (each sample lists them as
 * [queue index, job id, token number], bounded by its concurrency; no message per job): the lock
 * keeper renews these, and hand-back returns them if the child dies. Jobs it took after that sample
 * carry tokens numbered above `tokenSeq`. Job records are built when asked, not at every sample.
 */
import type { RunningEntry } from '../ipc/messages.js';

/** A job a child holds, as the supervisor knows it (from the child's samples). */
export interface HeldJob {
  queue: string;
  id: string;
  name: string;
  token: string;
  startedAt: number;
}

export class ReportedJobs {
  /** The number of the last lock token the child had made at its latest sample. */
  tokenSeq = 0;
  private entries: RunningEntry[] = [];
  private records: HeldJob[] | undefined;
  private at = 0;

  constructor(
    private readonly queues: readonly string[],
    private readonly tokenBase: string,
  ) {}

  /** A sample's list, received at `at` (clock ms). */
  update(entries: RunningEntry[], tokenSeq: number | undefined, at: number): void {
    this.entries = entries;
    this.records = undefined;
    this.at = at;
    if (tokenSeq !== undefined) this.tokenSeq = tokenSeq;
  }

  jobs(): HeldJob[] {
    this.records ??= this.entries.map(([q, id, n]) => ({ queue: this.queues[q] ?? '', id, name: '', token: `${this.tokenBase}:${n}`, startedAt: this.at }));
    return this.records;
  }

  /** What is still to be handed back (after the child died). */
  replace(jobs: HeldJob[]): void {
    this.records = jobs;
  }

  /** The child put this job back itself. */
  remove(queue: string, id: string): void {
    this.records = this.jobs().filter((j) => j.queue !== queue || j.id !== id);
  }
}
