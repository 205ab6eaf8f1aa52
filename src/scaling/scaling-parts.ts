/**
 * Wires one pool's scaling, the same way for the daemon and the simulator: the control loop between
 * the policy and the supervisor, the arrival watch that wakes a pool at zero when a job arrives, and
 * the saturation watch that asks for an early decision when every slot is busy.
 */
import type { Clock, Timers } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ScalePolicy, ScaleSnapshot } from '../policy/types.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { ArrivalWatch, type MarkerConnection } from './arrival-watch.js';
import { ControlLoop, type DemandSource, type ScaleLimits } from './control-loop.js';
import { SaturationWatch } from './saturation-watch.js';

export interface ScalingInput {
  supervisor: Supervisor;
  policy: ScalePolicy;
  limits: ScaleLimits;
  demand: DemandSource;
  /** Where a job arriving at a pool at zero shows: the queues' markers, on a connection of the watch's own. */
  markers: { connect(): MarkerConnection; prefix: string; queues: readonly string[] };
  sampleIntervalMs: number;
  clock: Clock;
  log: Logger;
  /** Workers the demand calls for, unbounded by max-workers (published for /scaler; policy/workers-wanted.ts). */
  wanted?: (s: ScaleSnapshot) => number;
  /** The loop's timers; default the system's. */
  timers?: Timers;
}

export interface Scaling {
  loop: ControlLoop;
  arrivals: ArrivalWatch;
  saturation: SaturationWatch;
}

export function buildScaling(i: ScalingInput): Scaling {
  const { supervisor, log } = i;
  const loop = new ControlLoop(supervisor, i.policy, i.limits, i.clock, log, i.demand, i.wanted, i.timers);
  const arrivals = new ArrivalWatch({
    ...i.markers,
    atZero: () => supervisor.desired === 0 && loop.running,
    decide: () => loop.decideNow(),
    log,
  });
  loop.onDecision((d) => d.workersAfter === 0 && arrivals.arm());
  const saturation = new SaturationWatch({
    supervisor,
    canGrow: () => loop.running && loop.decidesEarly && supervisor.desired > 0 && supervisor.desired < loop.limits.maxWorkers,
    decide: () => loop.decideSaturated(),
    clock: i.clock,
    minGapMs: i.sampleIntervalMs,
  });
  supervisor.on('worker-message', (_w, m) => m.type === 'sample' && saturation.onSample());
  return { loop, arrivals, saturation };
}

/** Start deciding, from min-workers, and watch for arrivals while that is zero. */
export function startScaling(s: Pick<Scaling, 'loop' | 'arrivals'>): void {
  s.loop.start();
  s.arrivals.arm();
}
