/**
 * A Prometheus histogram fed with bucket counts a child has already gathered (from its samples),
 * not with single observations: adding one queue's counts costs the same whatever the number of
 * jobs they stand for. Exposed through prom-client's registry like its own Histogram, with the
 * same series (`_bucket` with `le`, `_sum`, `_count`).
 */
import type { Registry } from 'prom-client';
import type { TimeBuckets } from '../ipc/job-stats.js';

interface Series {
  labels: Record<string, string>;
  /** Per bucket, not cumulative; the last is above every bound. */
  counts: number[];
  sum: number;
}

export class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  private key(labels: Record<string, string>): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
  }

  /** Add counts gathered elsewhere (`counts` per bucket, as in the child's tally; sum in ms). */
  add(labels: Record<string, string>, b: TimeBuckets): void {
    let total = 0;
    for (const c of b.counts) total += c;
    if (total === 0) return;
    const s = this.of(labels);
    for (let i = 0; i < s.counts.length; i++) s.counts[i]! += b.counts[i] ?? 0;
    s.sum += b.sumMs / 1000;
  }

  /** Show a series at zero before anything is counted in it. */
  zero(labels: Record<string, string>): void {
    this.of(labels);
  }

  private of(labels: Record<string, string>): Series {
    const k = this.key(labels);
    let s = this.series.get(k);
    if (!s) {
      s = { labels: { ...labels }, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0 };
      this.series.set(k, s);
    }
    return s;
  }

  /** What prom-client's registry reads (the shape its own Histogram returns). */
  get(): { name: string; help: string; type: string; aggregator: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> } {
    const values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }> = [];
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ labels: { le: this.bounds[i]!, ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      }
      acc += s.counts[this.bounds.length]!;
      values.push({ labels: { le: '+Inf', ...s.labels }, value: acc, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: acc, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  reset(): void {
    this.series.clear();
  }
}
