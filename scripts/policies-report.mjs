#!/usr/bin/env node
// Regenerates docs/policies.md and docs/policies/*.svg from simulations (npm run simulate:report).
// Uses the compiled code in dist/ (npm run build first; the npm script does).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NEW_TRACES, reportMarkdown, runReport } from '../dist/sim/report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pool = { minWorkers: 1, maxWorkers: 10, concurrency: 1, scalingPeriod: 5, window: 30, threshold: 0.5, sampleInterval: 1, spawnSeconds: 0.25, workerMemoryMb: 67 };
const options = {
  seed: 1,
  pool,
  adaptive: { maxStep: 4, stabilizationWindow: 10, memoryBudgetMb: undefined },
  targetWait: 2,
  thresholds: [0.3, 0.5, 0.7, 0.9],
  targetWaits: [0.5, 1, 2, 5],
  // The issue's case: 90 jobs/s of 20 ms of CPU on 2 cores with max-workers 8.
  cpu: { trace: 'cpu-bound', pool: { ...pool, maxWorkers: 8, cores: 2 } },
};
const started = performance.now();
const report = await runReport(options);
const plotDir = path.join(root, 'docs', 'policies');
mkdirSync(plotDir, { recursive: true });
for (const f of readdirSync(plotDir)) if (f.endsWith('.svg')) rmSync(path.join(plotDir, f));
for (const p of report.plots) writeFileSync(path.join(plotDir, p.file), p.svg);
writeFileSync(path.join(root, 'docs', 'policies.md'), reportMarkdown(options, report, 'policies', 'npm run simulate:report'));
for (const t of report.traces) {
  const mark = NEW_TRACES.includes(t.trace) ? '*' : ' ';
  console.log(`${mark}${t.trace.padEnd(12)} ${t.checks.map((c) => `${c.met ? 'met   ' : 'MISSED'} ${c.target} (${c.figure})`).join('\n              ')}${t.unreachable ? `\n              (${t.unreachable})` : ''}`);
}
for (const r of report.guard) console.log(`cpu-bound    ${r.policy.padEnd(32)} p95 ${r.summary.wait.p95.toFixed(2)} s, worker-s ${Math.round(r.summary.workerSeconds)}, peak ${r.summary.peakWorkers}`);
console.log(`wrote docs/policies.md and ${report.plots.length} plots in docs/policies/ (${((performance.now() - started) / 1000).toFixed(1)} s)`);
