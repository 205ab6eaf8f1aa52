/**
 * `worker-pool migrate-jobs`: after a change of routing rules, move jobs whose actual queue
 * changed to their new queue. Safe to interrupt and to run again; safe while workers run.
 */
import { generatedQueueName } from '../routing/queue-name.js';
import { discoverQueues, migrateJobs, type MigrationReport } from '../migration/migrate.js';
import { EXIT } from './exit-codes.js';
import { Progress } from './progress.js';
import { connectOrFail } from './redis-check.js';
import { loadRoutingSetup, type SetupInput } from './routing-setup.js';

export interface MigrateJobsOptions extends SetupInput {
  dryRun: boolean;
  includeWaiting: boolean;
  batchSize: number;
  batchPauseSeconds: number;
}

const STATES = ['delayed', 'retrying', 'waiting', 'prioritized'] as const;

function summary(report: MigrationReport, dryRun: boolean): string[] {
  const lines: string[] = [];
  const rows = [['FROM → TO', 'STATE', dryRun ? 'WOULD MOVE' : 'MOVED', 'TAKEN MEANWHILE', 'LEFT (FLOW/SCHEDULER)', 'RENAMED']];
  for (const [route, byState] of [...report.moves].sort(([a], [b]) => a.localeCompare(b))) {
    for (const state of STATES) {
      const c = byState.get(state);
      if (!c) continue;
      rows.push([route, state, String(c.moved), String(c.gone), String(c.kept), String(c.renamed)]);
    }
  }
  if (rows.length === 1) {
    lines.push(dryRun ? 'nothing would move: every job looked at is already in its actual queue' : 'nothing to move: every job looked at is already in its actual queue');
  } else {
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) lines.push(r.map((cell, c) => (c === 0 || c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
  }
  for (const [queue, n] of report.unknown) lines.push(`note: ${n} job${n === 1 ? '' : 's'} in "${queue}" name no job type of the catalog; left where they are`);
  if (!dryRun) lines.push(`journal: ${report.journalTotal} job${report.journalTotal === 1 ? '' : 's'} moved by all runs so far`);
  return lines;
}

export async function runMigrateJobs(o: MigrateJobsOptions, out: (line: string) => void = console.log): Promise<number> {
  const setup = await loadRoutingSetup(o);
  const client = await connectOrFail(setup.redis, 'worker-pool:migrate-jobs');
  try {
    const actualQueue = new Map([...setup.routes].map(([name, r]) => [name, r.actual]));
    const queues = [...new Set([...(await discoverQueues(client, setup.prefix)), ...setup.catalog.map((j) => generatedQueueName(j.name)), ...actualQueue.values()])].sort();
    let progress: Progress | undefined;
    let looked = 0;
    const report = await migrateJobs({
      client,
      prefix: setup.prefix,
      actualQueue,
      queues,
      includeWaiting: o.includeWaiting,
      dryRun: o.dryRun,
      batchSize: o.batchSize,
      batchPauseMs: o.batchPauseSeconds * 1000,
      now: () => Date.now(),
      onProgress: (done, total) => {
        progress ??= new Progress(o.dryRun ? 'migrate-jobs (dry run)' : 'migrate-jobs', total);
        progress.update(done);
        looked = done;
      },
    });
    progress?.finish(looked);
    for (const line of summary(report, o.dryRun)) out(line);
    return EXIT.OK;
  } finally {
    client.disconnect();
  }
}
