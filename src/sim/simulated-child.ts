/**
 * A simulated worker child, started by the real supervisor in place of a forked one: it answers the
 * parent's messages (start, drain) and sends the real child's (ready, samples, exit) on virtual time —
 * ready `spawnMs` after its start, a sample at once and every sample interval and one after a job
 * starts or ends (at most one per 20 ms, as the real Reporter) — and takes a waiting job whenever a
 * slot is free, running it for its trace duration as stretched by the CPU model.
 */
import { EventEmitter } from 'node:events';
import type { ChildMessage, ParentMessage, WorkerSettings } from '../ipc/messages.js';
import type { WorkerChild } from '../supervisor/worker-process.js';
import { JobTally } from '../worker/job-tally.js';
import { Random } from './random.js';
import type { SimRecord } from './sim-record.js';
import type { JobRun, SimulatedCpu } from './simulated-cpu.js';
import type { JobTaker, SimJob, SimulatedQueues } from './simulated-queues.js';
import type { VirtualTime, VirtualTimer } from './virtual-time.js';

/** As the real child's Reporter: at most one sample per this gap after a job starts or ends. */
const TRANSITION_SAMPLE_GAP_MS = 20;

/** What every simulated child shares: time, the queues, the host's CPUs, the record, and its own figures. */
export interface SimulatedWorld {
  time: VirtualTime;
  queues: SimulatedQueues;
  cpu: SimulatedCpu;
  record: SimRecord;
  /** Start to ready (ms). */
  spawnMs: number;
  rssBytes: number;
}

interface RunningJob {
  job: SimJob;
  startedAt: number;
  run: JobRun;
}

export class SimulatedChild extends EventEmitter implements WorkerChild, JobTaker {
  readonly pid = undefined;
  readonly stdout = null;
  readonly stderr = null;
  connected = true;
  private phase: 'starting' | 'ready' | 'draining' | 'exited' = 'starting';
  private settings: WorkerSettings | undefined;
  private readonly running = new Set<RunningJob>();
  private busyDoneMs = 0;
  private processed = 0;
  private started = 0;
  private readonly tally: JobTally;
  /** CPU time and run-queue wait so far (ms), counted up to `countedTo` at the running jobs' rates. */
  private cpuMs = 0;
  private waitMs = 0;
  private countedTo: number;
  private lastSampleAt = -Infinity;
  private trailing: VirtualTimer | undefined;

  constructor(
    /** Creation order: an arriving job goes to the oldest child with a free slot. */
    readonly serial: number,
    private readonly world: SimulatedWorld,
  ) {
    super();
    // The real child's tally, drawing its sample of waits from a seeded source: the same trace, the same waits.
    const random = new Random(serial);
    this.tally = new JobTally(() => random.next());
    this.countedTo = world.time.now;
    world.cpu.processStarted();
    world.record.childStarted(world.time.now);
  }

  send(msg: ParentMessage): boolean {
    switch (msg.type) {
      case 'start':
        this.settings = msg.settings;
        this.after(this.world.spawnMs, () => this.ready());
        break;
      case 'drain':
        this.drain();
        break;
      case 'hand-back':
        this.exit(this.running.size > 0 ? 75 : 0, null);
        break;
      case 'list-running': {
        const jobs = [...this.running].map((r) => `${this.queueName(r.job)}:${r.job.index}`);
        this.after(0, () => this.deliver({ type: 'running', nonce: msg.nonce, jobs }));
        break;
      }
    }
    return true;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.exit(null, signal);
    return true;
  }

  /** CPU time and time spent waiting runnable for a CPU since the start, as /proc/PID/schedstat gives them. */
  schedTimes(): { runMs: number; waitMs: number } {
    this.countCpu();
    return { runMs: this.cpuMs, waitMs: this.waitMs };
  }

  /** Take waiting jobs while a slot is free. */
  fill(): void {
    while (this.phase === 'ready' && this.running.size < this.settings!.concurrency) {
      const job = this.world.queues.take();
      if (!job) return;
      this.begin(job);
    }
  }

  private ready(): void {
    const { time, record, queues } = this.world;
    this.phase = 'ready';
    record.childReady(this.settings!.concurrency);
    this.deliver({ type: 'ready', at: time.now });
    this.sampleEvery(this.settings!.sampleIntervalMs);
    queues.addTaker(this);
    this.fill();
  }

  private begin(job: SimJob): void {
    const { time, cpu, record } = this.world;
    const now = time.now;
    this.countCpu();
    const r: RunningJob = { job, startedAt: now, run: cpu.startJob(job.durationMs, job.cpu) };
    this.running.add(r);
    this.started++;
    record.jobStarted(job.index, now);
    this.tally.started(this.queueName(job), now - job.arrivalMs);
    this.after(r.run.runMs, () => this.end(r));
    this.sampleAfterTransition();
  }

  private end(r: RunningJob): void {
    const { cpu, record, queues } = this.world;
    this.countCpu();
    this.running.delete(r);
    cpu.endJob(r.run);
    this.busyDoneMs += r.run.runMs;
    this.processed++;
    this.tally.ended(this.queueName(r.job), 'completed', r.run.runMs);
    record.jobEnded();
    // The next job takes this one's slot in the same turn: the slot is never seen free.
    const next = this.phase === 'ready' ? queues.take() : undefined;
    if (next) this.begin(next);
    else this.sampleAfterTransition();
    if (this.phase === 'draining' && this.running.size === 0) this.finish();
  }

  private drain(): void {
    if (this.phase === 'exited' || this.phase === 'draining') return;
    const wasReady = this.phase === 'ready';
    this.phase = 'draining';
    this.world.queues.removeTaker(this);
    if (this.running.size > 0) return;
    if (wasReady) this.finish();
    else this.exit(0, null);
  }

  /** Drained: a last sample, so the supervisor's counters miss nothing, then exit. */
  private finish(): void {
    this.sendSample();
    this.exit(0, null);
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.phase === 'exited') return;
    const { time, cpu, record, queues } = this.world;
    const readySlots = this.phase === 'starting' ? 0 : this.settings!.concurrency;
    this.phase = 'exited';
    this.connected = false;
    queues.removeTaker(this);
    // Handed back (or returned by the supervisor's hand-back after a kill): nothing is lost.
    for (const r of this.running) {
      cpu.endJob(r.run);
      record.jobReturned(r.job.index);
      queues.putBack(r.job);
    }
    this.running.clear();
    cpu.processEnded();
    record.childEnded(time.now, readySlots);
    // Not at once: the parent may be in the middle of asking it to drain.
    time.at(time.now, () => {
      this.emit('exit', code, signal);
      this.emit('close');
    });
  }

  private sampleEvery(intervalMs: number): void {
    const tick = () => {
      this.sendSample();
      this.after(intervalMs, tick);
    };
    this.sendSample(); // as the real child: memory and counters known from the first moment
    this.after(intervalMs, tick);
  }

  private sampleAfterTransition(): void {
    const since = this.world.time.now - this.lastSampleAt;
    if (since >= TRANSITION_SAMPLE_GAP_MS) this.sendSample();
    else
      this.trailing ??= this.after(TRANSITION_SAMPLE_GAP_MS - since, () => {
        this.trailing = undefined;
        this.sendSample();
      });
  }

  private sendSample(): void {
    const now = this.world.time.now;
    this.lastSampleAt = now;
    this.countCpu();
    let busyMs = this.busyDoneMs;
    for (const r of this.running) busyMs += now - r.startedAt;
    this.deliver({
      type: 'sample',
      at: now,
      busyMs,
      busySlots: this.running.size,
      processed: this.processed,
      failed: 0,
      rssBytes: this.world.rssBytes,
      cpu: { user: Math.round(this.cpuMs * 1000), system: 0 },
      started: this.started,
      fetchErrors: 0,
      jobs: this.tally.take(),
    });
  }

  /** A message to the parent: it arrives at once (what it makes the parent do waits for the next event). */
  private deliver(msg: ChildMessage): void {
    this.emit('message', msg);
  }

  /** Run `fn` `ms` from now, unless the child has exited by then. */
  private after(ms: number, fn: () => void): VirtualTimer {
    return this.world.time.at(this.world.time.now + ms, () => this.phase !== 'exited' && fn());
  }

  private countCpu(): void {
    const now = this.world.time.now;
    let cpuRate = 0;
    let waitRate = 0;
    for (const r of this.running) {
      cpuRate += r.run.cpuRate;
      waitRate += r.run.waitRate;
    }
    this.cpuMs += cpuRate * (now - this.countedTo);
    this.waitMs += waitRate * (now - this.countedTo);
    this.countedTo = now;
  }

  private queueName(job: SimJob): string {
    return this.world.queues.order[job.queue]!;
  }
}
