/**
 * pino, JSON by default and pretty on a terminal; one line per event with `pool` and `worker`
 * fields. Lines go to stdout through an OutputRelay, never a synchronous write: a stdout nobody
 * reads (a stuck log shipper, a paused `| less`) must not stop the process's event loop, which in
 * the supervisor runs the control loop and /healthz. Lines that do not fit while stdout is not read
 * are dropped, counted (stdoutRelay.droppedBy: worker_pool_log_dropped_bytes_total), and said
 * in one warning line once stdout is read again. In a supervisor the workers' output (passed on as
 * log events, supervisor/child-output.ts) shares the same relay, so the two never split each other's lines.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import { OutputRelay } from './output-relay.js';
import { redactValue } from './secrets.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  base: Record<string, unknown>;
}

/** This process's stdout, for its log lines (one per process, whatever loggers write to it). */
export const stdoutRelay = new OutputRelay(1);
// process.exit() cuts asynchronous writes short: the last lines (a stop, an error) are written then.
process.on('exit', () => stdoutRelay.flushAtExit());

export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    level: opts.level,
    base: opts.base,
    timestamp: pino.stdTimeFunctions.isoTime,
    // Every line passes through the one redaction: no Redis password in a message or a field.
    hooks: {
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => redactValue(a)));
      },
    },
  };
  let destination: DestinationStream = { write: (line: string) => stdoutRelay.write(line) };
  if (opts.pretty) {
    // Loaded only when wanted: a worker child (JSON by default) starts ~10 ms sooner without it.
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    const prettify = prettyFactory({ colorize: true, ignore: 'hostname', translateTime: 'SYS:HH:MM:ss.l' });
    destination = { write: (line: string) => stdoutRelay.write(prettify(line)) };
  }
  const logger = pino(options, destination);
  stdoutRelay.announce ??= (n, workers) => logger.warn({ droppedBytes: n, ...(workers > 0 ? { workerOutputBytes: workers } : {}) }, `${n} bytes of log output dropped (stdout was not read fast enough)`);
  return logger;
}

/** Whether to pretty-print: an explicit choice, else whether stdout is a terminal. */
export function wantsPretty(format: 'json' | 'pretty' | undefined): boolean {
  return format ? format === 'pretty' : process.stdout.isTTY === true;
}
