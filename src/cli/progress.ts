/** A one-line progress display for long CLI work; silent when stderr is not a terminal. */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = 0;
  private readonly tty: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(done: number, force = false): void {
    if (!this.tty) return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const secs = (now - this.started) / 1000;
    const rate = secs > 0 ? done / secs : 0;
    const pct = this.total > 0 ? Math.floor((done / this.total) * 100) : 100;
    const width = 24;
    const filled = Math.round((pct / 100) * width);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    this.stream.write(`\r${this.label} [${bar}] ${done}/${this.total} ${pct}% ${Math.round(rate)}/s `);
  }

  finish(done: number): number {
    this.update(done, true);
    if (this.tty) this.stream.write('\n');
    return (performance.now() - this.started) / 1000;
  }
}
