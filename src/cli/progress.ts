/** A one-line progress display for long CLI work (count, rate, time left); silent when stderr is not a terminal. */

/** Jobs per second as people read them: 0.5/s stays 0.5/s, 1234.5/s is 1235/s. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond) || perSecond <= 0) return '0/s';
  if (perSecond < 10) return `${Number(perSecond.toFixed(perSecond < 1 ? 2 : 1))}/s`;
  return `${Math.round(perSecond)}/s`;
}

/** Seconds as 45s, 3m05s, 2h10m. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The progress line: bar, count, percent, rate and (while not done) the time left at that rate. */
export function progressLine(label: string, done: number, total: number, seconds: number, expectedRate?: number): string {
  const measured = seconds > 0 ? done / seconds : 0;
  // Until a few jobs are in, the measured rate says little: use the rate asked for, if any.
  const rate = done < 3 && expectedRate !== undefined ? expectedRate : measured;
  const pct = total > 0 ? Math.floor((done / total) * 100) : 100;
  const width = 24;
  const filled = Math.round((pct / 100) * width);
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
  const left = total - done;
  const eta = left > 0 ? (rate > 0 ? ` ETA ${formatDuration(left / rate)}` : ' ETA -') : '';
  return `${label} [${bar}] ${done}/${total} ${pct}% ${formatRate(rate)}${eta}`;
}

export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    /** The rate asked for (enqueue --rate), for the time left before enough is measured. */
    private readonly expectedRate?: number,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(done: number, force = false): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    // \x1b[K clears what a longer previous line left.
    this.stream.write(`\r${progressLine(this.label, done, this.total, (now - this.started) / 1000, this.expectedRate)}\x1b[K`);
  }

  finish(done: number): number {
    this.update(done, true);
    if (this.tty) this.stream.write('\n');
    return (performance.now() - this.started) / 1000;
  }
}
