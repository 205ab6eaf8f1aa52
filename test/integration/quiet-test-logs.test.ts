/**
 * `npm test` shows test results, not the pools' log lines: an in-process daemon keeps its
 * supervisor's lines for the test to read (daemon.logs) and gives its children, whose stdout is
 * the test run's own, no log level unless TEST_LOG_LEVEL asks for one.
 */
import { describe, expect, it } from 'vitest';
import { workerSettings } from '../../src/daemon/parts.js';
import { fixture, startDaemon } from '../helpers/daemon.js';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';

describe('test logs', () => {
  it('children of a test daemon are silent; the supervisor lines are kept for the test to read', async () => {
    const prefix = uniquePrefix('quiet');
    const d = await startDaemon({ 'redis-url': redisUrl(), prefix, queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': 1 });
    try {
      expect(workerSettings(d.config).logLevel).toBe(process.env['TEST_LOG_LEVEL'] ?? 'silent');
      expect(d.logs.some((l) => l['msg'] === 'worker-pool starting')).toBe(true);
      const debug = await startDaemon({ 'redis-url': redisUrl(), prefix: `${prefix}d`, queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': 0, 'log-level': 'debug' });
      expect(debug.log.level).toBe('debug'); // a test that wants more lines asks for them
      await debug.stop();
    } finally {
      await d.stop();
      await deletePrefix(prefix);
    }
  });
});
