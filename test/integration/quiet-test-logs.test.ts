/**
 * `npm test` shows test results, not the pools' log lines: an in-process daemon keeps its
 * supervisor's lines for the test to read (pool.logs) and gives its children, whose stdout is
 * the test run's own, no log level unless TEST_LOG_LEVEL asks for one.
 */
import { describe, expect, it } from 'vitest';
import { workerSettings } from '../../src/daemon/parts.js';
import { fixture, poolPerTest } from '../helpers/pool.js';

const startPool = poolPerTest();

describe('test logs', () => {
  it('children of a test daemon are silent; the supervisor lines are kept for the test to read', async () => {
    const pool = await startPool({ queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': 1 }, { waitReady: false });
    expect(workerSettings(pool.daemon.config).logLevel).toBe(process.env['TEST_LOG_LEVEL'] ?? 'silent');
    expect(pool.logs.some((l) => l['msg'] === 'worker-pool starting')).toBe(true);
    const debug = await startPool({ queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': 0, 'log-level': 'debug' });
    expect(debug.daemon.log.level).toBe('debug'); // a test that wants more lines asks for them
  });
});
