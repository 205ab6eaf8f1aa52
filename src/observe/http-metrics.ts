/** Metrics of the HTTP side: event streams open, refused and dropped, and worker output dropped on its way to stdout. */
import { Counter, Gauge, type Registry } from 'prom-client';
import { workerOutputRelay } from '../supervisor/output-relay.js';
import type { EventStream } from './event-stream.js';

export function registerHttpMetrics(registry: Registry, events: EventStream): void {
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
      this.inc(workerOutputRelay.droppedBytes);
    },
  });
}
