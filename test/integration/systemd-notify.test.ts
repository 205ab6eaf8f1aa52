/**
 * Issue 13, item 10: under systemd (Type=notify, WatchdogSec=) the supervisor says READY=1 once it
 * runs and WATCHDOG=1 every half watchdog period while its control loop ticks; its children see
 * neither the notify socket nor the watchdog variables. systemd's side is played by a few lines of
 * Python on a unix datagram socket (Node has none), which, like systemd, closes the barrier fd
 * that `systemd-notify` passes; the real systemd runs it in scripts/service-walkthrough.sh.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const FAKE_MANAGER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("listening", flush=True)
while True:
    msg, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(data[: len(data) - len(data) % 4])
            for fd in fds:
                os.close(fd)
    print(msg.decode().replace("\\n", " "), flush=True)
`;

describe('systemd notify and watchdog', () => {
  let manager: ChildProcess | undefined;
  let daemon: CliProcess | undefined;
  const prefix = uniquePrefix('notify');
  afterEach(async () => {
    await daemon?.stop();
    manager?.kill('SIGKILL');
    await deletePrefix(prefix);
  });

  it('READY=1 after start, then WATCHDOG=1 every WATCHDOG_USEC/2; children get neither variable', async () => {
    for (const tool of ['python3', 'systemd-notify']) {
      expect(spawnSync(tool, ['--version']).error, `${tool} is needed (apt-get install python3 systemd)`).toBeUndefined();
    }
    const socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'wp-notify-')), 'notify.sock');
    manager = spawn('python3', ['-c', FAKE_MANAGER, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
    let received = '';
    manager.stdout!.setEncoding('utf8');
    manager.stdout!.on('data', (c: string) => (received += c));
    await until(() => received.includes('listening'), 'the fake service manager listening');

    daemon = new CliProcess(['--redis-url', redisUrl(), '--prefix', prefix, '--processor', fixture('sleep.mjs'), '--min-workers', '1', '--max-workers', '1', '--scaling-period', '0.5', '--window', '1', '--metrics-port', '0', '--log-format', 'json'], {
      env: { NOTIFY_SOCKET: socketPath, WATCHDOG_USEC: '600000' },
    });
    const lines = () => received.split('\n');
    await until(() => lines().find((l) => l.startsWith('READY=1')), 'READY=1', 30_000);
    expect(lines().find((l) => l.startsWith('READY=1'))).toContain(`MAINPID=${daemon.proc.pid}`);
    await until(() => lines().filter((l) => l.startsWith('WATCHDOG=1')).length >= 4, 'four watchdog pings', 20_000);
    const started = await daemon.waitForLog('systemd watchdog: pinging while the control loop is healthy');
    expect(started['everySeconds']).toBe(0.3);

    const status = await daemon.status();
    for (const w of status.workers) {
      const environ = readFileSync(`/proc/${w.pid}/environ`, 'utf8').split('\0');
      expect(environ.filter((v) => /^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=/.test(v))).toEqual([]);
    }
  });
});
