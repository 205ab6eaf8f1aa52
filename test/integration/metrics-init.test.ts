/**
 * Counters whose first increment an alert must see exist at 0 from the first scrape: every
 * worker_pool_worker_exits_total reason (so increase() counts the first crash) and both scaling
 * directions, with the time of the last change for the dashboard's annotations.
 */
import { describe, expect, it } from 'vitest';
import { fixture, startPool } from '../helpers/pool.js';

describe('metrics before anything happened', () => {
  it('every exit reason and scaling direction is there at 0', async () => {
    const pool = await startPool({ queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': 1, 'max-workers': 1, name: 'init' });
    try {
      const text = await (await fetch(`${pool.daemon.url}/metrics`)).text();
      for (const reason of ['crash', 'failed_start', 'scale_down', 'max_jobs', 'max_memory', 'job_timeout', 'shutdown', 'reload']) {
        expect(text).toContain(`worker_pool_worker_exits_total{reason="${reason}",pool="init"} 0`);
      }
      for (const direction of ['up', 'down']) {
        expect(text).toContain(`worker_pool_scale_events_total{direction="${direction}",pool="init"} 0`);
        expect(text).toContain(`worker_pool_last_scale_event_timestamp_seconds{direction="${direction}",pool="init"} 0`);
      }
    } finally {
      await pool.close();
    }
  });
});
