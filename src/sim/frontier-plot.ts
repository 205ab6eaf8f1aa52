/**
 * An SVG of the cost/wait frontier of one trace, as pure text: each policy run is a point,
 * worker-seconds (what the pool cost) across, p95 wait (what the jobs paid) up, on a log scale from
 * 10 ms (lower-left is better), with the runs of one family (thresholds, wait targets) joined by a line.
 */
import { escape, niceTicks } from './svg.js';

export interface FrontierPoint {
  family: string;
  label: string;
  workerSeconds: number;
  p95: number;
}

const COLORS: Record<string, string> = { threshold: '#1f5fbf', adaptive: '#d0021b', latency: '#2a9d3c', 'fixed at max': '#666', 'fixed at min': '#999' };
const FLOOR = 0.01;

export interface FrontierOptions {
  width?: number;
  height?: number;
  /** A region to shade: what meets a target (at most this many worker-seconds and this p95 wait). */
  target?: { workerSeconds: number; p95: number; label: string };
}

export function frontierSvg(title: string, points: FrontierPoint[], o: FrontierOptions = {}): string {
  const W = o.width ?? 640;
  const H = o.height ?? 340;
  const m = { l: 60, r: 150, t: 28, b: 40 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const xMax = Math.max(...points.map((p) => p.workerSeconds), 1) * 1.05;
  const yTop = Math.log10(Math.max(FLOOR * 10, ...points.map((p) => p.p95 + FLOOR)) * 1.5);
  const yBottom = Math.log10(FLOOR);
  const x = (ws: number) => m.l + (ws / xMax) * pw;
  const y = (p95: number) => m.t + ph - ((Math.log10(p95 + FLOOR) - yBottom) / (yTop - yBottom)) * ph;
  const f = (n: number) => n.toFixed(1);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${m.l}" y="16" font-size="13" font-weight="bold">${escape(title)}</text>`);
  for (let e = Math.ceil(yBottom); e <= yTop; e++) {
    const v = 10 ** e;
    out.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${f(y(v - FLOOR))}" y2="${f(y(v - FLOOR))}" stroke="#eee"/><text x="${m.l - 6}" y="${f(y(v - FLOOR) + 4)}" text-anchor="end">${v >= 1 ? v : v.toFixed(-e)} s</text>`);
  }
  for (const t of niceTicks(xMax / 1.05, 5)) out.push(`<line x1="${f(x(t))}" x2="${f(x(t))}" y1="${m.t}" y2="${m.t + ph}" stroke="#f3f3f3"/><text x="${f(x(t))}" y="${m.t + ph + 16}" text-anchor="middle">${short(t)}</text>`);
  out.push(`<text x="${m.l + pw / 2}" y="${H - 6}" text-anchor="middle">worker-seconds</text>`);
  out.push(`<text x="14" y="${m.t + ph / 2}" transform="rotate(-90 14 ${m.t + ph / 2})" text-anchor="middle">p95 wait (log)</text>`);
  if (o.target) {
    const tx = Math.min(x(o.target.workerSeconds), m.l + pw);
    const ty = Math.max(m.t, y(o.target.p95));
    out.push(`<rect x="${m.l}" y="${f(ty)}" width="${f(tx - m.l)}" height="${f(m.t + ph - ty)}" fill="#d0021b" fill-opacity="0.06" stroke="#d0021b" stroke-opacity="0.3" stroke-dasharray="3 3"/>`);
    out.push(`<text x="${m.l + 4}" y="${f(m.t + ph - 4)}" fill="#d0021b" font-size="9">${escape(o.target.label)}</text>`);
  }
  out.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  const families = [...new Set(points.map((p) => p.family))];
  for (const fam of families) {
    const pts = points.filter((p) => p.family === fam).sort((a, b) => a.workerSeconds - b.workerSeconds);
    const color = COLORS[fam] ?? '#000';
    if (pts.length > 1) out.push(`<path d="${pts.map((p, i) => `${i ? 'L' : 'M'}${f(x(p.workerSeconds))},${f(y(p.p95))}`).join(' ')}" fill="none" stroke="${color}" stroke-opacity="0.5"/>`);
    for (const p of pts) {
      out.push(`<circle cx="${f(x(p.workerSeconds))}" cy="${f(y(p.p95))}" r="4" fill="${color}"/>`);
      out.push(`<text x="${f(x(p.workerSeconds) + 6)}" y="${f(y(p.p95) - 5)}" fill="${color}" font-size="9">${escape(p.label)}</text>`);
    }
  }
  families.forEach((fam, i) => {
    out.push(`<circle cx="${m.l + pw + 16}" cy="${m.t + 10 + i * 16}" r="4" fill="${COLORS[fam] ?? '#000'}"/><text x="${m.l + pw + 24}" y="${m.t + 14 + i * 16}">${escape(fam)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function short(n: number): string {
  return n >= 1e6 ? `${+(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : String(n);
}

