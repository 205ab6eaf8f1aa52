/**
 * bcrypt compares for the HTTP server, in one worker thread instead of on the supervisor's event
 * loop (50 concurrent wrong passwords once made /healthz answer in 45 s: the control loop shares
 * that loop). At most `maxWaiting` compares wait at once; one more is refused at once (the server
 * answers 503), so a flood costs the thread's one core and a bounded queue, never the loop.
 */
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';

// From src/http (tests) and dist/http alike, the compiled entry.
const WORKER_ENTRY = fileURLToPath(new URL('../../dist/http/bcrypt-worker.js', import.meta.url));

export const DEFAULT_MAX_WAITING_COMPARES = 16;

export class PasswordCheck {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (ok: boolean) => void>();
  private seq = 0;

  constructor(private readonly maxWaiting = DEFAULT_MAX_WAITING_COMPARES) {}

  /** Compares waiting or running now. */
  get pending(): number {
    return this.waiting.size;
  }

  /** Whether `password` matches the bcrypt `hash`; undefined (not started) when too many compares wait. */
  compare(password: string, hash: string): Promise<boolean> | undefined {
    if (this.waiting.size >= this.maxWaiting) return undefined;
    const worker = this.thread();
    const id = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      worker.postMessage({ id, password, hash });
    });
  }

  /** Stop the thread; compares still waiting answer "no match". */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    this.failAll();
    await w?.terminate();
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER_ENTRY);
    w.unref();
    w.on('message', (m: { id: number; ok: boolean }) => {
      const resolve = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      resolve?.(m.ok === true);
    });
    // A thread that died (it should not) fails what it held; the next compare starts a new one.
    const gone = () => {
      if (this.worker === w) this.worker = undefined;
      this.failAll();
    };
    w.on('error', gone);
    w.on('exit', gone);
    this.worker = w;
    return w;
  }

  private failAll(): void {
    for (const resolve of this.waiting.values()) resolve(false);
    this.waiting.clear();
  }
}
