/**
 * Authentication, TLS, the Host check and what /status shows, on a real in-process pool: the HTTP
 * access file of --http-config (exporter-toolkit keys), and a pool without one.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HIDDEN } from '../../src/daemon/status.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { runCli } from '../helpers/cli.js';
import { basicHeader, writeAccessFiles } from '../helpers/http-access.js';
import { request } from '../helpers/http-request.js';
import { redisUrl } from '../helpers/redis.js';
import { once } from '../helpers/wait.js';

const startPool = poolPerTest();
// Not URL-shaped, so the log redaction (issue 13.5) leaves it: what /status must still hide.
const SECRET = 'the billing API with key hunter2-in-a-reload-error';

describe('HTTP authentication (--http-config)', () => {
  it('asks every endpoint but /healthz and /readyz for basic or bearer credentials', async () => {
    const a = writeAccessFiles();
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const basic = { authorization: basicHeader(a.user, a.password) };
    for (const path of ['/status', '/metrics', '/events', '/history', '/', '/jobs', '/jobs/api/queues']) {
      const r = await request(d.url + path);
      expect(r.status, path).toBe(401);
      expect(r.headers['www-authenticate']).toMatch(/^Basic realm="worker-pool"/);
    }
    expect((await request(`${d.url}/status`, { headers: { authorization: basicHeader(a.user, 'wrong') } })).status).toBe(401);
    expect((await request(`${d.url}/status`, { headers: { authorization: 'Bearer not-the-token-at-all' } })).status).toBe(401);
    expect((await request(`${d.url}/healthz`)).status).toBe(200);
    expect([200, 503]).toContain((await request(`${d.url}/readyz`)).status);
    expect((await request(`${d.url}/metrics`, { headers: basic })).body).toContain('worker_pool_workers');
    expect((await request(`${d.url}/metrics`, { headers: { authorization: `Bearer ${a.token}` } })).status).toBe(200);

    // An authenticated client sees errors in full.
    d.reloadFailed(`cannot reach ${SECRET}`);
    const full = JSON.parse((await request(`${d.url}/status`, { headers: basic })).body) as { lastReload: { error: string } };
    expect(full.lastReload.error).toContain('hunter2');
  });

  it('worker-pool status sends the credentials it reads from files, and names what is missing', async () => {
    const a = writeAccessFiles();
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const bare = await runCli(['status', '--url', d.url]);
    expect(bare.code).toBe(77);
    expect(bare.stdout.trim()).toBe(`worker-pool status: the daemon at ${d.url} asks for credentials (HTTP 401): pass --token-file FILE (a bearer token) or --user NAME --password-file FILE`);
    const token = await runCli(['status', '--url', d.url, '--token-file', path.join(a.dir, 'token'), '--json']);
    expect(token.stderr).toBe('');
    expect([0, 1]).toContain(token.code);
    expect(JSON.parse(token.stdout)).toMatchObject({ pool: 'default' });
    const pwFile = path.join(a.dir, 'password');
    writeFileSync(pwFile, `${a.password}\n`);
    const basic = await runCli(['status', '--url', d.url, '--user', a.user, '--password-file', pwFile]);
    expect(basic.stdout).toContain('● worker-pool default');
    writeFileSync(pwFile, 'wrong\n');
    const wrong = await runCli(['status', '--url', d.url, '--user', a.user, '--password-file', pwFile]);
    expect(wrong.code).toBe(77);
    expect(wrong.stdout).toContain('the credentials given were refused');
    // The secrets came from files: none is in the command line, and a missing file is one line.
    const missing = await runCli(['status', '--url', d.url, '--token-file', path.join(a.dir, 'nope')]);
    expect(missing.code).toBe(78);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('--token-file');
    const both = await runCli(['status', '--url', d.url, '--user', a.user]);
    expect(both.code).toBe(64);
    expect(both.stderr).toContain('--user and --password-file go together');
  });

  it('without an access file and reachable from other hosts (--http-insecure), /status hides errors that may carry secrets', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'metrics-host': '0.0.0.0', 'http-insecure': true });
    d.reloadFailed(`cannot reach ${SECRET}`);
    const r = await request(`http://127.0.0.1:${new URL(d.url).port}/status`);
    expect(r.status).toBe(200);
    expect(r.body).not.toContain('hunter2');
    expect((JSON.parse(r.body) as { lastReload: { ok: boolean; error: string } }).lastReload).toEqual(expect.objectContaining({ ok: false, error: HIDDEN }));
  });

  it('on a loopback-only pool without an access file, `worker-pool status` shows why a slot is fatal (issue 27.6), passwords redacted', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('exit-on-load.mjs'), 'min-workers': 1, 'start-retries': 1 }, { waitReady: false });
    await once(d.supervisor, 'slot-fatal', () => true, 30_000);
    d.reloadFailed('cannot reach redis://pool:s3cret-in-a-reload@10.0.0.9:6379');
    const out = await runCli(['status', '--url', d.url]);
    expect(out.stdout).toMatch(/FATAL .*this processor refuses to load/);
    expect(out.stdout).not.toContain('hidden');
    const body = JSON.parse((await request(`${d.url}/status`)).body) as { lastReload: { error: string }; fatalSlots: Array<{ lastError: string }> };
    expect(body.fatalSlots[0]!.lastError).toMatch(/this processor refuses to load/);
    expect(body.lastReload.error).toBe('cannot reach redis://pool:***@10.0.0.9:6379');
  });

  it('serves TLS with the cert and key files of tls_server_config', async () => {
    const a = writeAccessFiles({ tls: true });
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    expect(d.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await request(`${d.url}/status`, { caFile: a.certFile!, headers: { authorization: `Bearer ${a.token}` } });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toMatchObject({ pool: 'default' });
    await expect(request(`${d.url.replace('https:', 'http:')}/healthz`)).rejects.toThrow();
  });
});

describe('Host header (DNS rebinding)', () => {
  it('answers the bind address, loopback names and host_names; refuses any other name with 403', async () => {
    const a = writeAccessFiles({ hostNames: ['pool1.internal'] });
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const port = new URL(d.url).port;
    const auth = { authorization: `Bearer ${a.token}` };
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `pool1.internal:${port}`]) expect((await request(`${d.url}/status`, { headers: { ...auth, host } })).status, host).toBe(200);
    const evil = await request(`${d.url}/healthz`, { headers: { host: `rebind.attacker.example:${port}` } });
    expect(evil.status).toBe(403);
    expect(evil.body).toContain('host_names');
  });

  it('checks Host without an access file too (the default loopback daemon)', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs') });
    expect((await request(`${d.url}/status`, { headers: { host: 'attacker.example' } })).status).toBe(403);
    expect((await request(`${d.url}/status`, { headers: { host: 'localhost' } })).status).toBe(200);
  });
});

describe('exposure', () => {
  it('start refuses a non-loopback --metrics-host without auth with exit 78 and one line; check-config too', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wp-exposed-'));
    const file = path.join(dir, 'exposed.yml');
    writeFileSync(file, `processor: ${JSON.stringify(fixture('handlers.mjs'))}\nmetrics-host: 0.0.0.0\n`);
    const runs = [
      ['--processor', 'test/fixtures/handlers.mjs', '--redis-url', redisUrl(), '--metrics-host', '0.0.0.0', '--metrics-port', '0'],
      ['check-config', file],
    ];
    for (const args of runs) {
      const r = await runCli(args, { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(78);
      const lines = (r.stderr + r.stdout).trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/metrics-host: "0\.0\.0\.0" is not allowed without authentication/);
      // The refusal names everything --http-insecure would open, the job board too (issue 26.2).
      expect(lines[0]).toMatch(/--http-insecure to serve \/metrics, \/status, \/events \(and \/jobs with --job-board open\) to anyone/);
    }
  });

  it('with --http-insecure, warns at start naming what everyone sees, /jobs too when open (issue 26.2)', async () => {
    const { logs } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'metrics-host': '0.0.0.0', 'http-insecure': true, 'job-board': 'open' });
    const warning = logs.find((l) => l['level'] === 40 && String(l['msg']).startsWith('--http-insecure:'));
    expect(String(warning?.['msg'])).toMatch(/^--http-insecure: every client that reaches 0\.0\.0\.0:0 sees \/metrics, \/status and \/events without credentials, and the job board \/jobs with job data, return values and errors$/);
  });

  it('warns at start, naming the file and its mode, when a secret file is readable by every user (issue 26.10)', async () => {
    const a = writeAccessFiles();
    chmodSync(a.file, 0o644);
    chmodSync(path.join(a.dir, 'token'), 0o600);
    const { logs } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const warnings = logs.filter((l) => l['level'] === 40).map((l) => String(l['msg']));
    expect(warnings).toContain(`http-config: the access file ${a.file} is readable by every user of this host (mode 0644); chmod o-rwx it (e.g. chmod 600, or 640 with the service's group)`);
    expect(warnings.some((w) => w.includes('bearer_token_file'))).toBe(false);
    // And check-config says it too.
    const dir = mkdtempSync(path.join(tmpdir(), 'wp-modes-'));
    const file = path.join(dir, 'pool.yml');
    writeFileSync(file, `processor: ${JSON.stringify(fixture('handlers.mjs'))}\nhttp-config: ${JSON.stringify(a.file)}\n`);
    const check = await runCli(['check-config', file], { timeoutMs: 30_000 });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain(`warning ${file}: http-config: the access file ${a.file} is readable by every user of this host (mode 0644)`);
  });
});
