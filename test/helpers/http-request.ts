/** HTTP for tests: a daemon's /status, /readyz and /healthz, and plain requests for what fetch will not do (any Host header, a private CA). */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { PoolStatus } from '../../src/daemon/status.js';
import { until } from './wait.js';

/** GET /status of a daemon (as an unauthenticated client sees it). */
export async function readStatus(baseUrl: string): Promise<PoolStatus> {
  const res = await fetch(`${baseUrl}/status`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/status answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as PoolStatus;
}

/** Until GET /readyz of a daemon answers 200 (a refused connection meanwhile: it is not listening yet). */
export async function untilReady(baseUrl: string, timeoutMs = 30_000): Promise<void> {
  await until(async () => (await request(`${baseUrl}/readyz`)).status === 200, `${baseUrl}/readyz to answer 200`, timeoutMs, 100);
}

/**
 * Until `done()` holds: GET /healthz every `intervalMs`, then ask `done`. Every answer must be 200
 * (a stalled control loop answers 503): the first that is not fails at once. Resolves with each
 * answer's latency (ms), for the test to print.
 */
export async function healthzUntil(baseUrl: string, done: () => Promise<boolean>, what: string, timeoutMs: number, intervalMs: number): Promise<number[]> {
  const latencies: number[] = [];
  let refused: Answer | undefined;
  await until(
    async () => {
      const t = performance.now();
      const r = await request(`${baseUrl}/healthz`);
      latencies.push(performance.now() - t);
      if (r.status !== 200) refused = r;
      return refused !== undefined || (await done());
    },
    what,
    timeoutMs,
    intervalMs,
  );
  if (refused) throw new Error(`/healthz answered ${refused.status} (${refused.body.trim()}) while waiting for ${what}`);
  return latencies;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function request(url: string, opts: { method?: string; headers?: Record<string, string>; caFile?: string; body?: string } = {}): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      { method: opts.method ?? 'GET', headers: opts.headers ?? {}, ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}), agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url} within 10 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}
