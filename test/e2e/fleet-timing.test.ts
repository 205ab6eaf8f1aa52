/**
 * Issue 25, item 8: a lock duration that started before the fleet's lease existed still starts. With
 * --lease-seconds not written, the lease (and the heartbeat) follow from --lock-duration, so the real
 * daemon with `--lock-duration 2` or `4` alone registers and answers /healthz; a contradiction the
 * user wrote is still refused, exit 78, in one line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { client, deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const conn = client();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(p);
  conn.disconnect();
});

describe('fleet lease derived from --lock-duration', () => {
  for (const [lock, lease, heartbeat] of [[2, 1, 0.2], [4, 2, 0.4]] as const) {
    it(`--lock-duration ${lock} alone starts: /healthz 200, registered with a ${lease} s lease`, async () => {
      const prefix = uniquePrefix(`lock${lock}`);
      prefixes.push(prefix);
      let d: CliProcess | undefined;
      try {
        d = await startCli(['--redis-url', redisUrl(), '--prefix', prefix, '--processor', fixture('sleep.mjs'), '--lock-duration', String(lock)]);
        expect((await fetch(`${d.url}/healthz`)).status).toBe(200);
        // What the registry in Redis holds: this daemon, live, with the derived lease.
        const info = await until(async () => Object.values(await conn.hgetall(`${prefix}:fleet:info`))[0], 'the registration in Redis', 10_000);
        expect((JSON.parse(info) as { leaseSeconds: number }).leaseSeconds).toBe(lease);
        const fleet = (await (await fetch(`${d.url}/fleet`)).json()) as { instances: Array<{ state: string }> };
        expect(fleet.instances.map((i) => i.state)).toEqual(['live']);
        // Renewed every heartbeat (a fifth of the lease): never as old as the lease, looked at over two leases.
        const ages: number[] = [];
        const until2 = Date.now() + 2 * lease * 1000;
        while (Date.now() < until2) {
          const f = (await (await fetch(`${d.url}/fleet`)).json()) as { instances: Array<{ heartbeatAgeSeconds: number }> };
          ages.push(f.instances[0]!.heartbeatAgeSeconds);
          await new Promise((r) => setTimeout(r, 100));
        }
        console.log(`--lock-duration ${lock}: lease ${lease} s, heartbeat ${heartbeat} s; oldest heartbeat seen ${Math.max(...ages)} s`);
        expect(Math.max(...ages)).toBeLessThan(lease);
        expect(d.output.split('\n').filter((l) => /lease lost/.test(l))).toEqual([]);
        expect(await d.stop()).toBe(0);
      } finally {
        await d?.stop();
      }
    });
  }

  it('a contradiction the user wrote is refused: exit 78, one line naming it', async () => {
    const base = ['--redis-url', redisUrl(), '--processor', fixture('sleep.mjs')];
    const below = await runCli([...base, '--lock-duration', '4', '--lease-seconds', '5']);
    expect(below.code).toBe(78);
    expect(below.stderr.trim().split('\n')).toHaveLength(1);
    expect(below.stderr).toMatch(/lease-seconds: 5 is not allowed; it must be below lock-duration \(4\)/);
    const above = await runCli([...base, '--lease-seconds', '2', '--heartbeat-seconds', '2']);
    expect(above.code).toBe(78);
    expect(above.stderr.trim().split('\n')).toHaveLength(1);
    expect(above.stderr).toMatch(/lease-seconds: 2 is not allowed; it must be above heartbeat-seconds \(2\)/);
  });
});
