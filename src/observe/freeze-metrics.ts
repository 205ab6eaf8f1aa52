/** Metrics of children whose event loop stopped (see supervisor/freeze-watch.ts). */
import { Counter, type Registry } from 'prom-client';
import type { FreezeWatch } from '../supervisor/freeze-watch.js';

export function registerFreezeMetrics(registry: Registry, watch: FreezeWatch): void {
  const frozen = new Counter({
    name: 'worker_pool_worker_frozen_total',
    help: 'Times a live worker sent no sample for a while (a job blocking its event loop).',
    registers: [registry],
  });
  const hard = new Counter({
    name: 'worker_pool_job_hard_timeouts_total',
    help: 'Jobs the supervisor failed past their time limit in an unresponsive worker (the worker was killed).',
    labelNames: ['queue'],
    registers: [registry],
  });
  frozen.inc(0);
  watch.on('frozen', () => frozen.inc());
  watch.on('hard-timeout', (_w, job) => hard.inc({ queue: job.queue }));
}
