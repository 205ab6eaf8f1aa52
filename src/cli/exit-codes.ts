import { redactText } from '../secrets.js';

/** Exit codes, from sysexits.h where one fits, so systemd units and scripts can tell them apart. */
export const EXIT = {
  OK: 0,
  /** Stopped, but not every running job finished: the stop-timeout passed and jobs were handed back, or a worker ended before its jobs did (fenced, crashed). */
  FORCED: 1,
  /** `status`: the pool answers but is not ready. */
  NOT_READY: 1,
  /** `status`: nothing answers at the URL (as `systemctl status` for a stopped unit). */
  NOT_RUNNING: 3,
  /** `routes --check`: a queue nobody listens to, or jobs left in a queue no job type uses. */
  CHECK_FAILED: 1,
  /** `cancel`: the job is not running (or nothing listens), so no signal was aborted. */
  CANCEL_NOT_SENT: 1,
  USAGE: 64,
  /** Bad data given on the command line (e.g. --data that is not JSON). */
  DATAERR: 65,
  /** A service the command needs (Redis, a port) is not available. */
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  /** `status`: the daemon asks for credentials that were not given, or refused those given. */
  NOPERM: 77,
  CONFIG: 78,
} as const;

/** A user mistake: printed as one line, never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(redactText(message));
  }
}
