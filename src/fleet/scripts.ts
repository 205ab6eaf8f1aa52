/**
 * The fleet's Lua scripts: registration, renewal, claiming a dead instance, listing, and the slot
 * leases of the fleet-wide worker cap. Every lease is judged by Redis' own clock (TIME inside the
 * script), never a host's, and every key a script touches is passed in KEYS and sits under the
 * BullMQ prefix, so a hash-tagged prefix keeps the whole fleet in one Cluster slot.
 *
 * Keys (under `${prefix}:fleet:`):
 *   epoch            counter; each registration takes the next value (INCR), part of its id and token bases
 *   leases           sorted set: registration id → lease expiry (Redis ms)
 *   info             hash: registration id → what it said about itself last (JSON)
 *   beats            hash: registration id → time of its last renewal (Redis ms)
 *   claims           hash: registration id → id of the peer handing its jobs back
 *   slots:<pool>     sorted set: `${registration id}|${n}` → slot lease expiry (Redis ms)
 */

/** Redis' clock in ms. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: epoch, leases, info, beats, claims. ARGV: id prefix (`host/name#`), lease ms, info JSON,
 * then optionally the id of a registration this one succeeds (a re-registration after a lost lease).
 * A predecessor that nobody has claimed is taken over atomically (its entry removed, `carried` = 1),
 * so its children's token bases stay covered by the new registration; one that was claimed is left
 * to its claimer (`carried` = 0). Returns { epoch, now, carried }.
 */
export const REGISTER = `${NOW}
local carried = 0
local old = ARGV[4]
if old and old ~= '' and redis.call('HEXISTS', KEYS[5], old) == 0 and redis.call('ZSCORE', KEYS[2], old) then
  redis.call('ZREM', KEYS[2], old)
  redis.call('HDEL', KEYS[3], old)
  redis.call('HDEL', KEYS[4], old)
  carried = 1
end
local epoch = redis.call('INCR', KEYS[1])
local id = ARGV[1] .. epoch
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', KEYS[4], id, now)
return { epoch, now, carried }
`;

/**
 * KEYS: leases, info, beats, claims, slots. ARGV: id, lease ms, info JSON, then the slot members it
 * holds. Renews only a lease that is still running and unclaimed; the slots are renewed with it
 * (one that expired is not brought back: it may be someone else's now). Returns { status, now,
 * lost slot members… } with status 'ok', 'expired' (ran out, nobody claimed it yet), 'claimed' or
 * 'gone' (a peer handed its jobs back, or it never existed).
 */
export const RENEW = `${NOW}
local id = ARGV[1]
local expiry = redis.call('ZSCORE', KEYS[1], id)
if not expiry then return { 'gone', now } end
if redis.call('HEXISTS', KEYS[4], id) == 1 then return { 'claimed', now } end
if tonumber(expiry) <= now then return { 'expired', now } end
local until_ = now + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], until_, id)
redis.call('HSET', KEYS[2], id, ARGV[3])
redis.call('HSET', KEYS[3], id, now)
local out = { 'ok', now }
for i = 4, #ARGV do
  local s = redis.call('ZSCORE', KEYS[5], ARGV[i])
  if s and tonumber(s) > now then redis.call('ZADD', KEYS[5], until_, ARGV[i]) else table.insert(out, ARGV[i]) end
end
return out
`;

/**
 * KEYS: leases, info, claims. ARGV: claimer id, claim ms, id to leave alone (the claimer's own
 * registration), most to claim. Claims every registration whose lease has run out (or whose claimer's
 * claim ran out: the claimer died while recovering): the claim is the lease's new expiry, so exactly
 * one peer gets each. Returns a flat list of id, info JSON, ms since the lease ran out.
 */
export const CLAIM_EXPIRED = `${NOW}
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
for i = 1, #ids, 2 do
  local id = ids[i]
  if id ~= ARGV[3] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[3], id, ARGV[1])
    table.insert(out, id)
    table.insert(out, redis.call('HGET', KEYS[2], id) or '{}')
    table.insert(out, now - tonumber(ids[i + 1]))
  end
end
return out
`;

/**
 * KEYS: leases, info, claims. ARGV: claimer id, claim ms, the id to claim. For a restarted daemon
 * that has shown its predecessor's process is gone: claims that one registration at once, lease
 * running or not, unless another peer already has. Returns its info JSON, or false.
 */
export const CLAIM_ONE = `${NOW}
local id = ARGV[3]
if not redis.call('ZSCORE', KEYS[1], id) then return false end
local by = redis.call('HGET', KEYS[3], id)
if by and by ~= ARGV[1] then
  local expiry = tonumber(redis.call('ZSCORE', KEYS[1], id))
  if expiry > now then return false end
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
redis.call('HSET', KEYS[3], id, ARGV[1])
return redis.call('HGET', KEYS[2], id) or '{}'
`;

/**
 * KEYS: leases, info, beats, claims, slots. ARGV: id, claimer id ('' for the registration itself
 * leaving). Deletes the registration (and any slot it still held) if the caller may: the claimer
 * after handing its jobs back, or the registration itself while unclaimed. Returns 1 if deleted.
 */
export const FORGET = `
local id = ARGV[1]
local by = redis.call('HGET', KEYS[4], id)
if ARGV[2] == '' then
  if by then return 0 end
elseif by ~= ARGV[2] then
  return 0
end
redis.call('ZREM', KEYS[1], id)
redis.call('HDEL', KEYS[2], id)
redis.call('HDEL', KEYS[3], id)
redis.call('HDEL', KEYS[4], id)
local mine = id .. '|'
for _, m in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  if string.sub(m, 1, #mine) == mine then redis.call('ZREM', KEYS[5], m) end
end
return 1
`;

/**
 * KEYS: leases, info, beats, claims. Every registration as a flat list: id, lease expiry, last
 * renewal, claimer or '', info JSON; first Redis' time.
 */
export const LIST = `${NOW}
local out = { now }
local ids = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local id = ids[i]
  table.insert(out, id)
  table.insert(out, ids[i + 1])
  table.insert(out, redis.call('HGET', KEYS[3], id) or '0')
  table.insert(out, redis.call('HGET', KEYS[4], id) or '')
  table.insert(out, redis.call('HGET', KEYS[2], id) or '{}')
end
return out
`;

/**
 * KEYS: slots, leases, claims. ARGV: registration id, cap, lease ms, then slot members wanted.
 * Expired slots are freed first; a member already held is renewed, a new one is granted only while
 * fewer than `cap` slots are held fleet-wide, and nothing is granted to a registration whose lease
 * ran out or was claimed. Returns the slots held fleet-wide after it, then the members granted.
 */
export const ACQUIRE_SLOTS = `${NOW}
local id = ARGV[1]
local expiry = redis.call('ZSCORE', KEYS[2], id)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not expiry or tonumber(expiry) <= now or redis.call('HEXISTS', KEYS[3], id) == 1 then return { redis.call('ZCARD', KEYS[1]) } end
local cap = tonumber(ARGV[2])
local until_ = now + tonumber(ARGV[3])
local out = { 0 }
for i = 4, #ARGV do
  local m = ARGV[i]
  if redis.call('ZSCORE', KEYS[1], m) then
    redis.call('ZADD', KEYS[1], until_, m)
    table.insert(out, m)
  elseif redis.call('ZCARD', KEYS[1]) < cap then
    redis.call('ZADD', KEYS[1], until_, m)
    table.insert(out, m)
  end
end
out[1] = redis.call('ZCARD', KEYS[1])
return out
`;

/** KEYS: slots. ARGV: members. Gives slots back. */
export const RELEASE_SLOTS = `
local n = 0
for i = 1, #ARGV do n = n + redis.call('ZREM', KEYS[1], ARGV[i]) end
return n
`;

/** The keys of one fleet (one BullMQ prefix). */
export function fleetKeys(prefix: string) {
  const base = `${prefix}:fleet:`;
  return {
    epoch: `${base}epoch`,
    leases: `${base}leases`,
    info: `${base}info`,
    beats: `${base}beats`,
    claims: `${base}claims`,
    slots: (pool: string) => `${base}slots:${pool}`,
  };
}
