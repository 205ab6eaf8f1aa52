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
import { MAX_ENTRIES, MAX_EPOCH, MAX_ID_BYTES } from './entry.js';

/** Redis' clock in ms. */
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * An id a daemon could have written: `host/name#epoch`, short, epoch of 1 to 12 digits. Anything else
 * in the registry was written by someone else and is never acted on as a registration.
 */
const WELL_FORMED = `
local function wellFormed(id)
  if #id > ${MAX_ID_BYTES} then return false end
  local host, digits = string.match(id, '^([^/]+)/.+#(%d+)$')
  return host ~= nil and #digits <= 12
end`;

/**
 * KEYS: epoch, leases, info, beats, claims. ARGV: id prefix (`host/name#`), lease ms, info JSON,
 * then optionally the id of a registration this one succeeds (a re-registration after a lost lease).
 * A predecessor that nobody has claimed is taken over atomically (its entry removed, `carried` = 1),
 * so its children's token bases stay covered by the new registration; one that was claimed is left
 * to its claimer (`carried` = 0). An epoch counter that is not a number below MAX_EPOCH (garbage, a
 * wrong type, a value Lua would print as 1e+14) is set again from the registrations' own epochs
 * (`reset` = 1): a repeated epoch is harmless, since a recovery never uses a token base another
 * registration lists. Returns { epoch, now, carried, reset, id }.
 */
export const REGISTER = `${NOW}
${WELL_FORMED}
local carried = 0
local old = ARGV[4]
if old and old ~= '' and redis.call('HEXISTS', KEYS[5], old) == 0 and redis.call('ZSCORE', KEYS[2], old) then
  redis.call('ZREM', KEYS[2], old)
  redis.call('HDEL', KEYS[3], old)
  redis.call('HDEL', KEYS[4], old)
  carried = 1
end
local reset = 0
local ok, cur = pcall(redis.call, 'GET', KEYS[1])
if not ok or (cur and not (string.match(cur, '^%d+$') and #cur <= 12 and tonumber(cur) < ${MAX_EPOCH})) then
  local top = 0
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, ${MAX_ENTRIES - 1})) do
    if wellFormed(id) then top = math.max(top, tonumber(string.match(id, '#(%d+)$'))) end
  end
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[1], string.format('%d', top))
  reset = 1
end
local epoch = redis.call('INCR', KEYS[1])
local id = ARGV[1] .. string.format('%d', epoch)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), id)
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HSET', KEYS[4], id, now)
return { epoch, now, carried, reset, id }
`;

/**
 * KEYS: leases, info, beats, claims, slots. ARGV: id, lease ms, info JSON, the cap (0: none), then
 * the slot members it holds. Renews only a lease that is still running and unclaimed; the slots are
 * renewed with it. A held slot that Redis no longer has (or has as expired) while the lease runs was
 * lost behind our back (a failover that dropped the grant, a clock that jumped): it is taken again
 * if fewer than the cap are held now, exactly as a new grant would be, else reported lost (it may be
 * someone else's now). Returns { status, now, lost slot members… } with status 'ok', 'expired' (ran
 * out, nobody claimed it yet), 'claimed' or 'gone' (a peer handed its jobs back, or it never existed).
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
local cap = tonumber(ARGV[4])
local out = { 'ok', now }
for i = 5, #ARGV do
  local s = redis.call('ZSCORE', KEYS[5], ARGV[i])
  if s and tonumber(s) > now then
    redis.call('ZADD', KEYS[5], until_, ARGV[i])
  elseif cap > 0 and redis.call('ZCOUNT', KEYS[5], '(' .. now, '+inf') < cap then
    redis.call('ZADD', KEYS[5], until_, ARGV[i])
  else
    table.insert(out, ARGV[i])
  end
end
return out
`;

/**
 * KEYS: leases, info, claims, beats. ARGV: claimer id, claim ms, id to leave alone (the claimer's own
 * registration), most to claim, largest description to return (bytes). Claims every registration
 * whose lease has run out (or whose claimer's claim ran out: the claimer died while recovering): the
 * claim is the lease's new expiry, so exactly one peer gets each. An expired id that no daemon could
 * have written is removed instead (it would otherwise fill every claim's window). Returns a flat list
 * of id, description JSON ('' when larger than the limit), its length in bytes, ms since the lease
 * ran out; a removed id comes as its first 80 bytes, '', -1, 0.
 */
export const CLAIM_EXPIRED = `${NOW}
${WELL_FORMED}
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[4]))
for i = 1, #ids, 2 do
  local id = ids[i]
  if not wellFormed(id) then
    redis.call('ZREM', KEYS[1], id)
    redis.call('HDEL', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
    redis.call('HDEL', KEYS[4], id)
    table.insert(out, string.sub(id, 1, 80))
    table.insert(out, '')
    table.insert(out, -1)
    table.insert(out, 0)
  elseif id ~= ARGV[3] then
    redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
    redis.call('HSET', KEYS[3], id, ARGV[1])
    local size = redis.call('HSTRLEN', KEYS[2], id)
    table.insert(out, id)
    table.insert(out, size <= tonumber(ARGV[5]) and (redis.call('HGET', KEYS[2], id) or '') or '')
    table.insert(out, size)
    table.insert(out, now - tonumber(ids[i + 1]))
  end
end
return out
`;

/**
 * KEYS: leases, info, claims. ARGV: claimer id, claim ms, the id to claim, largest description to
 * return (bytes). For a restarted daemon that has shown its predecessor's process is gone: claims
 * that one registration at once, lease running or not, unless another peer already has. Returns
 * { description JSON ('' when larger than the limit), its length }, or false.
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
local size = redis.call('HSTRLEN', KEYS[2], id)
return { size <= tonumber(ARGV[4]) and (redis.call('HGET', KEYS[2], id) or '') or '', size }
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
 * KEYS: leases, info, beats, claims. ARGV: most registrations to list, largest description to return
 * (bytes). Every registration as a flat list: id, lease expiry, last renewal, claimer or '',
 * description JSON ('' when larger than the limit: it is not even sent), its length; first Redis'
 * time. Ids no daemon could have written are left out (a peer judges nothing by them).
 */
export const LIST = `${NOW}
${WELL_FORMED}
local out = { now }
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1, 'WITHSCORES')
for i = 1, #ids, 2 do
  local id = ids[i]
  if wellFormed(id) then
    local size = redis.call('HSTRLEN', KEYS[2], id)
    table.insert(out, id)
    table.insert(out, ids[i + 1])
    table.insert(out, redis.call('HGET', KEYS[3], id) or '0')
    table.insert(out, redis.call('HGET', KEYS[4], id) or '')
    table.insert(out, size <= tonumber(ARGV[2]) and (redis.call('HGET', KEYS[2], id) or '') or '')
    table.insert(out, size)
  end
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
