/**
 * What a stop signal means: the first drains; a deliberate second request forces. One `timeout`
 * expiry sends SIGTERM to the daemon and to its process group, so the same signal can arrive twice
 * within milliseconds: a repeat of the same signal within `repeatWindowMs` is the same request.
 * A different signal (SIGINT after SIGTERM) or the same one after the window forces.
 */

export type StopIntent = 'drain' | 'force' | 'repeat';

export class StopSignals {
  private first: { signal: string; at: number } | undefined;
  private forced = false;

  constructor(
    private readonly now: () => number,
    readonly repeatWindowMs = 1000,
  ) {}

  /** What this signal asks for: `drain` (the first), `repeat` (the same request again), `force`. */
  receive(signal: string): StopIntent {
    const at = this.now();
    if (!this.first) {
      this.first = { signal, at };
      return 'drain';
    }
    if (this.forced) return 'repeat';
    if (signal === this.first.signal && at - this.first.at < this.repeatWindowMs) return 'repeat';
    this.forced = true;
    return 'force';
  }
}
