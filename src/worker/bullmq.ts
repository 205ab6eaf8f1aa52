/**
 * The parts of BullMQ a worker child uses, loaded with require(). BullMQ is CommonJS: importing it
 * from an ES module makes Node scan the source of its index and of every file it re-exports for
 * export names (cjs-module-lexer), ~30 ms of a child's ~150 ms start-up on top of loading it, and a
 * job that wakes a pool at zero waits for exactly that start-up. require() returns the same module
 * object an import would (one cache), so a processor's own `import { UnrecoverableError } from
 * 'bullmq'` still matches the class used here.
 */
import { createRequire } from 'node:module';

const bullmq = createRequire(import.meta.url)('bullmq') as typeof import('bullmq');

export const { ErrorCode, LockManager, Worker, createRedisBackend, RATE_LIMIT_ERROR, SpanKind, TelemetryAttributes, UnrecoverableError } = bullmq;
export type Worker = import('bullmq').Worker;
export type { BackendFactory, Job, RedisQueueBackend } from 'bullmq';
