/**
 * Wakes a pool at zero workers as soon as a job arrives: while the pool wants no worker, the
 * supervisor blocks on its queues' BullMQ markers itself (one BZPOPMIN on a connection of its own)
 * and asks the control loop to decide at once, instead of finding the job at the next scaling period.
 * The marker it popped is set back at once, so the workers of other pools on the same queues, and
 * the worker about to start here, still wake for the job. After a wake-up that did not scale the pool
 * up (the job was delayed, say), it waits for the next periodic decision before it watches again.
 */
import type { Logger } from '../logger.js';

/** What the watch needs of its connection: an ioredis client, or the simulator's queues. */
export interface MarkerConnection {
  bzpopmin(...args: [...keys: string[], timeout: number]): Promise<[key: string, member: string, score: string] | null>;
  zadd(key: string, score: number, member: string): Promise<unknown>;
  on(event: 'error', listener: (err: Error) => void): unknown;
  disconnect(): void;
}

export interface ArrivalWatchOptions {
  /** Opens a connection of its own to block on (once, when first needed; closed by stop()). */
  connect(): MarkerConnection;
  prefix: string;
  queues: readonly string[];
  /** The pool wants no worker now. */
  atZero(): boolean;
  /** Decide now; resolves once the decision is made. */
  decide(): Promise<unknown>;
  log: Logger;
  /** Longest single block (seconds): how soon a change of queues or a stop is seen at worst. */
  blockSeconds?: number;
}

const RETRY_MS = 1000;

export class ArrivalWatch {
  private markers: string[];
  private armed = false;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private conn: MarkerConnection | undefined;

  constructor(private readonly opts: ArrivalWatchOptions) {
    this.markers = this.markersOf(opts.queues);
  }

  private get connection(): MarkerConnection {
    if (!this.conn) {
      this.conn = this.opts.connect();
      this.conn.on('error', () => undefined);
    }
    return this.conn;
  }

  private markersOf(queues: readonly string[]): string[] {
    return queues.map((q) => `${this.opts.prefix}:${q}:marker`);
  }

  /** Watch while the pool is at zero (call after each decision, and at start). */
  arm(): void {
    if (this.stopped || this.armed || !this.opts.atZero()) return;
    this.armed = true;
    this.loop ??= this.run().finally(() => (this.loop = undefined));
  }

  setQueues(queues: readonly string[]): void {
    this.markers = this.markersOf(queues);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.armed = false;
    this.conn?.disconnect();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { log } = this.opts;
    const connection = this.connection;
    while (this.armed && !this.stopped) {
      if (!this.opts.atZero() || this.markers.length === 0) break;
      let woke: string | undefined;
      try {
        const reply = await connection.bzpopmin(...this.markers, this.opts.blockSeconds ?? 5);
        woke = reply?.[0];
      } catch (err) {
        if (this.stopped) break;
        log.debug({ err: (err as Error).message }, 'waiting for jobs at zero workers failed; retrying');
        await new Promise((r) => setTimeout(r, RETRY_MS));
        continue;
      }
      if (!woke || this.stopped) continue;
      // Not ours to keep: every worker listening to that queue must still see it.
      await connection.zadd(woke, 0, '0').catch(() => undefined);
      this.armed = false;
      if (!this.opts.atZero()) break;
      log.debug({ marker: woke }, 'a job arrived at a pool with no worker; deciding now');
      await this.opts.decide().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'deciding on a job arrival failed'));
    }
    this.armed = false;
  }
}
