/**
 * bull-board at /jobs on the daemon's HTTP server, on a real pool: the pool's queues with their
 * jobs, failure reasons and stack traces, for credentials allowed to read jobs; its actions only for
 * those allowed to change them (issue 26, items 1–3 and 10): no credentials, no board (unless
 * --job-board open, read-only); a scrape credential (role metrics) neither reads nor changes jobs; a
 * page of another site gets nothing; pages and fields are bounded; bodies too.
 */
import { FlowProducer } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { basicHeader, writeAccessFiles } from '../helpers/http-access.js';
import { request } from '../helpers/http-request.js';
import { redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

interface BoardQueues {
  queues: Array<{
    name: string;
    readOnlyMode: boolean;
    pagination: { pageCount: number; range: { start: number; end: number } };
    jobs: Array<{ id: string; name: string; data: unknown; returnValue: unknown; failedReason?: string; stacktrace?: string[] }>;
  }>;
}

const ADMIN = { name: 'operator', password: 'operator password 1' };

describe('job board at /jobs', () => {
  it('without an access file is not served, and says how to get it; with --job-board open, read-only, linked from the live page', async () => {
    const closed = await startPool({ queues: 'q', processor: fixture('handlers.mjs') });
    const refused = await request(`${closed.url}/jobs/api/queues?activeQueue=q&status=failed`);
    expect(refused.status).toBe(403);
    expect(refused.body.trim()).toBe('GET /jobs/api/queues refused: it needs a credential with role read: give --http-config FILE (docs/http.md), or --job-board open to show it read-only without one');
    expect((await request(`${closed.url}/jobs`)).status).toBe(403);
    // What needs no job data is served as before.
    expect((await request(`${closed.url}/status`)).status).toBe(200);
    await closed.close();

    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'job-board': 'open' });
    await q.add('boom', {}, { attempts: 1 });
    await until(async () => (await q.getFailedCount()) === 1, 'the job failed', 20_000);
    const page = await request(`${d.url}/jobs`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('worker-pool default');
    expect(page.body).toContain('<base href="/jobs/"');
    const asset = /src="(static\/js\/main[^"]+\.js)"/.exec(page.body)?.[1];
    expect(asset, 'the board\'s script').toBeDefined();
    const script = await request(`${d.url}/jobs/${asset!}`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect((await request(`${d.url}/`)).body).toMatch(/<a [^>]*href="jobs"/);

    const api = JSON.parse((await request(`${d.url}/jobs/api/queues?activeQueue=q&status=failed`)).body) as BoardQueues;
    expect(api.queues.map((x) => x.name)).toEqual(['q']);
    const board = api.queues[0]!;
    expect(board.readOnlyMode).toBe(true);
    expect(board.jobs[0]).toMatchObject({ name: 'boom', failedReason: 'boom as requested' });
    expect(board.jobs[0]!.stacktrace?.[0]).toContain('boom as requested');

    for (const action of ['retry/failed', 'pause', 'obliterate']) {
      const r = await request(`${d.url}/jobs/api/queues/q/${action}`, { method: 'PUT' });
      expect(r.status, action).toBe(403);
      expect(r.body).toMatch(/refused: it needs a credential with role admin/);
    }
    expect(await q.isPaused()).toBe(false);
    expect(await q.getFailedCount()).toBe(1);
  });

  it("lists the pool's workers on each of its queues, as BullMQ's own Queue.getWorkers() sees them (issue 27.2)", async () => {
    // Ready once both workers run; each child's connection to its second queue may name itself a
    // moment later (BullMQ names a blocking connection when it has connected).
    const pool = await startPool({ processor: fixture('handlers.mjs'), queues: 'q,second', 'min-workers': 2, 'max-workers': 2, 'job-board': 'open' });
    const { daemon: d, prefix } = pool;
    for (const each of [pool.queue, pool.openQueue('second')]) {
      const names = async () => (await each.getWorkers()).map((w) => w['rawname']).sort();
      await until(async () => (await names()).length >= 2, `two workers on ${each.name}`, 10_000);
      expect(await names(), each.name).toEqual([
        `${prefix}:${Buffer.from(each.name).toString('base64')}:w:worker-pool:default:worker-1`,
        `${prefix}:${Buffer.from(each.name).toString('base64')}:w:worker-pool:default:worker-2`,
      ]);
    }
    // The board asks the same question: the queue has workers, and its worker panel lists both.
    const api = JSON.parse((await request(`${d.url}/jobs/api/queues`)).body) as { queues: Array<{ name: string; hasWorkers?: boolean | null }> };
    for (const name of ['q', 'second']) expect(api.queues.find((x) => x.name === name)?.hasWorkers, name).toBe(true);
    const panel = JSON.parse((await request(`${d.url}/jobs/api/queues/second/workers`)).body) as { workers: Array<{ name: string }> | null };
    expect(panel.workers).toHaveLength(2);
  });

  it('reads for role read, changes for role admin only; the scrape credential (role metrics) does neither', async () => {
    const a = writeAccessFiles({ users: { [ADMIN.name]: ADMIN.password }, roles: { [ADMIN.name]: 'admin' }, tokenRole: 'metrics' });
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const reader = { authorization: basicHeader(a.user, a.password) };
    const admin = { authorization: basicHeader(ADMIN.name, ADMIN.password) };
    const scraper = { authorization: `Bearer ${a.token}` };
    expect((await request(`${d.url}/jobs/api/queues`)).status).toBe(401);

    // The scrape token: metrics yes, jobs no, changes no.
    expect((await request(`${d.url}/metrics`, { headers: scraper })).status).toBe(200);
    const scrapeBoard = await request(`${d.url}/jobs/api/queues`, { headers: scraper });
    expect(scrapeBoard.status).toBe(403);
    expect(scrapeBoard.body).toMatch(/^GET \/jobs\/api\/queues refused: this bearer token has role metrics; it needs read \(user_roles or bearer_token_role of .*http\.yml\)/);
    const wipe = await request(`${d.url}/jobs/api/queues/q/obliterate`, { method: 'PUT', headers: scraper });
    expect(wipe.status).toBe(403);

    // A reader sees the board without its actions, and cannot use them.
    const asReader = JSON.parse((await request(`${d.url}/jobs/api/queues`, { headers: reader })).body) as BoardQueues;
    expect(asReader.queues[0]!.readOnlyMode).toBe(true);
    const readerPause = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT', headers: reader });
    expect(readerPause.status).toBe(403);
    expect(readerPause.body).toMatch(/user "scraper" has role read; it needs admin/);
    expect(await q.isPaused()).toBe(false);

    // An admin's board has its actions, from a same-origin page only.
    const asAdmin = JSON.parse((await request(`${d.url}/jobs/api/queues`, { headers: admin })).body) as BoardQueues;
    expect(asAdmin.queues[0]!.readOnlyMode).toBe(false);
    const foreign = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT', headers: { ...admin, origin: 'https://attacker.example' } });
    expect(foreign.status).toBe(403);
    const crossSite = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT', headers: { ...admin, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' } });
    expect(crossSite.status).toBe(403);
    expect(await q.isPaused()).toBe(false);
    const pause = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT', headers: { ...admin, origin: d.url, 'sec-fetch-site': 'same-origin' } });
    expect(pause.status).toBeLessThan(300);
    expect(await q.isPaused()).toBe(true);

    // A body past the limit is refused before anything reads it.
    const big = await request(`${d.url}/jobs/api/queues/q/add`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', data: 'y'.repeat(2 * 1024 * 1024) }) });
    expect(big.status).toBe(413);
    expect(await q.count()).toBe(0);
  });

  it('refuses data requests a page of another site makes a browser send, but follows a link from one', async () => {
    const a = writeAccessFiles();
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const auth = { authorization: basicHeader(a.user, a.password) };
    const fetchFromAnotherSite = await request(`${d.url}/jobs/api/queues?activeQueue=q&status=completed&jobsPerPage=2000`, { headers: { ...auth, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' } });
    expect(fetchFromAnotherSite.status).toBe(403);
    expect(fetchFromAnotherSite.body).toMatch(/request from another site refused \(Sec-Fetch-Site: cross-site\)/);
    const corsRead = await request(`${d.url}/status`, { headers: { ...auth, origin: 'https://attacker.example' } });
    expect(corsRead.status).toBe(403);
    // A link from a dashboard on another site opens the page.
    const link = await request(`${d.url}/jobs`, { headers: { ...auth, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' } });
    expect(link.status).toBe(200);
    const own = await request(`${d.url}/jobs/api/queues`, { headers: { ...auth, 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' } });
    expect(own.status).toBe(200);
  });

  it('serves at most 100 jobs a page and leaves out fields over 32 KiB, saying where to read them', async () => {
    const a = writeAccessFiles();
    const { daemon: d, queue: q, prefix } = await startPool({ queues: 'q', processor: fixture('big-result.mjs'), 'http-config': a.file, concurrency: '20' });
    const auth = { authorization: basicHeader(a.user, a.password) };
    await q.addBulk(Array.from({ length: 150 }, (_, n) => ({ name: 'small', data: { n, bytes: 10 } })));
    await q.add('big', { n: 'big', bytes: 200_000 }, { jobId: 'big' });
    await q.add('fail', { failBytes: 100_000 }, { jobId: 'fail', attempts: 1 });
    await until(async () => (await q.getJobCounts('completed')).completed === 151 && (await q.getFailedCount()) === 1, 'the jobs finished', 30_000);

    const page = JSON.parse((await request(`${d.url}/jobs/api/queues?activeQueue=q&status=completed&jobsPerPage=2000`, { headers: auth })).body) as BoardQueues;
    const board = page.queues[0]!;
    expect(board.jobs).toHaveLength(100);
    // The page size is the one served, so the page count is right.
    expect(board.pagination).toEqual({ pageCount: 2, range: { start: 0, end: 99 } });
    const second = JSON.parse((await request(`${d.url}/jobs/api/queues?activeQueue=q&status=completed&jobsPerPage=2000&page=2`, { headers: auth })).body) as BoardQueues;
    expect(second.queues[0]!.jobs).toHaveLength(51);

    const job = JSON.parse((await request(`${d.url}/jobs/api/queues/q/big`, { headers: auth })).body) as { job: BoardQueues['queues'][number]['jobs'][number] };
    expect(job.job.data).toEqual({ n: 'big', bytes: 200_000 });
    expect(job.job.returnValue).toMatch(new RegExp(`^\\[not shown: 2000\\d\\d bytes, more than the 32768 the job board shows of a field; read it with HGET ${prefix}:q:big returnvalue\\]$`));
    const failed = JSON.parse((await request(`${d.url}/jobs/api/queues/q/fail`, { headers: auth })).body) as { job: BoardQueues['queues'][number]['jobs'][number] };
    expect(failed.job.failedReason).toMatch(/^\[not shown: 1000\d\d bytes, .* HGET .*:q:fail failedReason\]$/);
    expect(failed.job.stacktrace).toHaveLength(1);
    expect(failed.job.stacktrace![0]).toMatch(/^\[not shown: \d+ bytes, .*HGET .*:q:fail stacktrace\]$/);
    // The small jobs' fields are whole.
    expect(board.jobs.find((j) => j.name === 'small')!.returnValue).toEqual({ n: expect.any(Number), blob: 'xxxxxxxxxx' });
    expect((await request(`${d.url}/jobs/api/queues/q/big/logs`, { headers: auth })).status).toBe(200);

    // A flow's nodes are read the same way (a child with a 200 KB result).
    const flows = new FlowProducer({ connection: { url: redisUrl(), maxRetriesPerRequest: null } as never, prefix });
    try {
      await flows.add({ name: 'small', queueName: 'q', data: { n: 'parent', bytes: 10 }, opts: { jobId: 'parent' }, children: [{ name: 'big', queueName: 'q', data: { n: 'child', bytes: 200_000 }, opts: { jobId: 'child' } }] });
    } finally {
      await flows.close();
    }
    await until(async () => (await q.getJobState('parent')) === 'completed', 'the flow completed', 30_000);
    const flow = await request(`${d.url}/jobs/api/queues/q/parent/flow`, { headers: auth });
    expect(flow.status).toBe(200);
    expect(JSON.stringify(JSON.parse(flow.body))).toMatch(/"id":"child"/);
  });

  it('off (--job-board off) answers 404 saying so, for everyone', async () => {
    const a = writeAccessFiles();
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file, 'job-board': 'off' });
    const r = await request(`${d.url}/jobs/api/queues`, { headers: { authorization: basicHeader(a.user, a.password) } });
    expect(r.status).toBe(404);
    expect(r.body.trim()).toBe('the job board is off (--job-board off); see docs/http.md');
  });
});
