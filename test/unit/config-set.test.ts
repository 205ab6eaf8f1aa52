import { describe, expect, it } from 'vitest';
import { checkConfigSet } from '../../src/config/config-set.js';
import { loadConfig, type RawValues } from '../../src/config/load.js';

const instance = (file: string, flags: RawValues) => ({ file, config: loadConfig({ flags: { name: file.replace('.yml', ''), ...flags }, env: {} }) });

describe('checkConfigSet', () => {
  it('accepts instances with their own names and ports and the same limits', () => {
    const set = [
      instance('orchestrator.yml', { queues: 'orchestrator', 'global-concurrency': 'orchestrator=1', 'metrics-port': 9464 }),
      instance('orchestrator-2.yml', { queues: 'orchestrator', 'global-concurrency': 'orchestrator=1', 'metrics-port': 9467 }),
      instance('worker.yml', { queues: 'default,remote_execution', 'metrics-port': 9465 }),
      instance('a.yml', { 'metrics-port': 0 }),
      instance('b.yml', { 'metrics-port': 0 }),
    ];
    expect(checkConfigSet(set)).toEqual([]);
  });

  it('reports two instances on one port, including a wildcard address', () => {
    expect(checkConfigSet([instance('a.yml', { 'metrics-port': 9000 }), instance('b.yml', { 'metrics-port': 9000 })])).toEqual([
      'metrics-port: a.yml and b.yml both use port 9000; give each instance its own metrics-port',
    ]);
    expect(checkConfigSet([instance('a.yml', { 'metrics-port': 9000, 'metrics-host': '0.0.0.0', 'http-insecure': true }), instance('b.yml', { 'metrics-port': 9000 })])).toHaveLength(1);
    expect(checkConfigSet([instance('a.yml', { 'metrics-port': 9000, 'metrics-host': '10.0.0.1', 'http-insecure': true }), instance('b.yml', { 'metrics-port': 9000 })])).toEqual([]);
  });

  it('reports two instances with one name', () => {
    const problems = checkConfigSet([instance('a.yml', { name: 'same', 'metrics-port': 1 }), instance('b.yml', { name: 'same', 'metrics-port': 2 })]);
    expect(problems).toEqual([expect.stringMatching(/^name: a\.yml and b\.yml are both pool "same"/)]);
  });

  it('reports a limited queue listened to with a different limit or none, on the same Redis only', () => {
    const serial = instance('orchestrator.yml', { queues: 'orchestrator', 'global-concurrency': 'orchestrator=1', 'metrics-port': 1 });
    const looser = instance('other.yml', { queues: 'orchestrator', 'global-concurrency': 'orchestrator=2', 'metrics-port': 2 });
    const unlimited = instance('worker.yml', { queues: 'default,orchestrator', 'metrics-port': 3 });
    expect(checkConfigSet([serial, looser])).toEqual([
      'global-concurrency: queue "orchestrator" has different limits (1 in orchestrator.yml, 2 in other.yml); every instance that listens to it must set the same one',
    ]);
    expect(checkConfigSet([serial, unlimited])).toEqual([expect.stringContaining('(1 in orchestrator.yml, none in worker.yml)')]);
    const elsewhere = instance('remote.yml', { queues: 'orchestrator', 'redis-url': 'redis://other:6379', 'metrics-port': 4 });
    const otherPrefix = instance('prefixed.yml', { queues: 'orchestrator', prefix: 'app2', 'metrics-port': 5 });
    expect(checkConfigSet([serial, elsewhere, otherPrefix])).toEqual([]);
  });

  it('reports a routed queue without a listener, only when given more than one instance', () => {
    const routes = [
      { jobType: 'A', queue: 'urgent' },
      { jobType: 'B', queue: 'default' },
      { jobType: 'C', queue: 'default' },
    ];
    const urgent = { ...instance('urgent.yml', { queues: 'urgent', 'metrics-port': 1 }), routes };
    const other = { ...instance('other.yml', { queues: 'other', 'metrics-port': 2 }), routes };
    expect(checkConfigSet([urgent])).toEqual([]);
    expect(checkConfigSet([urgent, other])).toEqual([
      'routing-rules: queue "default" (job types B, C, routed by urgent.yml) has no instance listening to it; its jobs would wait forever',
    ]);
    const fallback = instance('fallback.yml', { queues: 'default', 'metrics-port': 3 });
    expect(checkConfigSet([urgent, other, fallback])).toEqual([]);
  });
});
