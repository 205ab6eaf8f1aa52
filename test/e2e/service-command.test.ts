/**
 * The unit's exact ExecStart= command line, run as systemd would run worker-pool@worker: with
 * config/worker.yml (pointed at the test Redis, a test processor and a free port) as
 * /etc/worker-pool/worker.yml, the unit's Environment= and a credentials directory. It serves
 * /status as pool "worker" (the instance name), shows its process title, exits 0 on SIGTERM
 * (KillMode=mixed sends it to the supervisor only), and exits 78 on a broken file, which
 * RestartPreventExitStatus=78 keeps systemd from retrying.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, cliPerFile, CliProcess, freePort, ROOT } from '../helpers/cli.js';
import { redisUrl } from '../helpers/redis.js';
import { last, parseUnit } from '../helpers/unit-file.js';
import { until } from '../helpers/wait.js';

const unit = parseUnit(path.join(ROOT, 'systemd/worker-pool@.service'));

/** ExecStart= for instance `name`, with the install paths moved to this checkout and `etc`. */
function execStart(name: string, etc: string): string[] {
  const line = last(unit, 'Service', 'ExecStart')!;
  const [program, ...args] = line.replaceAll('/etc/worker-pool/', `${etc}/`).replaceAll('%i', name).split(/\s+/);
  // The unit names the installed command; systemd finds it on its search path.
  expect(program).toBe('worker-pool');
  return [BIN, ...args];
}

function unitEnvironment(credentials: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { CREDENTIALS_DIRECTORY: credentials };
  for (const assignment of unit['Service']?.['Environment'] ?? []) {
    for (const pair of assignment.split(/\s+/)) {
      const eq = pair.indexOf('=');
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

describe('the ExecStart= command line of worker-pool@.service', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-service-'));
  const etc = path.join(dir, 'etc-worker-pool');
  const credentials = path.join(dir, 'credentials');
  const cli = cliPerFile('service');
  const { prefix } = cli;
  let daemon: CliProcess | undefined;

  it('starts worker-pool@worker from config/worker.yml, serves /status, and exits 0 on SIGTERM', async () => {
    mkdirSync(etc);
    mkdirSync(credentials);
    // What LoadCredential= provides; this test Redis has no password, so the file is empty.
    writeFileSync(path.join(credentials, 'redis-password'), '', { mode: 0o600 });
    const port = await freePort();
    const shipped = readFileSync(path.join(ROOT, 'config/worker.yml'), 'utf8');
    const adapted = shipped
      .replace(/^redis-url: .*$/m, `redis-url: ${redisUrl()}\nprefix: ${prefix}`)
      .replace(/^processor: .*$/m, `processor: ${path.join(ROOT, 'test/fixtures/sleep.mjs')}`)
      .replace(/^metrics-port: .*$/m, `metrics-port: ${port}`);
    expect(adapted).not.toBe(shipped);
    writeFileSync(path.join(etc, 'worker.yml'), adapted);

    const argv = execStart('worker', etc);
    // As systemd runs it: the unit's command line as is (bin/worker-pool through its #! line).
    daemon = cli.spawn(argv, { command: [], env: unitEnvironment(credentials) });
    const status = await until(async () => {
      const s = await daemon!.status();
      return s.ready ? s : undefined;
    }, '/status to report ready', 30_000, 100);
    expect(status['pool']).toBe('worker');
    expect(status['queues']).toEqual(['default', 'remote_execution']);
    expect(status['concurrency']).toBe(5);
    expect(status['minWorkers']).toBe(1);
    expect(status['maxWorkers']).toBe(4);

    // Process titles name the instance, as `ps -fp PID` shows them.
    const title = execFileSync('ps', ['-o', 'args=', '-p', String(daemon.proc.pid)], { encoding: 'utf8' }).trim();
    expect(title).toMatch(/^worker-pool worker supervisor \[1 workers, 0 of 5 busy\]/);

    daemon.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
  });

  it('exits 78 with one line naming the key when the instance file is broken', async () => {
    writeFileSync(path.join(etc, 'broken.yml'), readFileSync(path.join(etc, 'worker.yml'), 'utf8').replace(/^concurrency: .*$/m, 'concurrency: five'));
    const broken = cli.spawn(execStart('broken', etc), { command: [], env: unitEnvironment(credentials) });
    expect(await broken.exited).toEqual({ code: 78, signal: null });
    expect(broken.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^worker-pool: concurrency in .*broken\.yml: "five" is not allowed; expected a whole number/)]);
  });
});
