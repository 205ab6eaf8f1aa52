/**
 * What a worker child tells about itself: its periodic sample to the supervisor (cumulative busy
 * slot-time, counters, memory, and the jobs started and ended since the last sample) and its
 * process title (`[2 of 5 busy]`). Nothing is sent per job.
 */
import type { ChildMessage, JobDeadline, RunningEntry, WorkerSettings } from '../ipc/messages.js';
import { stdoutRelay } from '../logger.js';
import type { ChildState } from './child-state.js';

export interface ParentPort {
  send(msg: ChildMessage): void;
}

const TITLE_INTERVAL_MS = 100;
const TRANSITION_SAMPLE_GAP_MS = 20;

export class Reporter {
  private sampleTimer: NodeJS.Timeout | undefined;
  private lastSampleAt = 0;
  private titleAt = -Infinity;
  private titleTimer: NodeJS.Timeout | undefined;
  private trailingTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly state: ChildState,
    private readonly port: ParentPort,
  ) {}

  /** Send a sample every sample interval from now on, and one at once. */
  start(): void {
    this.sampleTimer = setInterval(() => this.sendSample(), this.settings.sampleIntervalMs);
    this.sampleTimer.unref();
    this.sendSample(); // memory and counters known from the first moment, not a sample interval later
  }

  /** Stop the timers and send a last sample, so the supervisor's counters miss nothing. */
  stop(): void {
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    if (this.titleTimer) clearTimeout(this.titleTimer);
    if (this.trailingTimer) clearTimeout(this.trailingTimer);
    this.trailingTimer = undefined;
    this.sendSample();
  }

  /**
   * A sample right after a job starts or ends, at most one per TRANSITION_SAMPLE_GAP_MS (a trailing
   * one sends what came within the gap), so the supervisor's busy curve has a point at nearly every
   * change of slope, its job counters lag by at most the gap, and a SIGKILL loses at most the jobs
   * of one gap from them. At thousands of jobs a second this is one sample per gap, not per job.
   */
  sampleAfterTransition(): void {
    const since = performance.now() - this.lastSampleAt;
    if (since >= TRANSITION_SAMPLE_GAP_MS) {
      this.sendSample();
      return;
    }
    this.trailingTimer ??= setTimeout(() => {
      this.trailingTimer = undefined;
      this.sendSample();
    }, TRANSITION_SAMPLE_GAP_MS - since);
    this.trailingTimer.unref();
  }

  sendSample(): void {
    const now = performance.now();
    const state = this.state;
    this.lastSampleAt = now;
    let deadlines: JobDeadline[] | undefined;
    const running: RunningEntry[] = [];
    for (const r of state.running.values()) {
      running.push([r.queue.index, r.job.id!, r.tokenSeq]);
      if (r.limitMs > 0) (deadlines ??= []).push({ queue: r.queue.name, id: r.job.id!, token: r.token, at: r.startedAt + r.limitMs, limitMs: r.limitMs });
    }
    this.port.send({
      type: 'sample',
      at: now,
      busyMs: state.busyMs(now),
      busySlots: state.running.size,
      processed: state.processed,
      failed: state.failed,
      rssBytes: process.memoryUsage.rss(),
      cpu: process.cpuUsage(),
      ...(deadlines ? { deadlines } : {}),
      started: state.started, fetchErrors: state.fetchErrors,
      logDroppedBytes: stdoutRelay.droppedBytes,
      jobs: state.tally.take(),
      running,
      tokenSeq: state.tokenSeq,
    });
  }

  /**
   * Show the busy count in the process title, at most every TITLE_INTERVAL_MS (a trailing update
   * shows the latest state): setting process.title is a system call, and at thousands of jobs a
   * second it cost ~4% of a no-op job's time.
   */
  setTitle(): void {
    const now = performance.now();
    if (now - this.titleAt >= TITLE_INTERVAL_MS) {
      this.writeTitle(now);
      return;
    }
    this.titleTimer ??= setTimeout(() => {
      this.titleTimer = undefined;
      this.writeTitle(performance.now());
    }, TITLE_INTERVAL_MS - (now - this.titleAt));
    this.titleTimer.unref();
  }

  private writeTitle(now: number): void {
    const s = this.settings;
    this.titleAt = now;
    process.title = `worker-pool ${s.pool} ${s.workerId} [${this.state.running.size} of ${s.concurrency} busy]${this.state.draining ? ' draining' : ''}`;
  }
}
