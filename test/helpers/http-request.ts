/** HTTP for tests: a daemon's /status, and plain requests for what fetch will not do (any Host header, a private CA). */
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import type { PoolStatus } from '../../src/daemon/status.js';

/** GET /status of a daemon (as an unauthenticated client sees it). */
export async function readStatus(baseUrl: string): Promise<PoolStatus> {
  const res = await fetch(`${baseUrl}/status`);
  if (!res.ok) throw new Error(`GET ${baseUrl}/status answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as PoolStatus;
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
