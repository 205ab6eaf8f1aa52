/** `worker-pool [start]`: run the daemon until SIGTERM/SIGINT (a deliberate second signal forces); SIGHUP reloads the config. */
import type { RawValues } from '../config/load.js';
import { ConfigError } from '../config/schema.js';
import { hardStopMs } from '../config/stop-budget.js';
import { Daemon } from '../daemon/daemon.js';
import { prepare } from '../daemon/prepare.js';
import { startSystemdNotify } from '../observe/systemd-notify.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded.js';
import { CliError, EXIT } from './exit-codes.js';
import { StopSignals } from './stop-signals.js';

export async function runStart(flags: RawValues): Promise<number> {
  // SIGHUP's default action ends the process: hold one that arrives while starting, apply it after.
  let hupWhileStarting = false;
  const holdHup = () => (hupWhileStarting = true);
  process.on('SIGHUP', holdHup);
  const { config } = await prepare({ flags });

  let redis: EmbeddedRedis | undefined;
  if (config.embeddedRedis) {
    redis = await startEmbeddedRedis();
    config.redisUrl = redis.url;
  }
  const daemon = new Daemon({ config });
  try {
    await daemon.start();
  } catch (err) {
    await redis?.stop();
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
      throw new CliError(`metrics-port: cannot listen on ${config.metricsHost}:${config.metricsPort} (${e.code}); choose another --metrics-port or stop what uses it`, EXIT.UNAVAILABLE);
    }
    throw err;
  }
  if (redis) daemon.log.info({ redis: redis.url, dir: redis.dir }, 'using an embedded redis-server (data is thrown away at exit)');

  // Under systemd (Type=notify): ready now; the watchdog is fed while the control loop ticks on
  // time, and, as long as our event loop runs, before its first tick (waiting for Redis to hold
  // the global-concurrency limits) and through a stop (the loop has ended, the drain goes on).
  let stopping = false;
  const notifier = startSystemdNotify({
    env: process.env,
    pid: process.pid,
    healthy: () => stopping || daemon.loop.lastTickAt === undefined || daemon.healthy(),
    warn: (message, err) => daemon.log.warn({ err }, message),
  });
  if (notifier?.watchdogIntervalMs !== undefined) daemon.log.info({ everySeconds: notifier.watchdogIntervalMs / 1000 }, 'systemd watchdog: pinging while the control loop is healthy');

  // Signals only record intent; the daemon acts on it. A second deliberate request forces
  // (stop-signals.ts). The first one also sets when the process leaves at the latest (before the
  // platform's SIGKILL with --stop-budget), even if a step of the stop still waits: children are
  // killed (their jobs go back through the stalled check) and it exits.
  const stopSignals = new StopSignals(() => performance.now());
  const onSignal = (signal: NodeJS.Signals) => {
    const intent = stopSignals.receive(signal);
    if (intent === 'repeat') {
      daemon.log.info({ signal, windowSeconds: stopSignals.repeatWindowMs / 1000 }, 'signal repeated within the window; still draining (send it again later, or another signal, to force)');
      return;
    }
    daemon.log.info({ signal }, intent === 'force' ? 'signal received again; forcing' : 'signal received');
    if (!stopping) {
      const ms = hardStopMs(daemon.config);
      setTimeout(() => {
        const left = daemon.supervisor.workers().filter((w) => w.alive);
        daemon.log.error({ afterMs: Math.round(ms), workers: left.map((w) => w.id) }, 'stop did not end in time; exiting now');
        for (const w of left) w.kill('SIGKILL');
        process.exit(EXIT.FORCED);
      }, ms).unref();
    }
    stopping = true;
    void daemon.stop();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Reloads run one after another; each re-reads the file as at start (same flags and environment).
  let reloads = Promise.resolve();
  const reload = async () => {
    try {
      const { config: next } = await prepare({ flags });
      if (redis) next.redisUrl = redis.url;
      await daemon.reload(next);
    } catch (err) {
      daemon.reloadFailed(err instanceof ConfigError ? err.message : `unexpected error: ${(err as Error).stack ?? String(err)}`);
    }
  };
  const onHup = () => {
    daemon.log.info({ signal: 'SIGHUP', config: config.configFile }, 'signal received; reloading config');
    reloads = reloads.then(reload);
  };
  process.off('SIGHUP', holdHup);
  process.on('SIGHUP', onHup);
  if (hupWhileStarting) onHup();

  const { forced } = await daemon.done;
  notifier?.stop();
  await redis?.stop();
  return forced ? EXIT.FORCED : EXIT.OK;
}
