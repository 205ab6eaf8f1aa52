/**
 * `worker-pool simulate`: run a trace through the daemon's own scaling code on a virtual clock and
 * report waits, worker-seconds and scaling behaviour (text or --json), optionally an SVG.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { loadConfig, type RawValues } from '../config/load.js';
import { selectPolicy } from '../policy/select.js';
import { plotSvg } from '../sim/plot.js';
import { simulate, type SimPool } from '../sim/simulate.js';
import { BUILT_IN_TRACES, builtInTrace, parseTraceCsv, TraceError, type Trace } from '../sim/traces.js';
import { CliError, EXIT } from './exit-codes.js';

export { SIM_POOL_KEYS } from './simulate-keys.js';

export interface SimulateOptions {
  trace: string;
  seed: number;
  spawnSeconds: number;
  workerMemoryMb: number;
  /** A host with this many CPUs (the CPU model); undefined: CPU is never short. */
  cores?: number;
  json: boolean;
  plot: string | undefined;
  flags: RawValues;
}

export function loadTrace(nameOrFile: string, seed: number): Trace {
  const builtIn = builtInTrace(nameOrFile, seed);
  if (builtIn) return builtIn;
  if (!existsSync(nameOrFile)) {
    throw new CliError(`--trace: ${JSON.stringify(nameOrFile)} is neither a built-in trace (${Object.keys(BUILT_IN_TRACES).join(', ')}) nor a CSV file`, EXIT.USAGE);
  }
  try {
    return parseTraceCsv(readFileSync(nameOrFile, 'utf8'), nameOrFile);
  } catch (err) {
    if (err instanceof TraceError) throw new CliError(err.message, EXIT.DATAERR);
    throw new CliError(`--trace: cannot read ${nameOrFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, EXIT.DATAERR);
  }
}

/**
 * Most clock steps (samples or scaling decisions) one simulation may take: about 9 s of CPU and
 * 400 MB here (an idle worker's million samples through the daemon's own code). A trace with an
 * arrival at 1e8 s would otherwise run for hours and take gigabytes.
 */
export const MAX_SIM_STEPS = 1_000_000;

/** Refuse a trace whose simulated span needs more steps than MAX_SIM_STEPS (one line, what to change). */
export function checkSimSpan(trace: Trace, stepSeconds: number, stepKey: string): void {
  let longest = 0;
  for (const j of trace.jobs) longest = Math.max(longest, j.duration);
  const span = trace.horizon + longest;
  if (span / stepSeconds <= MAX_SIM_STEPS) return;
  throw new CliError(
    `--trace: ${JSON.stringify(trace.name)} spans ${span} s of simulated time, ${Math.ceil(span / stepSeconds)} steps of ${stepSeconds} s (${stepKey}); at most ${MAX_SIM_STEPS} steps are simulated (up to ${MAX_SIM_STEPS * stepSeconds} s at this ${stepKey}): shorten the trace or lengthen ${stepKey}`,
    EXIT.DATAERR,
  );
}

export async function runSimulate(o: SimulateOptions, out: (line: string) => void = console.log): Promise<number> {
  const config = loadConfig({ flags: o.flags, env: process.env });
  const trace = loadTrace(o.trace, o.seed);
  const [stepSeconds, stepKey] = config.sampleInterval <= config.scalingPeriod ? [config.sampleInterval, 'sample-interval'] : [config.scalingPeriod, 'scaling-period'];
  checkSimSpan(trace, stepSeconds, stepKey);
  const pool: SimPool = {
    minWorkers: config.minWorkers,
    maxWorkers: config.maxWorkers,
    concurrency: config.concurrency,
    scalingPeriod: config.scalingPeriod,
    window: config.window,
    threshold: config.utilizationThreshold,
    sampleInterval: config.sampleInterval,
    spawnSeconds: o.spawnSeconds,
    workerMemoryMb: o.workerMemoryMb,
    queues: config.queues,
    ...(o.cores !== undefined ? { cores: o.cores } : {}),
  };
  const started = performance.now();
  const result = await simulate(trace, pool, selectPolicy(config));
  const elapsedMs = performance.now() - started;
  const s = result.summary;
  if (o.plot) {
    writeFileSync(o.plot, plotSvg(result, { title: `${trace.name} · ${config.policy} · min ${pool.minWorkers} max ${pool.maxWorkers}`, threshold: pool.threshold, maxWorkers: pool.maxWorkers, concurrency: pool.concurrency }));
  }
  if (o.json) {
    out(JSON.stringify({ ...s, trace: trace.name, policy: config.policy, pool, seed: o.seed, simulatedInMs: Math.round(elapsedMs) }, null, 2));
    return EXIT.OK;
  }
  const sec = (x: number) => x.toFixed(2);
  out(`trace ${trace.name}: ${trace.description}`);
  out(`policy ${config.policy}; min ${pool.minWorkers}, max ${pool.maxWorkers}, concurrency ${pool.concurrency}, scaling period ${pool.scalingPeriod} s, window ${pool.window} s, threshold ${pool.threshold}`);
  out('');
  out(`  jobs               ${s.jobs}${s.finished < s.jobs ? ` (${s.jobs - s.finished} never finished)` : ''}`);
  out(`  wait p50/p95/p99   ${sec(s.wait.p50)} / ${sec(s.wait.p95)} / ${sec(s.wait.p99)} s (max ${sec(s.wait.max)} s, mean ${sec(s.wait.mean)} s)`);
  out(`  worker-seconds     ${s.workerSeconds.toFixed(0)} over ${s.durationSeconds.toFixed(0)} s (peak ${s.peakWorkers} workers)`);
  out(`  mean utilization   ${s.meanUtilization.toFixed(2)}`);
  out(`  scale events       ${s.scaleEvents} (${s.reversals} direction reversals)`);
  out(`  time at max        ${s.pinnedAtMaxSeconds.toFixed(0)} s`);
  if (o.plot) out(`  plot               ${o.plot}`);
  out(`  simulated in       ${elapsedMs.toFixed(0)} ms`);
  return EXIT.OK;
}
