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

export class LeaseFile {
  readonly path: string;

  constructor(dir = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()) {
    this.path = path.join(dir, `worker-pool-${process.pid}-${randomBytes(4).toString('hex')}.lease`);
  }

  /** Record the newest deadline; the error if the file cannot be written (the children still get it by IPC). */
  write(until: number): Error | undefined {
    try {
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, String(until), { mode: 0o600 });
      renameSync(tmp, this.path);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  remove(): void {
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.tmp`, { force: true });
  }
}
