/** pino, JSON by default and pretty on a terminal; one line per event with `pool` and `worker` fields. */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import { redactValue } from './secrets.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  base: Record<string, unknown>;
}

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
  if (opts.pretty) {
    // Loaded only when wanted: a worker child (JSON by default) starts ~10 ms sooner without it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    return pino(options, pretty({ sync: true, colorize: true, ignore: 'hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, pino.destination({ sync: true }));
}

/** Whether to pretty-print: an explicit choice, else whether stdout is a terminal. */
export function wantsPretty(format: 'json' | 'pretty' | undefined): boolean {
  return format ? format === 'pretty' : process.stdout.isTTY === true;
}
