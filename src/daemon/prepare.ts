/**
 * The start-up step, written once for `start`, a reload (SIGHUP) and `check-config`: load and
 * validate the config, read its secret files, check that the processor loads (in a throwaway child),
 * resolve the pool's queues from its selector and the processor's job types, and check the limits
 * that name queues. Every problem is a ConfigError of one line.
 */
import { checkLimitedQueues, type LoadInput, type PoolConfig } from '../config/load.js';
import { ConfigError } from '../config/schema.js';
import { loadWithSecrets } from '../config/secret-files.js';
import { poolQueues, RuleError } from '../routing/rules.js';
import { checkProcessorLoads, type ProcessorCheck } from '../supervisor/check-processor.js';

export interface Prepared {
  config: PoolConfig;
  /** What the processor module exports (handlers, job types, worker options). */
  processor: Extract<ProcessorCheck, { ok: true }>;
}

export async function prepare(input: LoadInput): Promise<Prepared> {
  const config = loadWithSecrets({ ...input, requireProcessor: true });
  const processor = await checkProcessorLoads(config.processor!);
  if (!processor.ok) throw new ConfigError(processor.message);
  try {
    config.queues = poolQueues(config, processor.catalog);
  } catch (err) {
    if (err instanceof RuleError) throw new ConfigError(err.message);
    throw err;
  }
  checkLimitedQueues(config);
  return { config, processor };
}
