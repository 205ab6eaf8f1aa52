/**
 * The supervisor's slots: one per worker the pool should have, named worker-1, worker-2… (the
 * lowest free number), each with its child (if any) and its restart back-off; and which to give up
 * when the pool shrinks.
 */
import type { Logger } from '../logger.js';
import type { WorkerProcess } from './worker-process.js';

export interface Slot {
  name: string;
  worker: WorkerProcess | undefined;
  failedStarts: number;
  restartAt: number;
  fatalUntil: number | undefined;
  lastError: string | undefined;
}

/** Slot names in numeric order (worker-2 before worker-10); one collator, not one per comparison. */
export const bySlotName = new Intl.Collator(undefined, { numeric: true }).compare;

export function emptySlot(name: string, now: number): Slot {
  return { name, worker: undefined, failedStarts: 0, restartAt: now, fatalUntil: undefined, lastError: undefined };
}

/** The lowest `worker-N` not in `used` (slots and draining children). */
export function freeSlotName(used: Iterable<string>): string {
  const taken = new Set(used);
  for (let i = 1; ; i++) {
    const name = `worker-${i}`;
    if (!taken.has(name)) return name;
  }
}

/** Prefer an empty slot (backing off or fatal), then a starting child, then the least busy; among equals the highest name. */
export function slotToRemove(slots: Iterable<Slot>): Slot {
  const all = [...slots];
  const rank = (s: Slot) => (!s.worker ? -2 : s.worker.state === 'starting' ? -1 : s.worker.busySlots);
  all.sort((a, b) => rank(a) - rank(b) || bySlotName(b.name, a.name));
  return all[0]!;
}

/**
 * When an empty slot may start a child: its restart time, or the end of its fatal cooldown. A slot
 * whose cooldown is over is tried afresh (its failed starts forgotten, and said so).
 */
export function slotDueAt(slot: Slot, now: number, log: Logger): number {
  if (slot.fatalUntil !== undefined) {
    if (now < slot.fatalUntil) return slot.fatalUntil;
    slot.fatalUntil = undefined;
    slot.failedStarts = 0;
    log.info({ worker: slot.name }, 'fatal cooldown over; trying the slot again');
  }
  return slot.restartAt;
}
