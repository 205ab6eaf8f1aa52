/**
 * Stopping children with a deadline: each drains (finishes its running jobs, takes no new one); at
 * the deadline those still running hand their jobs back, and what is still alive is killed.
 */
import type { Logger } from '../logger.js';
import { settledWithin } from '../timing.js';
import type { WorkerProcess } from './worker-process.js';

/** The end of the stop timeout kept for handing running jobs back and killing (at most). */
const STOP_RESERVE_MS = 3000;

/** Drain `all`, wait up to `timeoutMs` (less the reserve; `force` ends the wait at once), then hand back and kill. Resolves to whether anything had to be forced. */
export async function stopChildren(all: WorkerProcess[], timeoutMs: number, force: Promise<void> | undefined, log: Logger): Promise<{ forced: boolean }> {
  // A child that ends other than cleanly during the drain (fenced when Redis stopped answering,
  // crashed) left its jobs unfinished: the stop counts as forced, as when the deadline hands them back.
  let unclean = 0;
  for (const w of all) {
    w.once('exit', (code: number | null) => code !== 0 && unclean++);
    w.drain('shutdown');
  }
  const allExited = Promise.all(all.map((w) => w.exited()));
  // The stop timeout is the whole budget: the last part of it is kept for handing jobs back and
  // killing what still runs, so that even with Redis unreachable the stop ends within it.
  const reserveMs = Math.min(STOP_RESERVE_MS, timeoutMs / 2);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), timeoutMs - reserveMs)));
  const outcome = await Promise.race([allExited.then(() => 'done' as const), deadline, ...(force ? [force.then(() => 'deadline' as const)] : [])]);
  clearTimeout(timer);
  if (outcome === 'done') return { forced: unclean > 0 };
  const left = all.filter((w) => w.alive);
  log.warn({ workers: left.map((w) => w.id), jobs: left.reduce((n, w) => n + w.busySlots, 0) }, 'stop deadline reached; handing running jobs back');
  for (const w of left) w.handBack();
  const killTimer = setTimeout(() => left.forEach((w) => w.kill('SIGKILL')), reserveMs * 0.6);
  // SIGKILL ends every child at once; the wait is bounded all the same, so the stop keeps its deadline.
  await settledWithin(Promise.all(left.map((w) => w.exited())), reserveMs);
  clearTimeout(killTimer);
  return { forced: left.length > 0 || unclean > 0 };
}
