/** What a Supervisor is given (its options) and what it tells (its events). */
import type { BackoffOptions } from '../policy/backoff.js';
import type { ChildMessage, WorkerSettings } from '../ipc/messages.js';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { Slot } from './slots.js';
import type { ExitReason, StartWorkerChild, WorkerProcess } from './worker-process.js';

export interface SupervisorOptions {
  /** Settings for every child, less its id. */
  settings: Omit<WorkerSettings, 'workerId' | 'tokenBase'>;
  windowMs: number;
  clock: Clock;
  log: Logger;
  backoff?: BackoffOptions;
  workerEntry?: string;
  /** How each child is started; default: forked from `workerEntry` (the simulator starts simulated ones). */
  startChild?: StartWorkerChild;
  maxJobsPerWorker?: number;
  maxMemoryMb?: number;
  /**
   * The start of each new child's token base (the fleet registration's `e${epoch}/`), so a peer can
   * find a dead host's jobs by it; '' or absent: a bare unique id.
   */
  tokenPrefix?: () => string;
  /** Whether another child may be forked now (the fleet cap has a slot, the lease is held); default yes. */
  admit?: () => boolean;
  /**
   * The fleet lease each new child starts with (host monotonic ms, see hostMonotonicMs) and the file
   * that carries newer ones (LeaseFile); absent: no fleet lease, children run until told to stop.
   */
  lease?: { until: () => number; file: string };
}

export interface WorkerExit {
  worker: WorkerProcess;
  reason: ExitReason;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisorEvents {
  'worker-started': [WorkerProcess];
  'worker-ready': [WorkerProcess];
  'worker-draining': [WorkerProcess, ExitReason];
  'worker-exit': [WorkerExit];
  'worker-message': [WorkerProcess, ChildMessage];
  'slot-fatal': [Slot];
}
