/**
 * The file through which the supervisor tells its children's watchdog threads the newest fleet lease
 * deadline (host monotonic ms, as text): rewritten after each renewal that went through, read by a
 * child only when its own deadline has passed, so that a child whose event loop is blocked (it reads
 * no IPC) is not ended while its supervisor still renews. Replaced whole (write, then rename), in
 * /dev/shm where there is one.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Logger } from '../logger.js';

export class LeaseFile {
  readonly path: string;
  private failing = false;

  constructor(dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()) {
    this.path = path.join(dir, `worker-pool-${process.pid}-${randomBytes(4).toString('hex')}.lease`);
  }

  /** Record the newest deadline (the children get it by IPC too: a failure is said once, to `log`). */
  write(until: number, log: Logger): void {
    try {
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, String(until), { mode: 0o600 });
      renameSync(tmp, this.path);
      this.failing = false;
    } catch (err) {
      if (!this.failing) log.warn({ file: this.path, err: (err as Error).message }, "fleet: cannot write the lease file; a worker whose job blocks its event loop is stopped at its lease's end even while this daemon renews");
      this.failing = true;
    }
  }

  remove(): void {
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.tmp`, { force: true });
  }
}
