/**
 * An SVG picture of one simulation, as pure text, like the one in RQ Orchestrator's README: offered
 * load (grey area, in busy slots), workers (blue steps) and utilization (orange, right axis) with the
 * threshold band (remove below threshold/2, add above threshold) over time.
 */
import type { SimResult } from './simulate.js';
import { escape, niceTicks } from './svg.js';

export interface PlotOptions {
  title: string;
  threshold: number;
  maxWorkers: number;
  concurrency: number;
  width?: number;
  height?: number;
}

const MAX_POINTS = 1500;

export function plotSvg(result: SimResult, o: PlotOptions): string {
  const W = o.width ?? 900;
  const H = o.height ?? 320;
  const m = { l: 48, r: 48, t: 28, b: 36 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const rows = thin(result.timeline, MAX_POINTS);
  const tEnd = Math.max(result.summary.durationSeconds, rows.length ? rows[rows.length - 1]!.t : 1, 1e-9);
  const peakOffered = rows.reduce((a, r) => Math.max(a, r.offered / o.concurrency), 0);
  const yMax = Math.max(1, o.maxWorkers, Math.ceil(peakOffered)) * 1.1;
  const x = (t: number) => m.l + (t / tEnd) * pw;
  const y = (v: number) => m.t + ph - (v / yMax) * ph;
  const yu = (u: number) => m.t + ph - u * ph;
  const f = (n: number) => n.toFixed(1);

  const offered = rows.length
    ? `M${f(x(0))},${f(y(0))} ` + rows.map((r) => `L${f(x(r.t))},${f(y(r.offered / o.concurrency))}`).join(' ') + ` L${f(x(rows[rows.length - 1]!.t))},${f(y(0))} Z`
    : '';
  const steps = result.liveSteps;
  let workers = '';
  steps.forEach(([t, n], i) => {
    workers += i === 0 ? `M${f(x(t))},${f(y(n))}` : ` H${f(x(t))} V${f(y(n))}`;
  });
  workers += ` H${f(x(tEnd))}`;
  const util = rows.filter((r) => r.utilization !== null).map((r, i) => `${i === 0 ? 'M' : 'L'}${f(x(r.t))},${f(yu(r.utilization!))}`).join(' ');

  const ticksX = niceTicks(tEnd, 8);
  const ticksY = niceTicks(yMax / 1.1, 5);
  const unit = tEnd >= 7200 ? 3600 : tEnd >= 300 ? 60 : 1;
  const unitName = unit === 3600 ? 'h' : unit === 60 ? 'min' : 's';
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="16" font-size="13" font-weight="bold">${escape(o.title)}</text>`);
  // Threshold band on the utilization axis.
  out.push(`<rect x="${m.l}" y="${f(yu(o.threshold))}" width="${pw}" height="${f(yu(o.threshold / 2) - yu(o.threshold))}" fill="#f5a623" fill-opacity="0.08"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f(yu(o.threshold))}" y2="${f(yu(o.threshold))}" stroke="#f5a623" stroke-dasharray="4 3"/>`);
  out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f(yu(o.threshold / 2))}" y2="${f(yu(o.threshold / 2))}" stroke="#f5a623" stroke-dasharray="2 3"/>`);
  for (const v of ticksY) out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f(y(v))}" y2="${f(y(v))}" stroke="#eee"/><text x="${m.l - 6}" y="${f(y(v) + 4)}" text-anchor="end">${v}</text>`);
  for (const u of [0, 0.25, 0.5, 0.75, 1]) out.push(`<text x="${m.l + pw + 6}" y="${f(yu(u) + 4)}" fill="#c77c00">${u}</text>`);
  for (const t of ticksX) out.push(`<text x="${f(x(t))}" y="${m.t + ph + 16}" text-anchor="middle">${+(t / unit).toFixed(2)}</text>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 4}" text-anchor="middle">time (${unitName})</text>`);
  out.push(`<path d="${offered}" fill="#999" fill-opacity="0.35" stroke="none"/>`);
  out.push(`<path d="${util}" fill="none" stroke="#f5a623" stroke-width="1.2"/>`);
  out.push(`<path d="${workers}" fill="none" stroke="#1f5fbf" stroke-width="1.8"/>`);
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  const legend = [
    ['#999', 'offered load (workers\' worth)'],
    ['#1f5fbf', 'workers'],
    ['#f5a623', `utilization (right axis; band ${o.threshold / 2}–${o.threshold})`],
  ];
  let lx = m.l + 220;
  for (const [color, label] of legend) {
    out.push(`<rect x="${lx}" y="7" width="10" height="10" fill="${color}"/><text x="${lx + 14}" y="16">${escape(label!)}</text>`);
    lx += 40 + label!.length * 5.6;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function thin<T>(rows: T[], max: number): T[] {
  if (rows.length <= max) return rows;
  const step = rows.length / max;
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(rows[Math.floor(i * step)]!);
  return out;
}

