/** The wording and the rule of readiness: each fact that makes the pool not ready gives one reason. */
import { describe, expect, it } from 'vitest';
import { readinessReasons, type ReadinessFacts } from '../../src/observe/readiness.js';

const healthy: ReadinessFacts = { redisUp: true, loopHealthy: true, running: 2, minWorkers: 1, fatalSlots: 0, fetchFailing: 0, fetchErrorsTotal: 0 };

describe('readiness reasons', () => {
  it('ready: no reason', () => expect(readinessReasons(healthy)).toEqual([]));
  it('every running worker failing to fetch is a reason; some of them is not', () => {
    expect(readinessReasons({ ...healthy, fetchFailing: 1, fetchErrorsTotal: 7 })).toEqual([]);
    expect(readinessReasons({ ...healthy, fetchFailing: 2, fetchErrorsTotal: 7 })).toEqual([expect.stringMatching(/^every running worker fails to fetch jobs \(7 fetch errors/)]);
  });
  it('a replica, Redis down, too few workers and fatal slots each say so', () => {
    const r = readinessReasons({ ...healthy, redisUp: false, replicaOf: '10.0.0.1:6379', running: 0, fatalSlots: 1 });
    expect(r).toEqual([
      'Redis does not answer',
      'Redis is a read-only replica (of 10.0.0.1:6379); jobs cannot be fetched from it',
      '0 of at least 1 workers running',
      '1 worker slot stopped restarting a failing worker',
    ]);
  });
});
