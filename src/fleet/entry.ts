/**
 * Checks what the fleet registry in Redis says before anything is done with it: a registration id
 * (`host/name#epoch`), the self-description stored with it, and the token bases it claims. Anyone
 * who can write to Redis can write there, so an entry that is malformed, oversized, or names token
 * bases that are not its own is refused (and only warned about): a peer never hands back jobs on
 * its word. Pure.
 */

/** What a daemon writes into its registration at every renewal. */
export interface InstanceInfo {
  host: string;
  name: string;
  pid: number;
  pool: string;
  queues: string[];
  workers: number;
  busy: number;
  concurrency: number;
  utilization: number | null;
  desired: number;
  version: string;
  /** Epoch ms. */
  startedAt: number;
  epoch: number;
  /** Every lock-token prefix its children use: the epoch's, and each live child's `${tokenBase}:`. */
  tokenBases: string[];
  leaseSeconds: number;
  /** Its --fleet-max-workers, if any. */
  fleetMaxWorkers?: number;
  /**
   * For the pod-level signal (pods.ts): the workers its policy wants, at their highest over its
   * window and not bounded by its max-workers, and its max-workers.
   */
  demand?: { workers: number; maxWorkers: number };
}

/** Longest registration id accepted (the scripts skip or drop longer ones). */
export const MAX_ID_BYTES = 512;
/** Largest self-description read from Redis; a bigger one is not even fetched (the scripts send its length). */
export const MAX_INFO_BYTES = 1024 * 1024;
/** Most registrations listed at once. */
export const MAX_ENTRIES = 10_000;
/** Epochs stay below this: exact in Lua's numbers and printed as digits (1e14 printed as "1e+14"). */
export const MAX_EPOCH = 1e12;

const MAX_NAME = 255;
const MAX_LIST = 10_000;
const MAX_QUEUE_NAME = 1024;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const CHILD_BASE = new RegExp(`^e(\\d{1,12})/${UUID}:$`);

export interface RegistrationId {
  host: string;
  name: string;
  epoch: number;
}

/** `host/name#epoch`, or undefined when the id is not one a daemon writes. */
export function parseRegistrationId(id: string): RegistrationId | undefined {
  if (id.length > MAX_ID_BYTES) return undefined;
  const m = /^([^/]+)\/(.+)#(\d{1,12})$/s.exec(id);
  if (!m) return undefined;
  const epoch = Number(m[3]);
  if (epoch < 1 || epoch >= MAX_EPOCH) return undefined;
  return { host: m[1]!, name: m[2]!, epoch };
}

/** The start of every lock token of a registration's children: `e${epoch}/`. */
export function epochPrefix(epoch: number): string {
  return `e${epoch}/`;
}

/**
 * A token base a registration of `epoch` may claim: its own epoch's prefix, or one child's
 * `e${k}/${uuid}:` with k ≤ epoch (a registration that took over its lapsed predecessor lists the
 * children forked under the old epoch). A child's base names one child only; that no other
 * registration lists it too is checked when recovering (see recovery.ts).
 */
export function isOwnTokenBase(base: string, epoch: number): boolean {
  if (base === epochPrefix(epoch)) return true;
  const m = CHILD_BASE.exec(base);
  return m !== null && Number(m[1]) <= epoch;
}

/** Two token bases that could match the same lock. */
export function overlaps(a: string, b: string): boolean {
  return a.startsWith(b) || b.startsWith(a);
}

const str = (x: unknown, max: number): x is string => typeof x === 'string' && x.length > 0 && x.length <= max;
const count = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const optional = (o: Record<string, unknown>, key: string, ok: (x: unknown) => boolean): boolean => o[key] === undefined || ok(o[key]);

export type EntryCheck = { ok: true; info: InstanceInfo } | { ok: false; why: string };

/**
 * The self-description stored with registration `id` (JSON text), checked: its shape and sizes, its
 * host and name as in its id, and every token base its own (see isOwnTokenBase).
 */
export function checkEntry(id: string, json: string): EntryCheck {
  const rid = parseRegistrationId(id);
  if (!rid) return { ok: false, why: `the id is not host/name#epoch (epoch 1 to ${MAX_EPOCH - 1}, at most ${MAX_ID_BYTES} bytes)` };
  if (json.length > MAX_INFO_BYTES) return { ok: false, why: `its description is ${json.length} bytes (at most ${MAX_INFO_BYTES})` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return { ok: false, why: 'its description is not JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { ok: false, why: 'its description is not a JSON object' };
  const o = parsed as Record<string, unknown>;
  if (o['host'] !== rid.host || o['name'] !== rid.name) return { ok: false, why: 'its host and name are not those of its id' };
  if (!str(o['pool'], MAX_NAME)) return { ok: false, why: 'pool is not a name' };
  const queues = o['queues'];
  if (!Array.isArray(queues) || queues.length > MAX_LIST || !queues.every((q) => str(q, MAX_QUEUE_NAME))) return { ok: false, why: `queues is not a list of at most ${MAX_LIST} queue names` };
  const bases = o['tokenBases'];
  if (!Array.isArray(bases) || bases.length > MAX_LIST || !bases.every((b) => typeof b === 'string')) return { ok: false, why: `tokenBases is not a list of at most ${MAX_LIST} strings` };
  const foreign = (bases as string[]).find((b) => !isOwnTokenBase(b, rid.epoch));
  if (foreign !== undefined) return { ok: false, why: `token base ${JSON.stringify(foreign.slice(0, 80))} is not this registration's (e${rid.epoch}/, or a child's e<epoch>/<uuid>: of an epoch up to ${rid.epoch})` };
  const shapes: Array<[string, (x: unknown) => boolean]> = [
    ['pid', (x) => Number.isInteger(x) && (x as number) >= 0],
    ['workers', count],
    ['busy', count],
    ['concurrency', count],
    ['desired', count],
    ['utilization', (x) => x === null || count(x)],
    ['startedAt', count],
    // 0 in what a registration writes (its epoch is known once the script ran), then the id's.
    ['epoch', (x) => x === rid.epoch || x === 0],
    ['leaseSeconds', (x) => count(x) && (x as number) > 0],
    ['fleetMaxWorkers', (x) => Number.isInteger(x) && (x as number) >= 1],
    ['version', (x) => str(x, 64)],
  ];
  const bad = shapes.find(([key, ok]) => !optional(o, key, ok));
  if (bad) return { ok: false, why: `${bad[0]} is ${JSON.stringify(o[bad[0]])?.slice(0, 40)}` };
  return { ok: true, info: o as unknown as InstanceInfo };
}
