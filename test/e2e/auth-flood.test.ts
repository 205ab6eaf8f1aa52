/**
 * Issue 26, item 4: wrong passwords cannot flood the supervisor. bcrypt ran on the supervisor's
 * event loop with no limit: 50 concurrent bad Basic-auth requests made /healthz answer in 45 s (the
 * control loop shares that loop), and an unknown user name cost less than a known one. Against the
 * daemon as users run it (its own process): /healthz is probed every 50 ms during a flood of 50
 * concurrent requests with distinct wrong passwords, and its latency printed; the right password
 * still gets in; and a wrong password costs the same for a name that exists and one that does not.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { cliPerFile, type CliProcess } from '../helpers/cli.js';
import { basicHeader } from '../helpers/http-access.js';
import { redisUrl } from '../helpers/redis.js';

const USER = 'alice';
const PASSWORD = 'the right password';

/** One request on its own connection (as curl sends it), and how long its answer took. */
function timed(url: string, headers: Record<string, string> = {}): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
    });
    req.setTimeout(120_000, () => req.destroy(new Error(`no answer from ${url} within 120 s`)));
    req.on('error', reject);
  });
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const median = (xs: number[]) => quantile(xs, 0.5);

describe('a flood of wrong passwords', () => {
  const cli = cliPerFile('auth-flood');
  const { prefix } = cli;
  let daemon: CliProcess | undefined;

  it('leaves /healthz fast, lets the right password in, and does not tell which user names exist', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wp-flood-'));
    const file = path.join(dir, 'http.yml');
    // Cost 12, as `htpasswd -nBC 12` in docs/http.md: ~0.25 s of CPU a compare in JavaScript.
    writeFileSync(file, `basic_auth_users:\n  ${USER}: ${JSON.stringify(bcrypt.hashSync(PASSWORD, 12))}\n`, { mode: 0o600 });
    daemon = await cli.start(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'q', '--processor', 'test/fixtures/sleep.mjs', '--http-config', file]);
    const url = daemon.url;

    // Timing does not tell names apart: a wrong password for alice and for a name that does not exist.
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 5; i++) {
      known.push((await timed(`${url}/status`, { authorization: basicHeader(USER, `wrong ${i}`) })).ms);
      unknown.push((await timed(`${url}/status`, { authorization: basicHeader(`nobody-${i}`, `wrong ${i}`) })).ms);
    }
    const ratio = median(unknown) / median(known);
    console.log(`wrong password: median ${median(known).toFixed(0)} ms for a user that exists, ${median(unknown).toFixed(0)} ms for one that does not (ratio ${ratio.toFixed(2)})`);
    expect(ratio).toBeGreaterThan(0.6);
    expect(ratio).toBeLessThan(1.6);

    // The flood, with /healthz probed throughout.
    let flooding = true;
    const probes: number[] = [];
    const prober = (async () => {
      while (flooding) {
        const r = await timed(`${url}/healthz`);
        expect(r.status).toBe(200);
        probes.push(r.ms);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    const t0 = performance.now();
    const flood = await Promise.all(Array.from({ length: 50 }, (_, i) => timed(`${url}/status`, { authorization: basicHeader(i % 2 ? USER : `user${i}`, `guess ${i}`) })));
    const floodMs = performance.now() - t0;
    // A few more probes after the last answer, then stop.
    const seen = probes.length;
    while (probes.length < seen + 3) await new Promise((resolve) => setTimeout(resolve, 50));
    flooding = false;
    await prober;

    const codes = flood.reduce<Record<number, number>>((n, r) => ({ ...n, [r.status]: (n[r.status] ?? 0) + 1 }), {});
    console.log(`flood of 50 wrong passwords: answered in ${floodMs.toFixed(0)} ms (${JSON.stringify(codes)}); /healthz over ${probes.length} probes: p50 ${median(probes).toFixed(0)} ms, p99 ${quantile(probes, 0.99).toFixed(0)} ms, max ${Math.max(...probes).toFixed(0)} ms`);
    for (const r of flood) expect([401, 503]).toContain(r.status);
    // A generous bound: the code before this change answered /healthz in tens of seconds under this flood.
    expect(quantile(probes, 0.99)).toBeLessThan(1000);

    // The right password gets in after the flood.
    expect((await timed(`${url}/status`, { authorization: basicHeader(USER, PASSWORD) })).status).toBe(200);
  });
});
