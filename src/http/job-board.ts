/**
 * The job-level view at /jobs: bull-board (lists of jobs by state, a job's data, return value,
 * failure reason and stack trace; retry, remove, promote, pause, clean) for the pool's queues,
 * mounted on the daemon's HTTP server, which decides who may see it (role read) and who may use its
 * actions (role admin). Two boards over the same queues: a read-only one, and one with actions for
 * admins, so that a reader's page shows no button it may not press. Its reads are bounded (pages of
 * at most 100 jobs, fields of at most 32 KiB, a few reads at once), so no request can make the
 * supervisor load a queue's worth of job data.
 */
import { createBullBoard } from '@bull-board/api';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import { BoundedBullMQAdapter, DEFAULT_READ_LIMITS, type ReadLimits } from './job-board-reads.js';
import { text, type HttpEnv } from './server.js';

export const JOB_BOARD_PATH = '/jobs';

/** Board API requests served at once; more wait for none of them: 503, try again. */
export const DEFAULT_MAX_BOARD_READS = 4;
/** Most levels and children per node of a flow read for its view (bull-board's defaults: 10 and 20). */
const FLOW_DEPTH = 3;
const FLOW_CHILDREN = 20;

interface Board {
  app: Hono;
  board: ReturnType<typeof createBullBoard>;
  readOnly: boolean;
}

export class JobBoard {
  /** Mounted at JOB_BOARD_PATH; the server sets the request's role before it runs. */
  readonly app = new Hono<HttpEnv>();
  private readonly boards: { read: Board; admin: Board };
  private inFlight = 0;

  constructor(
    private readonly pool: string,
    queues: readonly Queue[],
    private readonly limits: ReadLimits = DEFAULT_READ_LIMITS,
    private readonly maxReads = DEFAULT_MAX_BOARD_READS,
  ) {
    this.boards = { read: this.build(queues, true), admin: this.build(queues, false) };
    this.app.all('*', async (c) => {
      const board = c.get('role') === 'admin' ? this.boards.admin : this.boards.read;
      if (!c.req.path.startsWith(`${JOB_BOARD_PATH}/api/`)) return board.app.fetch(c.req.raw, c.env);
      if (this.inFlight >= this.maxReads) {
        return c.body(`the job board is serving ${this.inFlight} requests; try again in a second\n`, 503, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' });
      }
      this.inFlight++;
      try {
        return await board.app.fetch(this.clampPage(c.req.raw), c.env);
      } finally {
        this.inFlight--;
      }
    });
  }

  /** The pool's queues changed (a reload). */
  setQueues(queues: readonly Queue[]): void {
    for (const b of [this.boards.read, this.boards.admin]) b.board.replaceQueues(queues.map((q) => this.adapt(q, b.readOnly)));
  }

  private build(queues: readonly Queue[], readOnly: boolean): Board {
    const adapter = new HonoAdapter(serveStatic);
    adapter.setBasePath(JOB_BOARD_PATH);
    const board = createBullBoard({
      queues: queues.map((q) => this.adapt(q, readOnly)),
      serverAdapter: adapter,
      options: { uiConfig: { boardTitle: `worker-pool ${this.pool}` } },
    });
    const app = new Hono().route(JOB_BOARD_PATH, adapter.registerPlugin() as unknown as Hono);
    return { app, board, readOnly };
  }

  private adapt(q: Queue, readOnly: boolean): BoundedBullMQAdapter {
    return new BoundedBullMQAdapter(q, { readOnlyMode: readOnly }, this.limits);
  }

  /**
   * A GET asking for more than the board reads says what it gets instead: the page size (so the page
   * count is right), and a flow's depth and children per node (BullMQ reads a flow's whole tree to
   * that depth before bull-board shows its first 200 nodes: 3 levels of 20 is 421 nodes).
   */
  private clampPage(req: Request): Request {
    if (req.method !== 'GET') return req;
    const url = new URL(req.url);
    const flow = url.pathname.endsWith('/flow');
    const most: Array<[string, number]> = flow ? [['depth', FLOW_DEPTH], ['maxChildren', FLOW_CHILDREN]] : [['jobsPerPage', this.limits.maxJobs]];
    let changed = false;
    for (const [param, limit] of most) {
      const asked = url.searchParams.get(param);
      // A flow's depth and children default to more than the limit when not given.
      if ((asked === null && flow) || Number(asked) > limit) {
        url.searchParams.set(param, String(limit));
        changed = true;
      }
    }
    return changed ? new Request(url, { method: 'GET', headers: req.headers }) : req;
  }
}

/** In place of the board when it is off (--job-board off): one line saying so. */
export function jobBoardOff(): Hono<HttpEnv> {
  return new Hono<HttpEnv>().all('*', (c) => text(c, 404, 'the job board is off (--job-board off); see docs/http.md\n'));
}
