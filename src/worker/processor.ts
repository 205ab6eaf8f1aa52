/**
 * Loading the user's processor module and turning it into one function that runs a job.
 * The module's default export is `async (job, token, signal) => result` (as given to a BullMQ
 * Worker; it may also export `init`), `{ init?(ctx), handlers: { name: fn } }` or
 * `{ init?(ctx), jobs: [defineJob(…), …] }` (a catalog of job types with their handlers). It may
 * export `workerOptions`, the BullMQ Worker options the pool does not own (worker-options.ts).
 */
import { pathToFileURL } from 'node:url';
import type { Job, Worker } from 'bullmq';
import { CatalogError, toCatalog, type JobType } from '../routing/job-type.js';
import { syntaxErrorPlace } from './syntax-location.js';
import { toWorkerOptions, WorkerOptionsError, type ModuleWorkerOptions } from './worker-options.js';

/** Called as BullMQ calls a processor: the job, its lock token, and a signal that aborts on cancel or time limit. */
export type JobHandler = (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown> | unknown;

export interface ProcessorContext {
  pool: string;
  workerId: string;
  queues: readonly string[];
  /**
   * This child's BullMQ Worker of one of its queues (the `worker` a plain BullMQ processor closes
   * over, e.g. for `worker.rateLimit(ms)`). Usable once jobs run, not during `init` itself.
   */
  worker(queue: string): Worker;
}

export interface ProcessorObject {
  init?: (ctx: ProcessorContext) => unknown;
  handlers?: Record<string, JobHandler>;
  /** Job types with attributes and a `run` handler, as made by `defineJob`. */
  jobs?: Array<JobType & { run: JobHandler }>;
}

export class ProcessorLoadError extends Error {
  override readonly name = 'ProcessorLoadError';
}

export interface LoadedProcessor {
  run: (job: Job, token?: string, signal?: AbortSignal) => Promise<unknown>;
  /**
   * Whether the function that runs a job of this name is declared with a third parameter, the
   * signal: as BullMQ, only such a processor is given one (an AbortController per job costs ~1.5 µs).
   */
  wantsSignal(jobName: string): boolean;
  /** Job names with a handler, or undefined when one function takes every job. */
  names: string[] | undefined;
  init: ((ctx: ProcessorContext) => unknown) | undefined;
  /** The job types declared with `jobs`, as plain data; undefined when the module has none. */
  catalog?: JobType[];
  /** The module's `workerOptions`, checked: only options the pool does not own. */
  workerOptions: ModuleWorkerOptions;
}

/** BullMQ's test: a processor declared with (job, token, signal) takes the signal. */
function takesSignal(fn: JobHandler): boolean {
  return fn.length >= 3;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? 'an object' : `a ${typeof x}`;
}

/** Check a module's export and build the runner. Throws ProcessorLoadError with a one-line reason. */
export function toProcessor(mod: unknown, file: string): LoadedProcessor {
  const exported = (mod as { default?: unknown })?.default ?? mod;
  // `export const workerOptions` (ESM), or a property of the default export (CommonJS, the object form).
  const options = (mod as { workerOptions?: unknown })?.workerOptions ?? (exported as { workerOptions?: unknown } | null)?.workerOptions;
  let workerOptions: ModuleWorkerOptions;
  try {
    workerOptions = toWorkerOptions(options, `processor ${file}`);
  } catch (err) {
    if (err instanceof WorkerOptionsError) throw new ProcessorLoadError(err.message);
    throw err;
  }
  return { ...toRunner(mod, exported, file), workerOptions };
}

function toRunner(mod: unknown, exported: unknown, file: string): Omit<LoadedProcessor, 'workerOptions'> {
  if (typeof exported === 'function') {
    const fn = exported as JobHandler;
    const init = (mod as { init?: unknown })?.init;
    if (init !== undefined && typeof init !== 'function') {
      throw new ProcessorLoadError(`processor ${file}: "init" must be a function, got ${describe(init)}`);
    }
    const wants = takesSignal(fn);
    return { run: async (job, token, signal) => fn(job, token, signal), wantsSignal: () => wants, names: undefined, init: init as LoadedProcessor['init'] };
  }
  if (typeof exported === 'object' && exported !== null && 'jobs' in exported) {
    return fromJobs(exported as ProcessorObject, file);
  }
  if (typeof exported === 'object' && exported !== null && 'handlers' in exported) {
    const obj = exported as Partial<ProcessorObject>;
    const handlers = obj.handlers;
    if (typeof handlers !== 'object' || handlers === null) {
      throw new ProcessorLoadError(`processor ${file}: "handlers" must be an object of job name → function, got ${describe(handlers)}`);
    }
    for (const [name, h] of Object.entries(handlers)) {
      if (typeof h !== 'function') {
        throw new ProcessorLoadError(`processor ${file}: handler "${name}" must be a function, got ${describe(h)}`);
      }
    }
    if (obj.init !== undefined && typeof obj.init !== 'function') {
      throw new ProcessorLoadError(`processor ${file}: "init" must be a function, got ${describe(obj.init)}`);
    }
    const names = Object.keys(handlers);
    const withSignal = new Set(names.filter((n) => takesSignal(handlers[n]!)));
    return {
      names,
      init: obj.init,
      wantsSignal: (name) => withSignal.has(name),
      run: async (job, token, signal) => {
        const h = Object.prototype.hasOwnProperty.call(handlers, job.name) ? handlers[job.name] : undefined;
        if (!h) {
          throw new Error(`no handler for job name "${job.name}" (this processor handles: ${names.join(', ') || 'nothing'})`);
        }
        return h(job, token, signal);
      },
    };
  }
  throw new ProcessorLoadError(
    `processor ${file}: default export must be a function (job) => result or { init?, handlers: { name: fn } }, got ${describe(exported)}`,
  );
}

/** `{ init?, jobs: [defineJob(…)] }`: the catalog gives both the handlers and the job types. */
function fromJobs(obj: ProcessorObject, file: string): Omit<LoadedProcessor, 'workerOptions'> {
  const list = obj.jobs;
  let catalog: JobType[];
  try {
    catalog = toCatalog(list, `processor ${file}: jobs`);
  } catch (err) {
    if (err instanceof CatalogError) throw new ProcessorLoadError(err.message);
    throw err;
  }
  const handlers: Record<string, JobHandler> = {};
  for (const [i, entry] of (list as unknown[]).entries()) {
    const run = (entry as { run?: unknown }).run;
    if (typeof run !== 'function') throw new ProcessorLoadError(`processor ${file}: jobs[${i}] (${catalog[i]!.name}) has no "run" function; declare it with defineJob({ name, …, run })`);
    handlers[catalog[i]!.name] = run as JobHandler;
  }
  if (obj.handlers !== undefined) throw new ProcessorLoadError(`processor ${file}: give either "jobs" or "handlers", not both`);
  if (obj.init !== undefined && typeof obj.init !== 'function') {
    throw new ProcessorLoadError(`processor ${file}: "init" must be a function, got ${describe(obj.init)}`);
  }
  const loaded = toRunner(undefined, { init: obj.init, handlers }, file);
  return { ...loaded, catalog };
}

export async function loadProcessor(file: string): Promise<LoadedProcessor> {
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    const e = err as Error;
    const where = e instanceof SyntaxError ? syntaxErrorPlace(e, file) : '';
    throw new ProcessorLoadError(`processor ${file} failed to load: ${e?.name ?? 'Error'}: ${String(e?.message ?? e).split('\n')[0]}${where}`);
  }
  return toProcessor(mod, file);
}
