/**
 * Writes a process's output (its log lines on stdout, its children's stderr) without ever blocking
 * its event loop. A write to a pipe whose reader is slow or stuck blocks on Linux (process.stdout
 * and pino's synchronous destination do so: a stdout nobody read stopped a pool after 370 of 3,000
 * jobs, a 20 MB burst on stderr froze /healthz for ~20 s), so output goes through asynchronous
 * fs.write calls instead, one at a time, from a queue capped at `maxBytes`. What does not fit is
 * dropped and counted, by where it came from (the process's own lines, or its workers' output that
 * a supervisor passes on); once output flows again `announce` is called with how much was lost.
 */
import fs from 'node:fs';

export const DEFAULT_OUTPUT_BUFFER_BYTES = 1024 * 1024;

/** At exit, what waits is written synchronously only up to this much (a pipe holds 64 KiB). */
const EXIT_FLUSH_BYTES = 64 * 1024;

export interface OutputRelayOptions {
  maxBytes?: number;
  /** Wait before retrying when the descriptor is non-blocking and full (EAGAIN). */
  retryMs?: number;
  /** Called once output flows again after some was dropped, with the bytes dropped since the last call (and how many of them were workers'). */
  announce?: (droppedBytes: number, workersBytes: number) => void;
}

/** Whose output a chunk is: this process's own, or its workers' (passed on by a supervisor). */
export type OutputSource = 'own' | 'workers';

export class OutputRelay {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  /** Bytes dropped since the last announcement, and how many of them were workers'. */
  private unreported = 0;
  private unreportedWorkers = 0;
  /** Bytes dropped in all, by source (for the metrics); a write error drops what waits as `own`. */
  readonly droppedBy: Record<OutputSource, number> = { own: 0, workers: 0 };
  announce: ((droppedBytes: number, workersBytes: number) => void) | undefined;
  /** Waiting for the queue to empty (drained()). */
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly fd: number,
    private readonly opts: OutputRelayOptions = {},
  ) {
    this.announce = opts.announce;
  }

  /** Bytes waiting to be written. */
  get pending(): number {
    return this.queued;
  }

  /** Bytes dropped in all. */
  get droppedBytes(): number {
    return this.droppedBy.own + this.droppedBy.workers;
  }

  /** Queue `chunk` for writing; false when it did not fit and was dropped (and counted). */
  write(chunk: Buffer | string, from: OutputSource = 'own'): boolean {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.queued + buf.length > (this.opts.maxBytes ?? DEFAULT_OUTPUT_BUFFER_BYTES)) {
      this.droppedBy[from] += buf.length;
      this.unreported += buf.length;
      if (from === 'workers') this.unreportedWorkers += buf.length;
      return false;
    }
    this.queue.push(buf);
    this.queued += buf.length;
    this.flush();
    return true;
  }

  /**
   * Resolves once everything queued has been written, or after `timeoutMs` (a reader that has
   * stopped must not hold an exit): for a process about to exit with its last lines still queued.
   */
  drained(timeoutMs: number): Promise<void> {
    if (!this.writing && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => (clearTimeout(timer), resolve());
      const timer = setTimeout(done, timeoutMs);
      this.idleWaiters.push(done);
    });
  }

  private wakeIdleWaiters(): void {
    for (const done of this.idleWaiters.splice(0)) done();
  }

  /**
   * At exit (process.exit() ends pending asynchronous writes): write what waits, synchronously, but
   * only when no write is under way (one under way means the reader has stopped, and a synchronous
   * write would hang the exit) and only the first 64 KiB.
   */
  flushAtExit(): void {
    if (this.writing || this.queued === 0) return;
    try {
      const all = Buffer.concat(this.queue);
      fs.writeSync(this.fd, all, 0, Math.min(all.length, EXIT_FLUSH_BYTES));
    } catch {
      // EAGAIN, EPIPE: nobody to tell.
    }
    this.queue.length = 0;
    this.queued = 0;
  }

  private flush(): void {
    if (this.writing) return;
    const buf = this.queue[0];
    if (!buf) {
      if (this.unreported > 0) {
        const [n, w] = [this.unreported, this.unreportedWorkers];
        this.unreported = 0;
        this.unreportedWorkers = 0;
        this.announce?.(n, w);
      }
      if (this.queued === 0) this.wakeIdleWaiters();
      return;
    }
    this.writing = true;
    fs.write(this.fd, buf, 0, buf.length, null, (err, written) => {
      this.writing = false;
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          setTimeout(() => this.flush(), this.opts.retryMs ?? 20).unref();
          return;
        }
        // Nobody reads this output any more (EPIPE, closed): drop what waits.
        this.droppedBy.own += this.queued;
        this.queue.length = 0;
        this.queued = 0;
        this.wakeIdleWaiters();
        return;
      }
      this.queued -= written;
      if (written < buf.length) this.queue[0] = buf.subarray(written);
      else this.queue.shift();
      this.flush();
    });
  }
}
