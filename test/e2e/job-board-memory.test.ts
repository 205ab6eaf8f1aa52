/**
 * Issue 26, item 1: the job board's pages are bounded, so no request can make the supervisor load
 * a queue's worth of job data. The attack of the review, against the daemon as users run it: four
 * pages of `jobsPerPage=2000` at once and a default page, over 1,000 completed jobs with 20 KB
 * return values and three with 30 MB ones. Measured from the supervisor process itself: its peak
 * RSS (VmHWM, reset before the attack) less its RSS before. The code before this change loaded every
 * job whole, twice (BullMQ's getJobs), and grew by gigabytes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cliPerFile, type CliProcess } from '../helpers/cli.js';
import { basicHeader, writeAccessFiles } from '../helpers/http-access.js';
import { queue, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

/** GET with a long patience: the old code took minutes to answer this attack. */
async function get(url: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(300_000) });
  return { status: r.status, body: await r.text() };
}

function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]);
  return { rss: Math.round(kb('VmRSS') / 1024), peak: Math.round(kb('VmHWM') / 1024) };
}

describe('the job board under the review\'s memory attack', () => {
  const cli = cliPerFile('board-mem');
  const { prefix } = cli;
  let daemon: CliProcess | undefined;

  it('keeps the supervisor\'s memory bounded (printed: RSS before, peak during)', { timeout: 400_000 }, async () => {
    const a = writeAccessFiles({ bearer: false });
    daemon = await cli.start(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'q', '--processor', 'test/fixtures/big-result.mjs', '--concurrency', '10', '--http-config', a.file]);
    const q = queue('q', prefix);
    await q.addBulk(Array.from({ length: 1000 }, (_, n) => ({ name: 'small', data: { n, bytes: 20_000 } })));
    await until(async () => (await q.getJobCounts('completed')).completed === 1000, 'the small jobs completed', 60_000);
    // The big ones last, so they are on the first page of completed jobs too.
    for (let n = 0; n < 3; n++) await q.add('big', { n, bytes: 30_000_000 }, { jobId: `big-${n}` });
    await until(async () => (await q.getJobCounts('completed')).completed === 1003, 'the big jobs completed', 60_000);
    await q.close();

    const pid = daemon.proc.pid!;
    const auth = { authorization: basicHeader(a.user, a.password) };
    // Settle, then reset the peak (Linux: 5 > clear_refs) so that it measures the attack alone.
    await get(`${daemon.url}/status`, auth);
    const before = memoryMb(pid);
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const attack = [
      ...Array.from({ length: 4 }, () => get(`${daemon!.url}/jobs/api/queues?activeQueue=q&status=completed&jobsPerPage=2000`, auth)),
      get(`${daemon.url}/jobs/api/queues?activeQueue=q&status=completed`, auth),
    ];
    const answers = await Promise.all(attack);
    const after = memoryMb(pid);
    const grew = after.peak - before.rss;
    console.log(`job board attack: supervisor RSS ${before.rss} MB before, peak ${after.peak} MB during (+${grew} MB); answers ${answers.map((r) => r.status).join(',')}`);
    // Every request was either served (bounded) or told to come back (503, a few reads at once).
    for (const r of answers) expect([200, 503]).toContain(r.status);
    const served = answers.filter((r) => r.status === 200).map((r) => JSON.parse(r.body) as { queues: Array<{ jobs: unknown[] }> });
    expect(served.length).toBeGreaterThan(0);
    for (const s of served) expect(s.queues[0]!.jobs.length).toBeLessThanOrEqual(100);
    // A generous bound: the code before this change grew by 969 MB here (and took 3.5 minutes to answer).
    expect(grew).toBeLessThan(300);
  });
});
