/**
 * A real Prometheus (Debian's `prometheus`) scrapes a daemon that asks for authentication and serves
 * TLS (--http-config): one job with `basic_auth`, one with `authorization` (bearer), both over
 * https with the daemon's certificate as CA, must be up; a job with a wrong password and one with
 * no credentials must be down with 401.
 */
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliPerFile, type CliProcess } from '../helpers/cli.js';
import { writeAccessFiles, type AccessFiles } from '../helpers/http-access.js';
import { startPrometheus, type Prometheus } from '../helpers/prometheus.js';
import { redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

interface Targets {
  data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
}

describe('Prometheus scrapes with basic_auth and authorization over TLS', () => {
  const cli = cliPerFile('promauth');
  const { prefix } = cli;
  let access: AccessFiles;
  let daemon: CliProcess;
  let prometheus: Prometheus | undefined;
  let prom: string;

  beforeAll(async () => {
    access = writeAccessFiles({ tls: true });
    daemon = await cli.start(['--name', 'prom-auth', '--redis-url', redisUrl(), '--prefix', prefix, '--processor', 'test/fixtures/handlers.mjs', '--http-config', access.file]);
    expect(daemon.url).toMatch(/^https:/);
    const target = new URL(daemon.url).host;
    const job = (name: string, auth: string[]) => [
      `  - job_name: ${name}`,
      '    scheme: https',
      `    tls_config: { ca_file: ${JSON.stringify(access.certFile)} }`,
      ...auth.map((l) => `    ${l}`),
      `    static_configs: [{ targets: [${JSON.stringify(target)}] }]`,
    ];
    writeFileSync(path.join(access.dir, 'token-for-prometheus'), access.token);
    prometheus = await startPrometheus(
      access.dir,
      [
        'global: { scrape_interval: 1s }',
        'scrape_configs:',
        ...job('basic', [`basic_auth: { username: ${access.user}, password: ${JSON.stringify(access.password)} }`]),
        ...job('bearer', [`authorization: { type: Bearer, credentials_file: ${JSON.stringify(path.join(access.dir, 'token-for-prometheus'))} }`]),
        ...job('wrong', [`basic_auth: { username: ${access.user}, password: not-the-password }`]),
        ...job('none', []),
      ],
    );
    prom = prometheus.url;
  });

  afterAll(async () => {
    await prometheus?.stop();
    if (access) rmSync(access.dir, { recursive: true, force: true });
  });

  it('basic and bearer jobs are up, wrong or missing credentials are down with 401', async () => {
    const health = async () => {
      const t = (await (await fetch(`${prom}/api/v1/targets`)).json()) as Targets;
      return Object.fromEntries(t.data.activeTargets.map((a) => [a.labels.job, a]));
    };
    const h = await until(
      async () => {
        const x = await health();
        return ['basic', 'bearer', 'wrong', 'none'].every((j) => x[j] && x[j].health !== 'unknown') ? x : undefined;
      },
      'every target scraped once',
      30_000,
      250,
    );
    expect(h['basic']!.health, h['basic']!.lastError).toBe('up');
    expect(h['bearer']!.health, h['bearer']!.lastError).toBe('up');
    expect(h['wrong']!.health).toBe('down');
    expect(h['wrong']!.lastError).toContain('401');
    expect(h['none']!.health).toBe('down');
    expect(h['none']!.lastError).toContain('401');
    // And the samples arrived through the authenticated jobs.
    const q = (await (await fetch(`${prom}/api/v1/query?query=${encodeURIComponent('worker_pool_max_workers{pool="prom-auth"}')}`)).json()) as { data: { result: Array<{ metric: { job: string } }> } };
    expect(q.data.result.map((r) => r.metric.job).sort()).toEqual(['basic', 'bearer']);
  });
});
