/**
 * GET /events: a server-sent event stream of what the pool does, for a page or a client that
 * follows one job. Three event types, each a JSON `data:` line:
 *
 * - `decision`: every scaling decision (action up/down/hold, utilization, workers before/after, reason)
 * - `worker`: lifecycle of a child (started, ready, draining, exited with its reason)
 * - `job`: active / progress / completed / failed for the pool's queues, from BullMQ's own event
 *   stream, so jobs run by other pools on the same queues show too
 *
 * Job events carry no job data (progress values, return values, failure reasons) unless
 * --events-payloads; a client may follow one queue or one job. Streams are capped
 * (--events-max-clients) and a client that stops reading is dropped once its buffer is full, so
 * the supervisor's memory does not grow with slow readers.
 *
 * Job events need a blocking Redis connection per queue; they are read only while someone listens.
 */
import type http from 'node:http';
import { alreadySent, text, type HttpContext } from '../http/server.js';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { connect, type RedisTarget } from '../redis/connection.js';
import type { ControlLoop } from '../scaling/control-loop.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { withTimeout } from '../timing.js';

export interface StreamSettings {
  pool: string;
  redisUrl: string;
  /** Where Redis is in every mode; `redisUrl` when absent. */
  redis?: RedisTarget;
  prefix: string;
  queues: readonly string[];
  /** Send job data (progress values, return values, failure reasons); off by default (--events-payloads). */
  payloads?: boolean;
  /** Most streams open at once; one more is answered 503 (--events-max-clients). */
  maxClients?: number;
  /**
   * Bytes that may wait for a client. Past `stallBufferBytes` a client that has taken nothing for
   * `stallMs` is dropped (it may reconnect); past `maxBufferBytes` any client is.
   */
  stallBufferBytes?: number;
  stallMs?: number;
  maxBufferBytes?: number;
  /** Comment line sent this often so proxies keep the connection open. */
  keepAliveMs?: number;
}

/** Where a job event belongs, for clients that follow one queue or one job. */
interface JobRef {
  queue: string;
  jobId: string;
}

interface Client {
  res: http.ServerResponse;
  queue: string | undefined;
  job: string | undefined;
  /** Frames held back while the socket says stop (write returned false, no 'drain' yet). */
  held: string[];
  heldBytes: number;
  waiting: boolean;
  /** Bytes given to res.write, and of those the most seen to have left its buffer. */
  written: number;
  flushed: number;
  /** When the client last took something (or connected). */
  progressAt: number;
}

export const DEFAULT_MAX_CLIENTS = 50;
/** A client this far behind that has taken nothing for STALL_MS has stopped reading. */
const STALL_BUFFER_BYTES = 1024 * 1024;
const STALL_MS = 5000;
/** Nobody is let this far behind, reading or not. */
const MAX_BUFFER_BYTES = 64 * 1024 * 1024;

export class EventStream {
  private readonly clients = new Set<Client>();
  private queueEvents: Array<{ qe: QueueEvents; conn: Redis }> = [];
  private jobsReady: Promise<void> | undefined;
  /** Streams refused because --events-max-clients were open. */
  refused = 0;
  /** Streams ended because their client stopped reading. */
  dropped = 0;

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

  private get maxClients(): number {
    return this.s.maxClients ?? DEFAULT_MAX_CLIENTS;
  }

  /**
   * Send an event to every stream that wants it; `job` says which job a job event is about (a
   * stream that follows one queue or job gets only those). Serialized once for all clients.
   */
  publish(event: string, data: unknown, job?: JobRef): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of this.clients) {
      if (client.queue !== undefined || client.job !== undefined) {
        if (!job || (client.queue !== undefined && client.queue !== job.queue) || (client.job !== undefined && client.job !== job.jobId)) continue;
      }
      this.write(client, frame);
    }
  }

  /**
   * Write, unless the client has fallen too far behind: then drop it. While the socket says stop,
   * frames are held here until it drains (the same string for every client, not a copy each:
   * writing them all at once would have Node copy a tick's worth of frames per client).
   */
  private write(client: Client, frame: string): void {
    if (client.res.destroyed || this.dropIfStalled(client)) return;
    if (client.waiting) {
      client.held.push(frame);
      client.heldBytes += frame.length;
      return;
    }
    this.send(client, frame);
  }

  private send(client: Client, frame: string): void {
    client.written += frame.length;
    if (client.res.write(frame)) return;
    client.waiting = true;
    client.res.once('drain', () => this.drained(client));
  }

  private drained(client: Client): void {
    client.waiting = false;
    client.progressAt = this.wallNow();
    while (!client.waiting && client.held.length > 0 && !client.res.destroyed) {
      const frame = client.held.shift()!;
      client.heldBytes -= frame.length;
      this.send(client, frame);
    }
  }

  /** True when the client was dropped: too far behind, and taking nothing (or far too far behind). */
  private dropIfStalled(client: Client): boolean {
    const res = client.res;
    const pending = res.writableLength + client.heldBytes;
    const now = this.wallNow();
    const flushed = client.written - res.writableLength;
    if (flushed > client.flushed) {
      client.flushed = flushed;
      client.progressAt = now;
    }
    const stalled = pending > (this.s.stallBufferBytes ?? STALL_BUFFER_BYTES) && now - client.progressAt >= (this.s.stallMs ?? STALL_MS);
    if (!stalled && pending <= (this.s.maxBufferBytes ?? MAX_BUFFER_BYTES)) return false;
    this.dropped++;
    this.log.warn({ buffered: pending, idleSeconds: (now - client.progressAt) / 1000 }, 'event stream: a client stopped reading; dropping it');
    this.clients.delete(client);
    res.destroy();
    if (this.clients.size === 0) void this.stopJobEvents();
    return true;
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

  /**
   * The route: holds the response open and writes events until the client goes away.
   * `?queue=Q` follows the job events of one queue, `&job=ID` of one job (then no decision or worker
   * events). HEAD answers the headers only.
   */
  handle = (c: HttpContext): Response => {
    const res = c.env.outgoing;
    const queue = c.req.query('queue') || undefined;
    const job = c.req.query('job') || undefined;
    if (job !== undefined && queue === undefined) return text(c, 400, 'job: give the queue too (/events?queue=Q&job=ID)\n');
    if (queue !== undefined && !this.s.queues.includes(queue)) return text(c, 404, `queue: ${JSON.stringify(queue)} is not one of this pool's queues (${this.s.queues.join(', ')})\n`);
    if (this.clients.size >= this.maxClients) {
      this.refused++;
      return c.body(`too many event streams open (${this.maxClients}, --events-max-clients); try again later\n`, 503, { 'retry-after': '10', 'content-type': 'text/plain; charset=utf-8' });
    }
    const headers = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' };
    // HEAD: the headers a GET would get, and an empty body (Hono drops the body of a HEAD answer).
    if (c.req.method === 'HEAD') return c.body(null, 200, headers);
    res.writeHead(200, { ...headers, connection: 'keep-alive' });
    const client: Client = { res, queue, job, held: [], heldBytes: 0, waiting: false, written: 0, flushed: 0, progressAt: this.wallNow() };
    this.write(client, 'retry: 2000\n\n');
    // Also where a client that stopped reading while no events came is found.
    const keepAlive = setInterval(() => {
      if (!this.dropIfStalled(client) && !client.waiting) this.write(client, `: keep-alive\n\n`);
    }, this.s.keepAliveMs ?? 15_000);
    keepAlive.unref();
    const gone = () => {
      clearInterval(keepAlive);
      if (this.clients.delete(client) && this.clients.size === 0) void this.stopJobEvents();
    };
    res.on('close', gone);
    res.on('error', gone);
    this.clients.add(client);
    void this.followJobEvents().then((jobs) => {
      if (this.clients.has(client)) this.write(client, `event: hello\ndata: ${JSON.stringify(this.hello(jobs))}\n\n`);
    });
    return alreadySent();
  };

  private hello(jobEvents: boolean): Record<string, unknown> {
    return { pool: this.s.pool, queues: this.s.queues, jobEvents, at: this.wallNow() };
  }

  /** Start reading job events; false if Redis does not let us within 3 s (they follow when it does). */
  private async followJobEvents(): Promise<boolean> {
    try {
      await withTimeout(this.startJobEvents(), 3000, 'Redis did not answer within 3 s; job events will follow when it does');
      return true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'event stream: cannot follow job events');
      return false;
    }
  }

  private startJobEvents(): Promise<void> {
    if (!this.jobsReady) {
      this.queueEvents = this.s.queues.map((queue) => {
        const conn = connect(this.s.redis ?? this.s.redisUrl, { connectionName: `worker-pool:${this.s.pool}:events` });
        conn.on('error', () => undefined);
        const qe = new QueueEvents(queue, { connection: conn, prefix: this.s.prefix, lastEventId: '$' });
        qe.on('error', () => undefined);
        // Without --events-payloads a job event says which job and what happened, never its data
        // (a progress that is a plain number, a percentage, is kept: it says nothing of the job).
        const payloads = this.s.payloads === true;
        qe.on('active', ({ jobId }) => this.publish('job', { event: 'active', queue, jobId }, { queue, jobId }));
        qe.on('progress', ({ jobId, data }) => this.publish('job', payloads || typeof data === 'number' ? { event: 'progress', queue, jobId, progress: data } : { event: 'progress', queue, jobId }, { queue, jobId }));
        qe.on('completed', ({ jobId, returnvalue }) => this.publish('job', payloads ? { event: 'completed', queue, jobId, returnvalue } : { event: 'completed', queue, jobId }, { queue, jobId }));
        qe.on('failed', ({ jobId, failedReason }) => this.publish('job', payloads ? { event: 'failed', queue, jobId, failedReason } : { event: 'failed', queue, jobId }, { queue, jobId }));
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
    for (const c of this.clients) c.res.end();
    this.clients.clear();
    await this.stopJobEvents();
  }
}
