/**
 * A worker child's stdout and stderr, line by line, as log events on the supervisor's stdout: the
 * child's own log lines (JSON from its logger) pass as they are; any other line (a processor's
 * console.log, a warning from Node, the output of a program a job ran) becomes an event with pool,
 * worker, pid and stream, so the log stays one JSON line per event. A line is cut at
 * MAX_LINE_BYTES; everything goes through the supervisor's one bounded stdout relay (logger.ts), which drops rather
 * than blocks, counting what it drops as the workers'.
 */
import { createRequire } from 'node:module';
import { redactText } from '../secrets.js';
import { stdoutRelay } from '../logger.js';
import type { OutputRelay } from '../output-relay.js';

export const MAX_LINE_BYTES = 32 * 1024;

/** Splits a byte stream into lines, keeping at most `max` bytes of each (and counting the rest). */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private cut = 0;

  constructor(
    private readonly onLine: (line: string, cutBytes: number) => void,
    private readonly max = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start);
      this.keep(chunk.subarray(start, nl < 0 ? chunk.length : nl));
      if (nl < 0) return;
      this.emit();
      start = nl + 1;
    }
  }

  /** The stream ended: what is left without a newline is a line too. */
  end(): void {
    if (this.size > 0 || this.cut > 0) this.emit();
  }

  private keep(piece: Buffer): void {
    const room = Math.max(0, this.max - this.size);
    if (piece.length > room) this.cut += piece.length - room;
    const kept = piece.subarray(0, room);
    if (kept.length === 0) return;
    // A copy: the child's chunk (up to 64 KiB) is not kept alive for a short line.
    this.parts.push(Buffer.from(kept));
    this.size += kept.length;
  }

  private emit(): void {
    const line = Buffer.concat(this.parts, this.size).toString('utf8').replace(/\r$/, '');
    const cut = this.cut;
    this.parts = [];
    this.size = 0;
    this.cut = 0;
    this.onLine(line, cut);
  }
}

export interface ChildOutputOptions {
  pool: string;
  worker: string;
  pid: number | undefined;
  /** Pretty lines (a terminal) instead of JSON. */
  pretty: boolean;
  relay?: OutputRelay;
  now?: () => Date;
}

type Pretty = (input: string | object) => string;
let prettyPrinter: Pretty | undefined;

/** pino-pretty's formatter, with the options of the supervisor's own pretty logger; loaded only when wanted. */
function pretty(): Pretty {
  if (!prettyPrinter) {
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    prettyPrinter = prettyFactory({ colorize: true, ignore: 'hostname', translateTime: 'SYS:HH:MM:ss.l' });
  }
  return prettyPrinter;
}

/** The child's own logger writes JSON objects that start with the level (pino's first key). */
function isLogLine(line: string): boolean {
  return line.startsWith('{"level":') && line.endsWith('}');
}

export class ChildOutput {
  readonly stdout: LineSplitter;
  readonly stderr: LineSplitter;
  private readonly relay: OutputRelay;
  private readonly now: () => Date;

  constructor(private readonly o: ChildOutputOptions) {
    this.relay = o.relay ?? stdoutRelay;
    this.now = o.now ?? (() => new Date());
    this.stdout = new LineSplitter((line, cut) => this.line('stdout', line, cut));
    this.stderr = new LineSplitter((line, cut) => this.line('stderr', line, cut));
  }

  /** Both streams ended (the child exited and its pipes closed). */
  end(): void {
    this.stdout.end();
    this.stderr.end();
  }

  private line(stream: 'stdout' | 'stderr', line: string, cut: number): void {
    if (cut === 0 && line.trim() === '') return;
    if (cut === 0 && isLogLine(line)) {
      this.relay.write(this.o.pretty ? pretty()(line) : `${line}\n`, 'workers');
      return;
    }
    const event = {
      level: stream === 'stderr' ? 40 : 30,
      time: this.now().toISOString(),
      pool: this.o.pool,
      worker: this.o.worker,
      pid: this.o.pid,
      stream,
      ...(cut > 0 ? { cutBytes: cut } : {}),
      msg: redactText(line),
    };
    this.relay.write(this.o.pretty ? pretty()(event) : `${JSON.stringify(event)}\n`, 'workers');
  }
}
