/**
 * `worker-pool routes`: every job type with its attributes, generated and actual queue, and the
 * instances that listen to that queue; then the queues, with what they still hold. Warns about an
 * actual queue nobody listens to and about a queue that holds jobs but is no job type's actual
 * queue any more; with --check, either warning makes the exit code 1 (to guard a deploy).
 */
import { generatedQueueName } from '../routing/queue-name.js';
import type { JobType } from '../routing/job-type.js';
import { discoverQueues, queueLoads, type QueueLoad } from '../migration/migrate.js';
import { EXIT } from './exit-codes.js';
import { table } from './table.js';
import { connectOrFail } from './redis-check.js';
import { loadRoutingSetup, type SetupInput } from './routing-setup.js';

export interface RoutesOptions extends SetupInput {
  check: boolean;
}

function attributes(jt: JobType): string {
  const parts = [`urgency=${jt.urgency}`, `resource_boundary=${jt.resourceBoundary}`];
  if (jt.tags.length) parts.push(`tags=${jt.tags.join(',')}`);
  if (jt.featureCategory) parts.push(`feature_category=${jt.featureCategory}`);
  if (jt.hasExternalDependencies) parts.push('has_external_dependencies=true');
  for (const [k, v] of Object.entries(jt.attributes ?? {})) parts.push(`${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return parts.join(' ');
}

function describeLoad(l: QueueLoad): string {
  const parts = Object.entries(l).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`);
  return parts.length ? parts.join(', ') : 'empty';
}

export async function runRoutes(o: RoutesOptions, out: (line: string) => void = console.log): Promise<number> {
  const setup = await loadRoutingSetup(o, { needCatalog: false });
  const listeners = (queue: string) => setup.instances.filter((i) => i.queues.includes(queue)).map((i) => i.name);
  // Plain queues: the processors declare no job types, so there are queues and listeners only.
  const plain = setup.catalog.length === 0;

  if (plain) {
    out('no job types declared (plain queues): showing the queues, who listens to them and what they hold');
  } else {
    const rows = [['JOB TYPE', 'ATTRIBUTES', 'GENERATED QUEUE', 'ACTUAL QUEUE', 'LISTENED TO BY']];
    for (const jt of setup.catalog) {
      const r = setup.routes.get(jt.name)!;
      rows.push([jt.name, attributes(jt), r.generated, r.actual, listeners(r.actual).join(',') || '-']);
    }
    for (const line of table(rows).split('\n')) out(line);
  }

  const client = await connectOrFail(setup.redis, 'worker-pool:routes');
  let loads: Map<string, QueueLoad>;
  try {
    const actual = [...new Set([...setup.routes.values()].map((r) => r.actual))];
    const known = new Set([...actual, ...setup.catalog.map((j) => generatedQueueName(j.name)), ...setup.instances.flatMap((i) => i.queues), ...(await discoverQueues(client, setup.prefix))]);
    loads = await queueLoads(client, setup.prefix, [...known].sort());
  } finally {
    client.disconnect();
  }

  const actualQueues = new Map<string, string[]>();
  for (const r of setup.routes.values()) actualQueues.set(r.actual, [...(actualQueues.get(r.actual) ?? []), r.jobType.name]);
  const warnings: string[] = [];
  out('');
  const qrows = [['QUEUE', 'ACTUAL QUEUE OF', 'LISTENED TO BY', 'HOLDS']];
  for (const [queue, load] of loads) {
    const types = actualQueues.get(queue) ?? [];
    const held = load.waiting + load.prioritized + load.delayed + load.active;
    if (types.length === 0 && held === 0 && listeners(queue).length === 0) continue;
    qrows.push([queue, types.join(',') || '-', listeners(queue).join(',') || '-', describeLoad(load)]);
    if (types.length > 0 && setup.instances.length > 0 && listeners(queue).length === 0) {
      warnings.push(`queue "${queue}" is the actual queue of ${types.join(', ')} but no instance listens to it: its jobs would pile up`);
    }
    if (plain) {
      if (held > 0 && setup.instances.length > 0 && listeners(queue).length === 0) {
        warnings.push(`queue "${queue}" holds ${describeLoad(load)} but no instance listens to it: its jobs would pile up`);
      }
      continue;
    }
    if (types.length === 0 && held > 0) {
      warnings.push(`queue "${queue}" still holds ${describeLoad(load)} but is no job type's actual queue: run worker-pool migrate-jobs, and keep listening to it until it is empty`);
    }
  }
  for (const line of table(plain ? qrows.map(([q, , who, holds]) => [q!, who!, holds!]) : qrows).split('\n')) out(line);
  if (setup.instances.length === 0) out('\n(no --config-dir given: listeners unknown, so unlistened queues are not checked)');
  for (const w of warnings) out(`warning: ${w}`);
  if (warnings.length === 0) out(plain ? '\nok: every queue that holds jobs has a listener' : '\nok: every actual queue has a listener and no other queue holds jobs');
  return o.check && warnings.length > 0 ? EXIT.CHECK_FAILED : EXIT.OK;
}
