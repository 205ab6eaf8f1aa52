/** The bounded `queue` label: the first N queues listed keep their own series, the rest are `_other`. */
import { describe, expect, it } from 'vitest';
import { OTHER_QUEUES, QueueLabels } from '../../src/observe/queue-label.js';

describe('queue labels of per-queue metrics', () => {
  it('keeps the first N queues listed and counts every other one as _other, following a change of queues', () => {
    let queues: readonly string[] = Array.from({ length: 500 }, (_, i) => `q${i}`);
    const labels = new QueueLabels(() => queues, 100);
    expect(labels.of('q0')).toBe('q0');
    expect(labels.of('q99')).toBe('q99');
    expect(labels.of('q100')).toBe(OTHER_QUEUES);
    expect(new Set(queues.map((q) => labels.of(q))).size).toBe(101);
    expect(labels.initial()).toHaveLength(101);
    queues = ['a', 'b'];
    expect(labels.of('a')).toBe('a');
    expect(labels.initial()).toEqual(['a', 'b']);
  });
});
