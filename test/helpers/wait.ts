/** Waiting on events and conditions in tests, always with a deadline and a message. */
import type { EventEmitter } from 'node:events';

export function once<T extends unknown[]>(emitter: EventEmitter, event: string, predicate: (...args: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, handler);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for "${event}"`));
    }, timeoutMs);
    const handler = (...args: unknown[]) => {
      if (!predicate(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(event, handler);
      resolve(args as T);
    };
    emitter.on(event, handler);
  });
}

/**
 * Re-check a condition until it holds. For state that has no event of its own (a process gone,
 * a Redis count); `intervalMs` is how often to look, not a guess at how long something takes.
 */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, intervalMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
