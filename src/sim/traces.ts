/**
 * Workloads for the simulator, one job per entry (arrival and duration in seconds, optional queue):
 * built-in traces generated from a seed, or a CSV trace (`arrival_seconds,duration_seconds[,queue]`
 * with a header line) parsed from text, not from a file.
 */
import { Random } from './random.js';

export interface TraceJob {
  arrival: number;
  /** Run time on an uncrowded host (s). */
  duration: number;
  queue: string;
  /** Share of the run time spent on a CPU (0: waits on I/O; 1: pure computation); 0 when absent. */
  cpu?: number;
}

export interface Trace {
  name: string;
  description: string;
  /** Sorted by arrival. */
  jobs: TraceJob[];
  /** Seconds the simulation runs at least (the trace's own length, quiet tail included). */
  horizon: number;
}

export class TraceError extends Error {
  override readonly name = 'TraceError';
}

const Q = 'default';

/** Poisson arrivals at rate(t) jobs/s over [from, to), by thinning against `peak`. */
function poisson(rng: Random, from: number, to: number, peak: number, rate: (t: number) => number, duration: () => number, out: TraceJob[]): void {
  if (peak <= 0) return;
  let t = from;
  for (;;) {
    t += rng.exponential(1 / peak);
    if (t >= to) return;
    if (rng.next() * peak < rate(t)) out.push({ arrival: t, duration: duration(), queue: Q });
  }
}

function finish(name: string, description: string, jobs: TraceJob[], horizon: number): Trace {
  jobs.sort((a, b) => a.arrival - b.arrival);
  return { name, description, jobs, horizon };
}

export const BUILT_IN_TRACES: Record<string, { description: string; make: (seed: number) => Trace }> = {
  'rq-demo': {
    description: 'RQ Orchestrator\'s demo: 2 jobs/s (Poisson) of 1 s for 90 s, then nothing for 90 s',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      poisson(rng, 0, 90, 2, () => 2, () => 1, jobs);
      return finish('rq-demo', BUILT_IN_TRACES['rq-demo']!.description, jobs, 180);
    },
  },
  step: {
    description: '0.5 jobs/s for 2 min, 4 jobs/s for 4 min, 0.5 jobs/s for 4 min; durations exponential, mean 1 s',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      const rate = (t: number) => (t >= 120 && t < 360 ? 4 : 0.5);
      poisson(rng, 0, 600, 4, rate, () => rng.exponential(1), jobs);
      return finish('step', BUILT_IN_TRACES['step']!.description, jobs, 600);
    },
  },
  ramp: {
    description: 'rate rising from 0 to 6 jobs/s over 5 min and back to 0 over 5 min; 1 s jobs',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      const rate = (t: number) => (t < 300 ? (6 * t) / 300 : Math.max(0, (6 * (600 - t)) / 300));
      poisson(rng, 0, 600, 6, rate, () => 1, jobs);
      return finish('ramp', BUILT_IN_TRACES['ramp']!.description, jobs, 660);
    },
  },
  spike: {
    description: '500 jobs of 1 s at once (t = 10 s) over a background of 0.5 jobs/s for 5 min',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      poisson(rng, 0, 300, 0.5, () => 0.5, () => 1, jobs);
      for (let i = 0; i < 500; i++) jobs.push({ arrival: 10, duration: 1, queue: Q });
      return finish('spike', BUILT_IN_TRACES['spike']!.description, jobs, 300);
    },
  },
  diurnal: {
    description: '24 h of Poisson arrivals on a sine (0.6 to 6 jobs/s, peak at noon); durations exponential, mean 1 s',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      const day = 86_400;
      const rate = (t: number) => 3.3 - 2.7 * Math.cos((2 * Math.PI * t) / day);
      poisson(rng, 0, day, 6, rate, () => rng.exponential(1), jobs);
      return finish('diurnal', BUILT_IN_TRACES['diurnal']!.description, jobs, day);
    },
  },
  'heavy-tail': {
    description: '1.5 jobs/s for 10 min; log-normal durations (median 0.5 s, σ 1), and 1 job in 200 runs 100× the median',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      const duration = () => (rng.next() < 0.005 ? 50 : rng.logNormal(0.5, 1));
      poisson(rng, 0, 600, 1.5, () => 1.5, duration, jobs);
      return finish('heavy-tail', BUILT_IN_TRACES['heavy-tail']!.description, jobs, 720);
    },
  },
  // Traces the adaptive policy was not tuned on (issue 17), and one for the CPU-saturation guard.
  'burst-storm': {
    description: 'bursts of 40–200 jobs of 0.5 s (exponential) at random moments, ~1 a minute, over 0.3 jobs/s for 20 min',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      poisson(rng, 0, 1200, 0.3, () => 0.3, () => rng.exponential(0.5), jobs);
      for (let t = rng.exponential(60); t < 1150; t += rng.exponential(60)) {
        const size = 40 + Math.floor(rng.next() * 160);
        for (let i = 0; i < size; i++) jobs.push({ arrival: t + rng.next() * 2, duration: rng.exponential(0.5), queue: Q });
      }
      return finish('burst-storm', BUILT_IN_TRACES['burst-storm']!.description, jobs, 1260);
    },
  },
  'slow-wave': {
    description: '6 h of Poisson arrivals on one slow wave (0.5 to 5 jobs/s and back); durations exponential, mean 1 s',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      const span = 6 * 3600;
      const rate = (t: number) => 2.75 - 2.25 * Math.cos((2 * Math.PI * t) / span);
      poisson(rng, 0, span, 5, rate, () => rng.exponential(1), jobs);
      return finish('slow-wave', BUILT_IN_TRACES['slow-wave']!.description, jobs, span);
    },
  },
  bimodal: {
    description: '30 min of 3 jobs/s (Poisson): 98% run 10 ms, 2% run 60 s',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      poisson(rng, 0, 1800, 3, () => 3, () => (rng.next() < 0.02 ? 60 : 0.01), jobs);
      return finish('bimodal', BUILT_IN_TRACES['bimodal']!.description, jobs, 1900);
    },
  },
  'long-job': {
    description: 'one 300 s job (t = 60 s) among 2 jobs/s of 0.2 s for 10 min',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      poisson(rng, 0, 600, 2, () => 2, () => 0.2, jobs);
      jobs.push({ arrival: 60, duration: 300, queue: Q });
      return finish('long-job', BUILT_IN_TRACES['long-job']!.description, jobs, 660);
    },
  },
  workday: {
    description: 'a day: 0.2 jobs/s at night, 2.5 jobs/s from 8:00 to 18:00 with a lunchtime spike to 8 jobs/s (12:00–13:00); log-normal durations, median 0.5 s',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      const h = 3600;
      const rate = (t: number) => (t >= 12 * h && t < 13 * h ? 8 : t >= 8 * h && t < 18 * h ? 2.5 : 0.2);
      poisson(rng, 0, 24 * h, 8, rate, () => rng.logNormal(0.5, 0.8), jobs);
      return finish('workday', BUILT_IN_TRACES['workday']!.description, jobs, 24 * h);
    },
  },
  'cpu-bound': {
    description: '90 jobs/s (Poisson) of 20 ms of CPU each, plus ~1 ms of fetching and completing one (Redis included), for 5 min — on 2 cores they need 1.9 of them',
    make: (seed) => {
      const rng = new Random(seed);
      const jobs: TraceJob[] = [];
      poisson(rng, 0, 300, 90, () => 90, () => 0.021, jobs);
      for (const j of jobs) j.cpu = 1;
      return finish('cpu-bound', BUILT_IN_TRACES['cpu-bound']!.description, jobs, 300);
    },
  },
};

export function builtInTrace(name: string, seed = 1): Trace | undefined {
  return BUILT_IN_TRACES[name]?.make(seed);
}

/** Parse a CSV trace. Throws TraceError naming the line and what is wrong. */
export function parseTraceCsv(text: string, name = 'csv'): Trace {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (header[0] !== 'arrival_seconds' || header[1] !== 'duration_seconds' || (header.length > 2 && header[2] !== 'queue') || header.length > 3) {
    throw new TraceError(`${name} line 1: header must be "arrival_seconds,duration_seconds" or "arrival_seconds,duration_seconds,queue", got ${JSON.stringify(lines[0] ?? '')}`);
  }
  const jobs: TraceJob[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const cells = line.split(',').map((s) => s.trim());
    if (cells.length < 2 || cells.length > 3) throw new TraceError(`${name} line ${i + 1}: expected 2 or 3 comma-separated values, got ${JSON.stringify(line)}`);
    const arrival = Number(cells[0]);
    const duration = Number(cells[1]);
    if (cells[0] === '' || !Number.isFinite(arrival) || arrival < 0) throw new TraceError(`${name} line ${i + 1}: arrival_seconds ${JSON.stringify(cells[0])} is not a number ≥ 0`);
    if (cells[1] === '' || !Number.isFinite(duration) || duration < 0) throw new TraceError(`${name} line ${i + 1}: duration_seconds ${JSON.stringify(cells[1])} is not a number ≥ 0`);
    const queue = cells[2] ?? Q;
    if (queue === '') throw new TraceError(`${name} line ${i + 1}: queue is empty`);
    jobs.push({ arrival, duration, queue });
  }
  if (jobs.length === 0) throw new TraceError(`${name}: no jobs (one line per job after the header)`);
  jobs.sort((a, b) => a.arrival - b.arrival);
  const last = jobs[jobs.length - 1]!;
  return { name, description: `${jobs.length} jobs from ${name}`, jobs, horizon: last.arrival };
}
