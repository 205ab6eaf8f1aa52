/** The package's library API: run a pool in-process, or use its pure parts. */
export { Daemon, type DaemonOptions, type PoolStatus } from './daemon.js';
export { loadConfig, type PoolConfig } from './config/load.js';
export { ConfigError } from './config/schema.js';
export { decideScale } from './policy/threshold.js';
export { UsageWindow } from './policy/usage-window.js';
export type { ScaleDecision, ScalePolicy, ScaleSnapshot } from './policy/types.js';
export type { ProcessorContext, ProcessorObject, JobHandler } from './worker/processor.js';
