/** Bytes of log lines the workers dropped because stdout was not read, from their samples, over every worker's life (worker_pool_log_dropped_bytes_total). */
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerProcess } from '../supervisor/worker-process.js';

export class WorkerLogDrops {
  /** Never decreases: a worker's exit keeps its count here. */
  total = 0;
  private readonly seen = new Map<WorkerProcess, number>();

  constructor(supervisor: Supervisor) {
    supervisor.on('worker-message', (w, m) => {
      if (m.type !== 'sample' || m.logDroppedBytes === undefined) return;
      const before = this.seen.get(w) ?? 0;
      if (m.logDroppedBytes > before) this.total += m.logDroppedBytes - before;
      this.seen.set(w, m.logDroppedBytes);
    });
    supervisor.on('worker-exit', (e) => this.seen.delete(e.worker));
  }
}
