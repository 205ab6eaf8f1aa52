/**
 * One Lua script that moves one job from a queue to another queue under the same BullMQ prefix,
 * atomically: it runs inside Redis, so a worker's fetch (itself a script) sees the job either in
 * the old queue or in the new one, never in both and never in neither, and a migration killed at
 * any moment leaves every job whole. It writes the journal entry before the job leaves the old queue.
 *
 * Written for BullMQ 6.7's layout: a job is the hash `<prefix>:<queue>:<id>` (fields name, data,
 * opts, timestamp, delay, priority, atm = attempts made, ats = attempts started, …) and its id sits
 * in exactly one state key: `wait` (list; paused queues keep it there too), `prioritized` (zset,
 * score priority·2³² + counter from `pc`) or `delayed` (zset, score due-time-ms·4096 + a counter).
 * Workers learn about new work through the `marker` zset (member "0": a job is waiting; member
 * "1" with the next due time: a delayed job).
 */
import type { Redis } from 'ioredis';

/*
  KEYS[1]  source state key (wait list, prioritized zset or delayed zset)
  KEYS[2]  source job hash
  KEYS[3]  target state key, same kind as the source
  KEYS[4]  target meta hash (is the queue paused?)
  KEYS[5]  target marker zset
  KEYS[6]  target priority counter
  KEYS[7]  target id counter
  KEYS[8]  target events stream
  KEYS[9]  source events stream
  KEYS[10] migration journal hash
  KEYS[11] source job's dependencies (a flow parent has them)
  KEYS[12] source job's logs
  KEYS[13] target job hash under the source id
  KEYS[14] its logs
  KEYS[15] target job hash under the other id (ARGV[4]), used when the source id is taken there
  KEYS[16] its logs
  Every key the script touches is in KEYS, none is built from ARGV: Redis Cluster needs to see
  them all, and with a {hash tag} prefix they all share one slot.
  ARGV[1]  state: wait | prioritized | delayed
  ARGV[2]  job id in the source queue
  ARGV[3]  (unused; kept so the argument positions stay as they were)
  ARGV[4]  id to use when the source id is taken in the target queue
  ARGV[5]  journal field ("<source queue>/<id>")
  ARGV[6]  target queue name
  ARGV[7]  now, epoch ms (journal only)
  Returns {code, target id}: 1 moved; 0 not in that state any more (taken by a worker, promoted,
  or moved by an earlier run); -1 part of a flow or a job scheduler (left alone); -2 both ids taken.
*/
const MOVE_JOB_LUA = `
local call = redis.call
local state, id = ARGV[1], ARGV[2]

local score
if state == 'wait' then
  -- Search from the oldest end, where the migration works, so a long list costs little.
  if not call('LPOS', KEYS[1], id, 'RANK', -1) then return {0, ''} end
else
  score = call('ZSCORE', KEYS[1], id)
  if not score then return {0, ''} end
end

local flat = call('HGETALL', KEYS[2])
if #flat == 0 then return {0, ''} end
local job = {}
for i = 1, #flat, 2 do job[flat[i]] = flat[i + 1] end
if job['parentKey'] or job['rjk'] or call('EXISTS', KEYS[11]) == 1 then return {-1, ''} end

local newId, newKey, newLogs = id, KEYS[13], KEYS[14]
if call('EXISTS', newKey) == 1 then
  newId, newKey, newLogs = ARGV[4], KEYS[15], KEYS[16]
  if call('EXISTS', newKey) == 1 then return {-2, ''} end
end

-- The journal first: whoever reads it later learns where the job went.
call('HSET', KEYS[10], ARGV[5], cjson.encode({ to = ARGV[6], id = newId, state = state, at = tonumber(ARGV[7]) }))

-- Copy the job's hash field by field (id, name, data, opts, timestamp, delay, atm, ats, …).
for i = 1, #flat, 2 do call('HSET', newKey, flat[i], flat[i + 1]) end
if call('EXISTS', KEYS[12]) == 1 then call('RENAME', KEYS[12], newLogs) end

-- Take it out of the old queue.
if state == 'wait' then call('LREM', KEYS[1], -1, id) else call('ZREM', KEYS[1], id) end
call('DEL', KEYS[2])
call('XADD', KEYS[9], '*', 'event', 'removed', 'jobId', id, 'prev', state)

-- Put it in the new queue, in the same state.
if state == 'delayed' then
  -- Same score: same due time, same order among jobs due in the same millisecond.
  call('ZADD', KEYS[3], score, newId)
  local first = call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if first[2] then call('ZADD', KEYS[5], math.floor(tonumber(first[2]) / 4096), '1') end
  call('XADD', KEYS[8], '*', 'event', 'delayed', 'jobId', newId, 'delay', math.floor(tonumber(score) / 4096))
else
  if state == 'wait' then
    call('LPUSH', KEYS[3], newId)
  else
    local priority = tonumber(job['priority']) or 0
    local counter = call('INCR', KEYS[6])
    call('ZADD', KEYS[3], priority * 0x100000000 + counter % 0x100000000, newId)
  end
  if call('HEXISTS', KEYS[4], 'paused') == 0 then call('ZADD', KEYS[5], 0, '0') end
  call('XADD', KEYS[8], '*', 'event', 'waiting', 'jobId', newId, 'prev', 'migrated')
end

-- New jobs added to the target queue later must never be given a kept numeric id.
local n = tonumber(newId)
if n and (tonumber(call('GET', KEYS[7])) or 0) < n then call('SET', KEYS[7], newId) end
return {1, newId}
`;

export type MovableState = 'wait' | 'prioritized' | 'delayed';

export interface MoveRequest {
  state: MovableState;
  from: string;
  to: string;
  id: string;
}

export type MoveOutcome = { code: 'moved'; id: string } | { code: 'gone' } | { code: 'flow' } | { code: 'id-taken' };

/** Where the journal of moves lives: a key no BullMQ queue can own (queue names are never empty). */
export function journalKey(prefix: string): string {
  return `${prefix}::worker-pool:migrate-journal`;
}

type MoveCommand = (...args: string[]) => Promise<[number, string]>;

/** Register the script on a connection (ioredis sends EVALSHA, falling back to EVAL once). */
export function installMoveJob(client: Redis): void {
  if (typeof (client as unknown as { wpMoveJob?: unknown }).wpMoveJob === 'function') return;
  client.defineCommand('wpMoveJob', { numberOfKeys: 16, lua: MOVE_JOB_LUA });
}

function argsFor(prefix: string, r: MoveRequest, now: number): string[] {
  const src = `${prefix}:${r.from}:`;
  const dst = `${prefix}:${r.to}:`;
  return [
    src + r.state,
    src + r.id,
    dst + r.state,
    dst + 'meta',
    dst + 'marker',
    dst + 'pc',
    dst + 'id',
    dst + 'events',
    src + 'events',
    journalKey(prefix),
    `${src}${r.id}:dependencies`,
    `${src}${r.id}:logs`,
    dst + r.id,
    `${dst}${r.id}:logs`,
    `${dst}${r.from}-${r.id}`,
    `${dst}${r.from}-${r.id}:logs`,
    r.state,
    r.id,
    dst,
    `${r.from}-${r.id}`,
    `${r.from}/${r.id}`,
    r.to,
    String(now),
  ];
}

function outcome([code, id]: [number, string]): MoveOutcome {
  if (code === 1) return { code: 'moved', id };
  if (code === 0) return { code: 'gone' };
  if (code === -1) return { code: 'flow' };
  return { code: 'id-taken' };
}

/** Move a batch of jobs in one round trip; each move is atomic on its own. */
export async function moveJobs(client: Redis, prefix: string, batch: readonly MoveRequest[], now: number): Promise<MoveOutcome[]> {
  installMoveJob(client);
  const pipe = client.pipeline();
  for (const r of batch) (pipe as unknown as { wpMoveJob: MoveCommand }).wpMoveJob(...argsFor(prefix, r, now));
  const results = (await pipe.exec()) ?? [];
  return results.map(([err, res]) => {
    if (err) throw err;
    return outcome(res as [number, string]);
  });
}
