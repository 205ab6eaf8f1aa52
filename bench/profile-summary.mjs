#!/usr/bin/env node
// Top entries of a V8 CPU profile (node --cpu-prof), by self time:
// `node bench/profile-summary.mjs FILE.cpuprofile [N] [FROM_SECONDS]` (samples from FROM_SECONDS on
// only, to leave start-up out). Prints each function's share of the samples that were not idle, with
// the file it lives in (node_modules/… shortened).
import { readFileSync } from 'node:fs';

const [file, n = '15', from = '0'] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((x) => [x.id, x]));
const counts = new Map();
let t = 0;
let idle = 0;
let all = 0;
prof.samples.forEach((id, i) => {
  t += prof.timeDeltas[i] ?? 0;
  if (t / 1e6 < Number(from)) return;
  all++;
  if (byId.get(id).callFrame.functionName === '(idle)') return void idle++;
  counts.set(id, (counts.get(id) ?? 0) + 1);
});
const total = all - idle;
const agg = new Map();
for (const [id, c] of counts) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const where = url ? url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(src|dist|bench)\//, '$1/') : '';
  const key = `${functionName || '(anonymous)'} ${where}${where ? `:${lineNumber + 1}` : ''}`;
  agg.set(key, (agg.get(key) ?? 0) + c);
}
const rows = [...agg].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
console.log(`${all} samples from ${from} s of ${((prof.endTime - prof.startTime) / 1e6).toFixed(1)} s, ${((100 * idle) / Math.max(1, all)).toFixed(1)}% idle; shares below are of the ${total} busy ones`);
for (const [k, c] of rows) console.log(`${((100 * c) / total).toFixed(1).padStart(5)}%  ${k}`);
