/** `enqueue --job NAME`: find a job type's actual queue through the catalog and the routing rules. */
import type { RedisTarget } from '../redis/connection.js';
import { CliError, EXIT } from './exit-codes.js';
import { loadRoutingSetup, type SetupInput } from './routing-setup.js';

export interface JobTarget {
  redisUrl: string;
  redis: RedisTarget;
  prefix: string;
  queue: string;
}

export async function resolveJobTarget(jobType: string, input: SetupInput): Promise<JobTarget> {
  const setup = await loadRoutingSetup(input);
  const route = setup.routes.get(jobType);
  if (!route) throw new CliError(`--job: unknown job type "${jobType}"; the catalog has ${[...setup.routes.keys()].join(', ')}`, EXIT.USAGE);
  return { redisUrl: setup.redisUrl, redis: setup.redis, prefix: setup.prefix, queue: route.actual };
}
