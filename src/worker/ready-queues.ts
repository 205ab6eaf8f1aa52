/**
 * Which of a child's queues hold a job it could take now, in the order they are listed, learned in
 * one Redis call (a script) whatever the number of queues: a queue counts when it is neither paused,
 * at its global concurrency limit, nor rate-limited, and has a job waiting, prioritized, or delayed
 * and already due (BullMQ's fetch promotes those). Also when the next delayed job of the others is
 * due, to bound the wait. The fetch then goes to the first of them only, instead of asking every
 * queue in turn (one round trip each).
 *
 * The checks are those of BullMQ's moveToActive (getQueueMetadata, getRateLimitTTL, the delayed
 * set's score of `timestamp * 0x1000 + counter`), so a queue named here is one a fetch takes from,
 * unless another worker took its job in between (the fetch then tries the next one named).
 */
import type { Redis } from 'ioredis';

// KEYS[1]: any key under the queues' prefix (routes the call to the right node of a cluster, where
// every key of a pool shares the prefix's hash tag). ARGV: now (ms), most queues to name, the key
// prefix ("bull:"), then the queue names in order. Keys are built here from the names, so a call
// carries one short name per queue rather than six keys. An empty queue costs one EXISTS (an empty
// list or set does not exist in Redis); only a queue with something in it is looked at further.
// Returns { next delayed due (ms, 0: none), index, index, ... } (1-based indexes).
const FIND_READY = `
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local prefix = ARGV[3]
local found = {0}
local nextDue = nil
for q = 4, #ARGV do
  local base = prefix .. ARGV[q] .. ':'
  local wait, prioritized, delayed = base .. 'wait', base .. 'prioritized', base .. 'delayed'
  if redis.call('EXISTS', wait, prioritized, delayed) > 0 then
    local ready = redis.call('LLEN', wait) > 0 or redis.call('ZCARD', prioritized) > 0
    if not ready then
      local d = redis.call('ZRANGE', delayed, 0, 0, 'WITHSCORES')
      if d[2] then
        local due = math.floor(tonumber(d[2]) / 0x1000)
        if due <= now then ready = true elseif nextDue == nil or due < nextDue then nextDue = due end
      end
    end
    if ready then
      local m = redis.call('HMGET', base .. 'meta', 'paused', 'concurrency', 'max')
      if m[1] then
        ready = false
      elseif m[2] and redis.call('LLEN', base .. 'active') >= tonumber(m[2]) then
        ready = false
      elseif m[3] and tonumber(m[3]) <= tonumber(redis.call('GET', base .. 'limiter') or 0) then
        local ttl = redis.call('PTTL', base .. 'limiter')
        if ttl > 0 then
          ready = false
          if nextDue == nil or now + ttl < nextDue then nextDue = now + ttl end
        end
      end
    end
    if ready then
      found[#found + 1] = q - 3
      if #found > limit then break end
    end
  end
end
found[1] = nextDue or 0
return found
`;

export interface ReadyQueues {
  /** Indexes (into the queues as listed) of the first queues with a job to take, in order. */
  ready: number[];
  /** When the next delayed job of a queue not ready is due (epoch ms; 0: none). */
  dueAt: number;
}

export class ReadyQueueFinder {
  private readonly args: string[];

  /** `prefix` is BullMQ's (without the colon); `routeKey` any key under it. */
  constructor(
    private readonly client: Redis,
    prefix: string,
    queues: readonly string[],
    private readonly routeKey: string,
  ) {
    this.args = [`${prefix}:`, ...queues];
    if (!('workerPoolFindReady' in client)) client.defineCommand('workerPoolFindReady', { numberOfKeys: 1, lua: FIND_READY });
  }

  /** The first `limit` queues (at most) that hold a job this child could take now. */
  async find(limit: number, now = Date.now()): Promise<ReadyQueues> {
    const run = (this.client as unknown as Record<string, (...a: Array<string | number>) => Promise<number[]>>)['workerPoolFindReady']!;
    const reply = await run.call(this.client, this.routeKey, now, limit, ...this.args);
    return { dueAt: Number(reply[0]) || 0, ready: reply.slice(1).map((i) => Number(i) - 1) };
  }
}
