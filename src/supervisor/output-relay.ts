/**
 * Passes the children's output (as log lines, see child-output.ts) on to the supervisor's stdout
 * without ever blocking the supervisor's loop. process.stdout.write blocks on Linux when stdout is a
 * pipe whose reader is slow (a 20 MB burst froze /healthz for ~20 s), so output goes through
 * asynchronous fs.write calls instead, one at a time, from a queue capped at `maxBytes`. What does
 * not fit is dropped and counted; a line saying how much was lost is written once output flows again.
 */
import fs from 'node:fs';

export const DEFAULT_OUTPUT_BUFFER_BYTES = 1024 * 1024;

export class OutputRelay {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private writing = false;
  /** Bytes dropped since the last "dropped" notice was written. */
  private unreported = 0;
  /** Bytes dropped in all (for the metric). */
  droppedBytes = 0;

  constructor(
    private readonly fd: number,
    private readonly maxBytes = DEFAULT_OUTPUT_BUFFER_BYTES,
    /** Wait before retrying when the descriptor is non-blocking and full (EAGAIN). */
    private readonly retryMs = 20,
    /** The line that says how many bytes were dropped. */
    private readonly notice: (bytes: number) => string = (bytes) => `[worker-pool] ${bytes} bytes of worker output dropped (output was not read fast enough)\n`,
  ) {}

  /** Bytes waiting to be written. */
  get pending(): number {
    return this.queued;
  }

  write(chunk: Buffer | string): void {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (this.queued + buf.length > this.maxBytes) {
      this.droppedBytes += buf.length;
      this.unreported += buf.length;
      return;
    }
    this.push(buf);
  }

  private push(buf: Buffer): void {
    this.queue.push(buf);
    this.queued += buf.length;
    this.flush();
  }

  private flush(): void {
    if (this.writing) return;
    const buf = this.queue[0];
    if (!buf) {
      if (this.unreported > 0) {
        const note = this.notice(this.unreported);
        this.unreported = 0;
        this.push(Buffer.from(note));
      }
      return;
    }
    this.writing = true;
    fs.write(this.fd, buf, 0, buf.length, null, (err, written) => {
      this.writing = false;
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          setTimeout(() => this.flush(), this.retryMs).unref();
          return;
        }
        // Nobody reads our stderr any more (EPIPE, closed): drop what waits.
        this.droppedBytes += this.queued;
        this.queue.length = 0;
        this.queued = 0;
        return;
      }
      this.queued -= written;
      if (written < buf.length) this.queue[0] = buf.subarray(written);
      else this.queue.shift();
      this.flush();
    });
  }
}

/** The one relay of the children's output to this process's stdout, shared by every child: its notice is a log line too. */
export const workerOutputRelay = new OutputRelay(1, DEFAULT_OUTPUT_BUFFER_BYTES, 20, (bytes) =>
  `${JSON.stringify({ level: 40, time: new Date().toISOString(), droppedBytes: bytes, msg: `${bytes} bytes of worker output dropped (the supervisor's stdout was not read fast enough)` })}\n`,
);
