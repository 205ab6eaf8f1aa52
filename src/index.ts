/** The package's library API: run a pool in-process, or use its pure parts. */
export { Daemon, type DaemonOptions, type PoolStatus } from './daemon/daemon.js';
export { loadConfig, type PoolConfig } from './config/load.js';
export { loadWithSecrets, readSecretFiles } from './config/secret-files.js';
export { ConfigError } from './config/schema.js';
export { decideScale } from './policy/threshold.js';
export { UsageWindow } from './policy/usage-window.js';
export type { ScaleDecision, ScalePolicy, ScaleSnapshot } from './policy/types.js';
export type { ProcessorContext, ProcessorObject, JobHandler } from './worker/processor.js';
export { createProducer, UnknownJobTypeError, type Producer, type ProducerOptions } from './producer.js';
export { cancelJob, type CancelOutcome } from './redis/cancel-channel.js';
export type { ModuleWorkerOptions } from './worker/worker-options.js';
export { connect, type RedisTarget, type RedisEndpoint, type ConnectOptions } from './redis/connection.js';
export { defineJob, toCatalog, type JobType, type JobTypeSpec, type JobDefinition } from './routing/job-type.js';
export { generatedQueueName } from './routing/queue-name.js';
export { parseSelector, matches, SelectorError, type Selector } from './routing/selector.js';
export { parseRules, routeCatalog, routeJobType, type RoutingRule, type Route } from './routing/rules.js';
