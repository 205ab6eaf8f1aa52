/**
 * The shipped unit files, checked by systemd's own tools (they work without systemd as PID 1):
 * `systemd-analyze verify` is clean and `systemd-analyze security` rates the template ≤ 2.0.
 * verify insists that ExecStart's program exists, so it runs on a temporary copy whose
 * ExecStart points at this checkout's bin/worker-pool instead of the bare `worker-pool` that
 * systemd looks up in /usr/local/bin and /usr/bin.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { OPTION_BY_KEY } from '../../src/config/schema.js';
import { BIN, ROOT } from '../helpers/cli.js';
import { last, parseUnit } from '../helpers/unit-file.js';

const run = promisify(execFile);
const SERVICE = path.join(ROOT, 'systemd/worker-pool@.service');
const TARGET = path.join(ROOT, 'systemd/worker-pool.target');
/** A bare name: systemd searches /usr/local/bin then /usr/bin, so both npm prefixes work. */
const INSTALLED_BIN = 'worker-pool';

async function analyze(args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', args, { env: { ...process.env, SYSTEMD_COLORS: '0', SYSTEMD_PAGER: '' } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('systemd-analyze is missing: apt-get install systemd (.ci/run does this)');
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('systemd units', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pass systemd-analyze verify (template, an instance, and the target)', async () => {
    const text = readFileSync(SERVICE, 'utf8');
    expect(text).toContain(`ExecStart=${INSTALLED_BIN} `);
    writeFileSync(path.join(dir, 'worker-pool@.service'), text.replace(`ExecStart=${INSTALLED_BIN} `, `ExecStart=${BIN} `));
    copyFileSync(TARGET, path.join(dir, 'worker-pool.target'));
    const result = await analyze(['verify', path.join(dir, 'worker-pool@.service'), path.join(dir, 'worker-pool@orchestrator.service'), path.join(dir, 'worker-pool.target')]);
    expect(result).toEqual({ code: 0, out: '' });
  });

  it('rate the service at most 2.0 ("OK") in systemd-analyze security', async () => {
    const result = await analyze(['security', '--offline=true', SERVICE]);
    const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?) (\S+)/.exec(result.out);
    expect(m, result.out).not.toBeNull();
    const exposure = Number(m![1]);
    console.log(`systemd-analyze security --offline=true systemd/worker-pool@.service: ${exposure} ${m![2]}`);
    expect(exposure).toBeLessThanOrEqual(2.0);
  });

  it('set what the service relies on', () => {
    const unit = parseUnit(SERVICE);
    const s = (key: string) => last(unit, 'Service', key);
    expect(s('ExecStart')).toBe(`${INSTALLED_BIN} --config /etc/worker-pool/%i.yml`);
    expect(s('ExecReload')).toMatch(/kill -HUP \$MAINPID$/);
    expect(s('User')).toBe('worker-pool');
    expect(s('Restart')).toBe('on-failure');
    expect(s('RestartPreventExitStatus')!.split(/\s+/)).toContain('78');
    expect(s('KillMode')).toBe('mixed');
    expect(s('OOMPolicy')).toBe('continue');
    expect(s('LoadCredential')).toBe('redis-password:/etc/worker-pool/redis-password');
    // V8 writes and executes JIT code: this setting would crash node.
    expect(s('MemoryDenyWriteExecute') ?? 'no').toBe('no');
    // Longer than the daemon's default stop-timeout plus its 3 s grace for handing jobs back.
    const stopTimeout = OPTION_BY_KEY.get('stop-timeout')!.default as number;
    expect(Number(s('TimeoutStopSec'))).toBeGreaterThan(stopTimeout + 3);
    // A crash loop (a start every RestartSec) hits the start limit; an operator's few restarts
    // do not (systemd counts every start; 5 in 2 minutes failed a walkthrough's instance).
    const burst = Number(last(unit, 'Unit', 'StartLimitBurst'));
    const interval = Number(last(unit, 'Unit', 'StartLimitIntervalSec'));
    expect(burst).toBeLessThan(interval / Number(s('RestartSec')));
    expect(burst).toBeGreaterThanOrEqual(8);
    expect(last(unit, 'Unit', 'PartOf')).toBe('worker-pool.target');
    // Without it the target stops before its instances and `systemctl stop worker-pool.target`
    // returns while they are still draining (seen under systemd 252).
    expect((unit['Unit']?.['After'] ?? []).flatMap((v) => v.split(/\s+/))).toContain('worker-pool.target');
    expect(last(unit, 'Install', 'WantedBy')).toBe('worker-pool.target');

    const target = parseUnit(TARGET);
    expect(last(target, 'Unit', 'Wants')!.split(/\s+/)).toEqual(['worker-pool@orchestrator.service', 'worker-pool@worker.service']);
  });

  it('let common processors work and restart a frozen supervisor (issue 13.10)', () => {
    const unit = parseUnit(SERVICE);
    const s = (key: string) => last(unit, 'Service', key);
    // os.networkInterfaces() and nodemailer open netlink sockets.
    expect(s('RestrictAddressFamilies')!.split(/\s+/)).toEqual(expect.arrayContaining(['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_NETLINK']));
    // ProcSubset=pid hides /proc/cpuinfo and /proc/stat: os.cpus() returns [].
    expect(s('ProcSubset') ?? 'all').toBe('all');
    // ~@privileged holds chown and fchown (tar, cp -p); a later @chown gives them back.
    const filters = unit['Service']!['SystemCallFilter']!;
    const denied = filters.findIndex((f) => f.startsWith('~') && f.includes('@privileged'));
    expect(denied).toBeGreaterThanOrEqual(0);
    expect(filters.slice(denied + 1).some((f) => !f.startsWith('~') && f.split(/\s+/).includes('@chown'))).toBe(true);
    // A frozen supervisor stops feeding the watchdog and is restarted.
    expect(s('Type')).toBe('notify');
    expect(s('NotifyAccess')).toBe('all'); // the messages come from systemd-notify, a child
    expect(Number(s('WatchdogSec'))).toBeGreaterThan(0);
  });
});
