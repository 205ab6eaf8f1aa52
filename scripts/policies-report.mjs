#!/usr/bin/env node
// Regenerates docs/policies.md and docs/policies/*.svg from simulations (npm run simulate:report).
// Uses the compiled code in dist/ (npm run build first; the npm script does).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportMarkdown, runReport } from '../dist/sim/report.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const options = {
  seed: 1,
  pool: { minWorkers: 1, maxWorkers: 10, concurrency: 1, scalingPeriod: 5, window: 30, threshold: 0.5, sampleInterval: 1, spawnSeconds: 0.25, workerMemoryMb: 67 },
  adaptive: { maxStep: 4, stabilizationWindow: 10, memoryBudgetMb: undefined },
};
const { traces, plots } = runReport(options);
const plotDir = path.join(root, 'docs', 'policies');
mkdirSync(plotDir, { recursive: true });
for (const p of plots) writeFileSync(path.join(plotDir, p.file), p.svg);
writeFileSync(path.join(root, 'docs', 'policies.md'), reportMarkdown(options, traces, 'policies', 'npm run simulate:report'));
for (const t of traces) {
  console.log(`${t.trace.padEnd(11)} ${t.checks.map((c) => `${c.met ? 'met   ' : 'MISSED'} ${c.target} (${c.figure})`).join('\n            ')}`);
}
console.log(`wrote docs/policies.md and ${plots.length} plots in docs/policies/`);
