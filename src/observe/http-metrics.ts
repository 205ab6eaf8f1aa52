/** Metrics of the HTTP side: event streams open, refused and dropped, and output dropped on its way to stdout (the supervisor's log lines, the workers' output). */
import { Counter, Gauge, type Registry } from 'prom-client';
import { stdoutRelay } from '../logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { EventStream } from './event-stream.js';
import { WorkerLogDrops } from './log-drops.js';

export function registerHttpMetrics(registry: Registry, events: EventStream, supervisor: Supervisor): void {
  const workerLogDrops = new WorkerLogDrops(supervisor);
  new Gauge({
    name: 'worker_pool_events_clients',
    help: 'Open /events streams.',
    registers: [registry],
    collect() {
      this.set(events.listeners);
    },
  });
  new Counter({
    name: 'worker_pool_events_clients_rejected_total',
    help: '/events streams refused or ended by the server: full (--events-max-clients were open), slow (the client stopped reading and its buffer filled).',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ reason: 'full' }, events.refused);
      this.inc({ reason: 'slow' }, events.dropped);
    },
  });
  new Counter({
    name: 'worker_pool_worker_output_dropped_bytes_total',
    help: "Bytes of the workers' output (stdout and stderr, as log lines) dropped because the supervisor's stdout was not read fast enough.",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stdoutRelay.droppedBy.workers);
    },
  });
  new Counter({
    name: 'worker_pool_log_dropped_bytes_total',
    help: "Bytes of log lines dropped because stdout was not read fast enough: the supervisor's own, and its workers' (their output passed on by the supervisor, and what a worker dropped itself, from its samples).",
    labelNames: ['process'],
    registers: [registry],
    collect() {
      this.reset();
      this.inc({ process: 'supervisor' }, stdoutRelay.droppedBy.own);
      this.inc({ process: 'workers' }, stdoutRelay.droppedBy.workers + workerLogDrops.total);
    },
  });
}
