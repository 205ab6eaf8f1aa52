/**
 * Tells systemd (Type=notify) that the pool is ready, and keeps its watchdog (WatchdogSec=) fed
 * while the control loop is healthy, so that a frozen supervisor is restarted. Node has no unix
 * datagram sockets, so each message is one run of `systemd-notify` (which waits until systemd has
 * read it, the unit sets NotifyAccess=all for it). Does nothing outside systemd (no NOTIFY_SOCKET).
 */
import { execFile } from 'node:child_process';

export interface SystemdNotifyOptions {
  env: NodeJS.ProcessEnv;
  pid: number;
  /** Checked before every watchdog ping: false (a stuck control loop) lets the watchdog fire. */
  healthy: () => boolean;
  warn: (message: string, err: string) => void;
  /** The program that sends one message (default `systemd-notify`, from PATH). */
  command?: string;
}

export interface SystemdNotifier {
  /** Milliseconds between watchdog pings (undefined: no watchdog asked for). */
  readonly watchdogIntervalMs: number | undefined;
  stop(): void;
}

export function startSystemdNotify(o: SystemdNotifyOptions): SystemdNotifier | undefined {
  const socket = o.env['NOTIFY_SOCKET'];
  if (!socket) return undefined;
  const command = o.command ?? 'systemd-notify';
  let inFlight = false;
  let warned = false;
  const send = (args: string[]) => {
    // A ping still on its way (systemd busy): the next one is due soon enough.
    if (inFlight) return;
    inFlight = true;
    execFile(command, args, { env: { NOTIFY_SOCKET: socket, PATH: o.env['PATH'] ?? '/usr/bin:/bin' }, timeout: 10_000 }, (err, _stdout, stderr) => {
      inFlight = false;
      if (err && !warned) {
        warned = true;
        o.warn(`systemd: ${command} ${args.join(' ')} failed (reported once)`, `${err.message.split('\n')[0]} ${stderr}`.trim());
      }
    });
  };
  send(['--ready', `--pid=${o.pid}`]);

  const usec = Number(o.env['WATCHDOG_USEC']);
  const watchdogPid = o.env['WATCHDOG_PID'];
  const wanted = Number.isFinite(usec) && usec > 0 && (watchdogPid === undefined || Number(watchdogPid) === o.pid);
  // Half the watchdog period, as sd_watchdog_enabled(3) advises.
  const intervalMs = wanted ? Math.max(100, usec / 1000 / 2) : undefined;
  const timer =
    intervalMs === undefined
      ? undefined
      : setInterval(() => {
          if (o.healthy()) send(['WATCHDOG=1']);
        }, intervalMs);
  timer?.unref();
  return {
    watchdogIntervalMs: intervalMs,
    stop: () => clearInterval(timer),
  };
}
