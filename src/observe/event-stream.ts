/**
 * GET /events: a server-sent event stream of what the pool does, for a page or a client that
 * follows one job. Three event types, each a JSON `data:` line:
 *
 * - `decision`: every scaling decision (action up/down/hold, utilization, workers before/after, reason)
 * - `worker`: lifecycle of a child (started, ready, draining, exited with its reason)
 * - `job`: active / progress / completed / failed for the pool's queues, from BullMQ's own event
 *   stream, so jobs run by other pools on the same queues show too
 *
 * Job events need a blocking Redis connection per queue; they are read only while someone listens.
 */
import type http from 'node:http';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { connect } from '../redis/connection.js';
import type { ControlLoop } from '../supervisor/control-loop.js';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface StreamSettings {
  pool: string;
  redisUrl: string;
  prefix: string;
  queues: readonly string[];
  /** Comment line sent this often so proxies keep the connection open. */
  keepAliveMs?: number;
}

type Send = (event: string, data: unknown) => void;

export class EventStream {
  private readonly clients = new Set<Send>();
  private queueEvents: Array<{ qe: QueueEvents; conn: Redis }> = [];
  private jobsReady: Promise<void> | undefined;

  constructor(
    private s: StreamSettings,
    supervisor: Supervisor,
    loop: ControlLoop,
    private readonly log: Logger,
    private readonly wallNow: () => number = Date.now,
  ) {
    loop.onDecision((d) => this.publish('decision', d));
    supervisor.on('worker-started', (w) => this.publish('worker', { event: 'started', worker: w.id, pid: w.pid }));
    supervisor.on('worker-ready', (w) => this.publish('worker', { event: 'ready', worker: w.id, pid: w.pid, startSeconds: w.readyAt === undefined ? null : (w.readyAt - w.forkedAt) / 1000 }));
    supervisor.on('worker-draining', (w, reason) => this.publish('worker', { event: 'draining', worker: w.id, pid: w.pid, reason, running: w.busySlots }));
    supervisor.on('worker-exit', (e) => this.publish('worker', { event: 'exited', worker: e.worker.id, pid: e.worker.pid, reason: e.reason, code: e.code, signal: e.signal }));
  }

  get listeners(): number {
    return this.clients.size;
  }

  publish(event: string, data: unknown): void {
    for (const send of this.clients) send(event, data);
  }

  /**
   * The pool's queues changed (a reload): follow the new ones' job events from now on, and tell
   * every open stream with a new `hello`, as if it had just connected.
   */
  async setQueues(queues: readonly string[]): Promise<void> {
    if (queues.join('\0') === this.s.queues.join('\0')) return;
    this.s = { ...this.s, queues: [...queues] };
    await this.stopJobEvents();
    if (this.clients.size === 0) return;
    const jobs = await this.followJobEvents();
    this.publish('hello', this.hello(jobs));
  }

  /** The route: holds the response open and writes events until the client goes away. */
  handle = async (_req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send: Send = (event, data) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    res.write('retry: 2000\n\n');
    const keepAlive = setInterval(() => res.write(`: keep-alive\n\n`), this.s.keepAliveMs ?? 15_000);
    keepAlive.unref();
    const gone = () => {
      clearInterval(keepAlive);
      if (this.clients.delete(send) && this.clients.size === 0) void this.stopJobEvents();
    };
    res.on('close', gone);
    res.on('error', gone);
    this.clients.add(send);
    const jobs = await this.followJobEvents();
    if (this.clients.has(send)) send('hello', this.hello(jobs));
  };

  private hello(jobEvents: boolean): Record<string, unknown> {
    return { pool: this.s.pool, queues: this.s.queues, jobEvents, at: this.wallNow() };
  }

  /** Start reading job events; false if Redis does not let us within 3 s (they follow when it does). */
  private async followJobEvents(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('Redis did not answer within 3 s; job events will follow when it does')), 3000)));
    try {
      await Promise.race([this.startJobEvents(), late]);
      return true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'event stream: cannot follow job events');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private startJobEvents(): Promise<void> {
    if (!this.jobsReady) {
      this.queueEvents = this.s.queues.map((queue) => {
        const conn = connect(this.s.redisUrl, { connectionName: `worker-pool:${this.s.pool}:events` });
        conn.on('error', () => undefined);
        const qe = new QueueEvents(queue, { connection: conn, prefix: this.s.prefix, lastEventId: '$' });
        qe.on('error', () => undefined);
        qe.on('active', ({ jobId }) => this.publish('job', { event: 'active', queue, jobId }));
        qe.on('progress', ({ jobId, data }) => this.publish('job', { event: 'progress', queue, jobId, progress: data }));
        qe.on('completed', ({ jobId, returnvalue }) => this.publish('job', { event: 'completed', queue, jobId, returnvalue }));
        qe.on('failed', ({ jobId, failedReason }) => this.publish('job', { event: 'failed', queue, jobId, failedReason }));
        return { qe, conn };
      });
      const ready = Promise.all(this.queueEvents.map(({ qe }) => qe.waitUntilReady())).then(() => undefined);
      this.jobsReady = ready;
      ready.catch(() => {
        if (this.jobsReady === ready) void this.stopJobEvents();
      });
    }
    return this.jobsReady;
  }

  private async stopJobEvents(): Promise<void> {
    const qes = this.queueEvents;
    this.queueEvents = [];
    this.jobsReady = undefined;
    await Promise.allSettled(
      qes.map(async ({ qe, conn }) => {
        const closed = qe.close();
        conn.disconnect(); // ends the blocking read at once
        await closed;
      }),
    );
  }

  /** End every open stream (daemon shutdown) and stop reading job events. */
  async close(): Promise<void> {
    this.clients.clear();
    await this.stopJobEvents();
  }
}
