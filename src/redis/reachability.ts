/**
 * Whether Redis answers, as the supervisor's own connection sees it, and why not. An outage is
 * said once when it starts (warn) and once when it ends (info); the attempts in between are quiet
 * (the connection backs off up to 2 s between them), in the supervisor and in its children.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export class RedisReachability {
  /** The last connection error while Redis does not answer; undefined while it does. */
  lastError: string | undefined;
  private outage = false;

  constructor(client: Redis, private readonly url: string, private readonly log: Logger) {
    client.on('ready', () => this.reachable());
    client.on('error', (err: Error) => this.unreachable(err.message));
    client.on('close', () => {
      if (!this.outage) this.lastError ??= 'connection closed';
    });
  }

  private unreachable(error: string): void {
    this.lastError = error;
    if (this.outage) return;
    this.outage = true;
    this.log.warn({ redis: this.url, err: error }, 'Redis is unreachable; workers wait and retry quietly until it answers (see /readyz)');
  }

  private reachable(): void {
    if (this.outage) this.log.info({ redis: this.url }, 'Redis is reachable again');
    this.outage = false;
    this.lastError = undefined;
  }

  /** Why Redis counts as down, for /readyz: the URL (no password) and the last error seen. */
  describe(): string {
    return `Redis unreachable at ${this.url}${this.lastError ? ` (${this.lastError})` : ''}`;
  }
}
