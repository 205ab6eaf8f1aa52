/**
 * Rolls new worker settings (a reload's concurrency, queues or processor) through the pool one
 * worker at a time: retire one outdated worker (its successor is forked first and the old one
 * drains only once the successor is ready), wait for the successor, then the next. The pool never
 * has fewer ready workers than before, and no running job is interrupted.
 */
import type { Logger } from '../logger.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerProcess } from './worker-process.js';

export interface RolloutResult {
  replaced: number;
  /** Why it stopped before every worker was replaced (undefined when it finished). */
  stopped?: 'superseded' | 'pool stopping' | 'successor failed to start';
}

export class Rollout {
  private generation = 0;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly log: Logger,
  ) {}

  /**
   * Replace every worker forked with older settings. A later call supersedes a running one
   * (the newest settings win; the workers replaced so far already have them or are outdated again).
   */
  async replaceOutdated(): Promise<RolloutResult> {
    const generation = ++this.generation;
    let replaced = 0;
    for (;;) {
      if (generation !== this.generation) return { replaced, stopped: 'superseded' };
      const outdated = this.supervisor.outdated();
      // A starting child cannot be drained cleanly yet: wait for it to be ready (or gone), then look again.
      const starting = outdated.find((w) => w.state === 'starting');
      const candidates = outdated.filter((w) => w.state === 'running').sort((a, b) => a.busySlots - b.busySlots);
      const old = candidates[0];
      if (!old) {
        if (!starting) break;
        await readyOrExit(starting);
        continue;
      }
      const successor = this.supervisor.retire(old, 'reload');
      if (!successor) return { replaced, stopped: 'pool stopping' };
      this.log.info({ worker: old.id, pid: old.pid, successor: successor.id, left: candidates.length - 1 }, 'reload: replacing worker');
      if ((await readyOrExit(successor)) === 'exit') {
        // Scaled down before it was ready: the pool wanted one worker fewer; go on with the rest.
        if (successor.stopReason !== undefined) continue;
        this.log.error({ worker: successor.id, loadError: successor.loadError }, 'reload: a new worker failed to start; the remaining workers keep their old settings');
        return { replaced, stopped: 'successor failed to start' };
      }
      replaced++;
    }
    if (replaced > 0) this.log.info({ replaced }, 'reload: every worker runs the new settings');
    return { replaced };
  }
}

function readyOrExit(worker: WorkerProcess): Promise<'ready' | 'exit'> {
  if (worker.state === 'exited') return Promise.resolve('exit');
  if (worker.state !== 'starting') return Promise.resolve('ready');
  return new Promise((resolve) => {
    const onReady = () => done('ready');
    const onExit = () => done('exit');
    const done = (how: 'ready' | 'exit') => {
      worker.off('ready', onReady);
      worker.off('exit', onExit);
      resolve(how);
    };
    worker.on('ready', onReady);
    worker.on('exit', onExit);
  });
}
