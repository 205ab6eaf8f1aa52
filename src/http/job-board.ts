/**
 * The job-level view at /jobs: bull-board (lists of jobs by state, a job's data, return value,
 * failure reason and stack trace; retry, remove, promote, pause) for the pool's queues, mounted on
 * the daemon's HTTP server. Read-only unless the HTTP access file asks for authentication, since
 * its actions change jobs; the HTTP server also refuses every change from an unauthenticated client.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import type { Hono } from 'hono';
import type { HttpEnv } from './server.js';

export const JOB_BOARD_PATH = '/jobs';

export class JobBoard {
  readonly app: Hono<HttpEnv>;
  private readonly board: ReturnType<typeof createBullBoard>;

  constructor(
    pool: string,
    queues: readonly Queue[],
    private readonly readOnly: boolean,
  ) {
    const adapter = new HonoAdapter(serveStatic);
    adapter.setBasePath(JOB_BOARD_PATH);
    this.board = createBullBoard({
      queues: queues.map((q) => this.adapt(q)),
      serverAdapter: adapter,
      options: { uiConfig: { boardTitle: `worker-pool ${pool}` } },
    });
    this.app = adapter.registerPlugin() as unknown as Hono<HttpEnv>;
  }

  private adapt(q: Queue): BullMQAdapter {
    return new BullMQAdapter(q, { readOnlyMode: this.readOnly });
  }

  /** The pool's queues changed (a reload). */
  setQueues(queues: readonly Queue[]): void {
    this.board.replaceQueues(queues.map((q) => this.adapt(q)));
  }
}
