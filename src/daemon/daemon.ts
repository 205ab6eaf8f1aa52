/**
 * The composition root, one per process: builds one pool's parts (parts.ts) and its HTTP endpoints
 * (routes.ts), starts them in order, applies reloads, and stops them in order with a deadline.
 */
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../clock.js';
import type { PoolConfig } from '../config/load.js';
import type { ReloadPlan } from '../config/reload-plan.js';
import type { FleetMember } from '../fleet/member.js';
import { createLogger, wantsPretty, type Logger } from '../logger.js';
import type { ScalePolicy } from '../policy/types.js';
import type { EventStream } from '../observe/event-stream.js';
import type { ControlLoop } from '../scaling/control-loop.js';
import { startScaling } from '../scaling/scaling-parts.js';
import { redactUrl } from '../secrets.js';
import { settledWithin } from '../timing.js';
import type { HandBack } from '../supervisor/hand-back.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { wireFleet } from './fleet-wiring.js';
import { buildParts } from './parts.js';
import type { PoolParts, PoolState } from './state.js';
import { refusedReload, reloadPool, type ReloadRecord } from './reload.js';
import { buildHttp, type PoolHttp } from './routes.js';
import { healthy, poolStatus, readiness, type PoolStatus } from './status.js';

export type { PoolStatus, WorkerStatus } from './status.js';
export type { ReloadRecord } from './reload.js';

export interface DaemonOptions {
  config: PoolConfig;
  log?: Logger;
  clock?: Clock;
  policy?: ScalePolicy;
  workerEntry?: string;
}

export class Daemon {
  readonly log: Logger;
  readonly supervisor: Supervisor;
  readonly loop: ControlLoop;
  readonly handBack: HandBack;
  readonly events: EventStream;
  readonly fleet: FleetMember;
  /** Resolves once the daemon has stopped (after a stop() call, e.g. from a signal). */
  readonly done: Promise<{ forced: boolean }>;
  private readonly state: PoolState;
  private readonly parts: PoolParts;
  private readonly http: PoolHttp;
  private lastReload: ReloadRecord | undefined;
  private address: AddressInfo | undefined;
  private titleTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<{ forced: boolean }> | undefined;
  private forceResolve: (() => void) | undefined;
  private resolveDone!: (r: { forced: boolean }) => void;

  constructor(opts: DaemonOptions) {
    const c = opts.config;
    this.state = { config: c, stopping: false };
    this.log = opts.log ?? createLogger({ level: c.logLevel, pretty: wantsPretty(c.logFormat), base: { pool: c.name } });
    this.parts = buildParts({ state: this.state, log: this.log, clock: opts.clock ?? systemClock, policy: opts.policy, workerEntry: opts.workerEntry });
    wireFleet(this.parts, this.state);
    this.http = buildHttp(this.parts, this.state, (o) => this.status(o));
    ({ supervisor: this.supervisor, loop: this.loop, handBack: this.handBack, events: this.events, fleet: this.fleet } = this.parts);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get config(): PoolConfig {
    return this.state.config;
  }

  /** Where the HTTP endpoints listen (after start). */
  get url(): string {
    const a = this.address!;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.http.server.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  async start(): Promise<void> {
    const c = this.state.config;
    const p = this.parts;
    this.address = await this.http.server.listen(c.metricsPort, c.metricsHost);
    this.log.info(
      { redis: redactUrl(c.redisUrl), redisSentinels: c.redisSentinels, redisSentinelName: c.redisSentinels ? c.redisSentinelName : undefined, redisClusterNodes: c.redisClusterNodes, queues: c.queues, concurrency: c.concurrency, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, http: this.url },
      'worker-pool starting',
    );
    for (const warning of this.http.warnings) this.log.warn(warning);
    for (const note of this.http.notes) this.log.info(note);
    p.stuckWatch.start();
    if (Object.keys(c.globalConcurrency).length === 0) startScaling(p);
    // Workers must not take jobs of a limited queue before its limit is in Redis.
    else void this.applyGlobalConcurrency().then(() => !this.stopped && startScaling(p));
    p.history.start();
    p.fleet.start();
    p.lockKeeper.start();
    p.freezeWatch.start();
    void p.history.restore().catch((err: Error) => this.log.debug({ err: err.message }, 'could not read the stored history'));
    this.titleTimer = setInterval(() => this.setTitle(), 250);
    this.setTitle();
  }

  private async applyGlobalConcurrency(): Promise<void> {
    let warned = false;
    while (!this.stopped) {
      try {
        await this.parts.globalConcurrency.apply(this.state.config.globalConcurrency);
        return;
      } catch (err) {
        if (!warned) this.log.warn({ err: (err as Error).message }, 'cannot set global concurrency in Redis yet; workers start once it is set');
        warned = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /** Apply a new, already validated config (SIGHUP); see reload.ts. Rejects when refused. */
  async reload(next: PoolConfig): Promise<ReloadPlan> {
    const { plan, record } = await reloadPool(this.parts, this.state, this.http.board, next);
    this.lastReload = record;
    return plan;
  }

  /** A reload that was refused (the new file is invalid): the old config stays. */
  reloadFailed(given: string): void {
    this.lastReload = refusedReload(this.parts, given);
  }

  private setTitle(): void {
    const workers = this.supervisor.workers().filter((w) => w.state !== 'draining');
    const busy = workers.reduce((n, w) => n + w.busySlots, 0);
    const slots = workers.reduce((n, w) => n + w.concurrency, 0);
    const title = `worker-pool ${this.state.config.name} supervisor [${workers.length} workers, ${busy} of ${slots} busy]${this.stopped ? ' stopping' : ''}`;
    if (process.title !== title) process.title = title;
  }

  healthy(): boolean {
    return healthy(this.parts);
  }

  async ready(): Promise<boolean> {
    return (await readiness(this.parts)).length === 0;
  }

  /** The pool's state; `private: false` (an unauthenticated client) hides errors that may hold secrets. */
  status(opts: { private: boolean } = { private: true }): Promise<PoolStatus> {
    return poolStatus(this.parts, this.state, this.lastReload, opts);
  }

  /**
   * Graceful stop: no more scaling, every child drains; after stop-timeout the rest hand their jobs
   * back and are killed. Calling it again (a second signal) forces at once.
   */
  stop(): Promise<{ forced: boolean }> {
    if (this.stopped) {
      this.log.warn('second stop request; forcing');
      this.forceResolve?.();
      return this.stopped;
    }
    const force = new Promise<void>((resolve) => (this.forceResolve = resolve));
    this.state.stopping = true;
    this.stopped = this.shutdown(force);
    return this.stopped;
  }

  private async shutdown(force: Promise<void>): Promise<{ forced: boolean }> {
    const p = this.parts;
    const { stopTimeout, stopBudget } = this.state.config;
    this.log.info({ stopTimeout, ...(stopBudget !== undefined ? { stopBudget } : {}) }, 'stopping: draining workers');
    const stopBy = p.clock.now() + stopTimeout * 1000;
    // What is left of the stop timeout, at most `cap` ms (the CLI's hard stop, hardStopMs, is beyond it).
    const left = (cap = Infinity) => Math.max(0, Math.min(cap, stopBy - p.clock.now()));
    p.loop.stop();
    p.stuckWatch.stop();
    await settledWithin(p.arrivals.stop(), left(1000), 50);
    this.setTitle();
    const result = await p.supervisor.shutdown(stopTimeout * 1000, force);
    p.freezeWatch.stop();
    p.lockKeeper.stop();
    if (this.titleTimer) clearInterval(this.titleTimer);
    // Redis may have stopped answering (connections open, no reply: BullMQ #4656, a close waits for
    // ever). Asked once, briefly: if it does not answer, nothing below can reach it, and the rest of
    // the stop is not spent waiting on it.
    const answering = await p.queueCounts.ping(Math.max(50, left(300)));
    // Jobs of children that had to be killed go back within what is left of the stop timeout.
    // (With Redis unreachable they cannot go back now; the stalled check returns them later.)
    await p.handBack.idle(answering ? Math.max(100, left(2000)) : 0);
    await p.fleet.stop(answering ? Math.max(100, left(2000)) : 0, async () => p.fleetCap?.releaseAll());
    p.history.stop();
    // Every close gets what is left (nothing when Redis does not answer), then the connection is dropped.
    const closed = await settledWithin(
      Promise.allSettled([p.otherQueues.close(), p.events.close(), this.http.server.close(), p.globalConcurrency.close()]).then(() => p.queueCounts.close()),
      answering ? left() : 0,
      answering ? 100 : 0,
    );
    if (!closed) {
      this.log.warn('stop: Redis or a client did not answer in time; connections dropped');
      p.queueCounts.client.disconnect();
    }
    this.log.info({ forced: result.forced }, 'stopped');
    this.resolveDone(result);
    return result;
  }
}
