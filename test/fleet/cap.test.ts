/**
 * Issue 14's cap test with real hosts: three hosts (network namespaces), a load that wants more
 * workers than --fleet-max-workers, and every PERIOD a random host powered off (then brought back)
 * or cut off (then reconnected). The worker processes of every host are counted from /proc every
 * 100 ms: the sum must never exceed the cap. How soon freed slots are used again is printed.
 * `npm test` runs 60 s with an event every 10 s; `npm run soak` (CHAOS_SCALE > 1) the issue's
 * 5 minutes with an event every 30 s.
 */
import { describe, expect, it } from 'vitest';
import { until } from '../helpers/wait.js';
import { FIXTURES, Lab, labPerTest, type Host, type HostDaemon } from './lab.js';

const SOAK = Number(process.env['CHAOS_SCALE'] ?? 1) > 1;
const DURATION_S = SOAK ? 300 : 60;
const PERIOD_S = SOAK ? 30 : 10;
const CAP = 4;
const LEASE_S = 5;

const openLab = labPerTest();

describe('fleet cap across network namespaces', () => {
  it(`three hosts wanting 3 workers each under --fleet-max-workers ${CAP}, a random host killed or cut off every ${PERIOD_S} s for ${DURATION_S} s: never more than ${CAP} workers`, { timeout: (DURATION_S + 120) * 1000 }, async () => {
    const l = await openLab();
    const url = await l.startRedis();
    const prefix = `cap${l.id}`;
    const q = l.queue(url, prefix);
    // Far more work than the cap can do in the run: every host wants its max all along.
    for (let i = 0; i < 6; i++) await q.addBulk(Array.from({ length: 500 }, (_, j) => ({ name: 'short', data: { ms: 250 }, opts: { jobId: `j-${i}-${j}` } })));
    const args = ['--redis-url', url, '--prefix', prefix, '--queues', 'q', '--processor', `${FIXTURES}/record.mjs`, '--name', 'capped', '--concurrency', '1', '--min-workers', '3', '--max-workers', '3', '--fleet-max-workers', String(CAP), '--scaling-period', '1', '--window', '1', '--stop-timeout', '2'];
    const hosts = await Promise.all(['h1', 'h2', 'h3'].map((n) => l.addHost(n)));
    const daemonOf = new Map<Host, HostDaemon>();
    for (const h of hosts) daemonOf.set(h, await l.startDaemon(h, args));

    let worst = 0;
    let worstAt = '';
    let samples = 0;
    let sum = 0;
    const perHost = new Map<Host, number>();
    const t0 = Date.now();
    const sample = () => {
      sum = 0;
      for (const h of hosts) {
        const d = daemonOf.get(h)!;
        const n = l.workerCount(Lab.childrenOf(new Set([d.proc.pid!])));
        perHost.set(h, n);
        sum += n;
      }
      samples++;
      if (sum > worst) worstAt = `${((Date.now() - t0) / 1000).toFixed(1)} s: ${hosts.map((h) => `${h.name}=${perHost.get(h)}`).join(' ')}`;
      worst = Math.max(worst, sum);
    };
    const sampler = setInterval(sample, 100);
    /** How long until `cond` held, or undefined if it did not within `ms`. */
    const waitFor = async (cond: () => boolean, ms: number): Promise<number | undefined> => {
      const t0 = Date.now();
      return until(cond, 'a condition', ms).then(() => Date.now() - t0, () => undefined);
    };
    const events: string[] = [];
    const reuse: number[] = [];
    try {
      const full = await waitFor(() => sum === CAP, 60_000);
      expect(full, `the fleet never reached ${CAP} workers`).toBeDefined();
      const endAt = Date.now() + DURATION_S * 1000;
      let n = 0;
      while (Date.now() < endAt) {
        const victim = hosts[Math.floor(Math.random() * hosts.length)]!;
        const kill = n++ % 2 === 0 ? Math.random() < 0.75 : Math.random() < 0.25;
        const at = Date.now();
        const had = perHost.get(victim) ?? 0;
        if (kill) await l.powerOff(victim);
        else await l.linkDown(victim);
        // The others take the victim's slots once its lease runs out (a cut-off host stops its workers first).
        const others = () => hosts.filter((h) => h !== victim).reduce((n, h) => n + (perHost.get(h) ?? 0), 0);
        const back = had === 0 ? undefined : await waitFor(() => others() === CAP, PERIOD_S * 1000 - 1200);
        if (back !== undefined) reuse.push(Date.now() - at);
        events.push(`${((at - t0) / 1000).toFixed(1)} s ${kill ? 'kill' : 'cut'} ${victim.name} (had ${had}): ${had === 0 ? 'no slot freed' : back === undefined ? 'slots not taken by the others' : `the others hold all ${CAP} after ${Date.now() - at} ms`}`);
        await new Promise((r) => setTimeout(r, Math.max(0, at + (PERIOD_S * 1000 - 1000) - Date.now())));
        // Back: a powered-off host boots again (its daemon recovers its predecessor), a cut-off one reconnects.
        await l.linkUp(victim);
        if (kill) {
          const d = await l.startDaemon(victim, args);
          daemonOf.set(victim, d);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, at + PERIOD_S * 1000 - Date.now())));
      }
    } finally {
      clearInterval(sampler);
    }
    const sorted = [...reuse].sort((a, b) => a - b);
    console.log(`cap ${CAP}, 3 hosts × max 3, ${DURATION_S} s, ${events.length} events, ${samples} samples: most workers at once ${worst} (${worstAt}); freed slots in use again after ${sorted.join(', ')} ms (lease ${LEASE_S} s)\n  ${events.join('\n  ')}`);
    expect(worst).toBeLessThanOrEqual(CAP);
    expect(reuse.length).toBeGreaterThan(0);
  });
});
