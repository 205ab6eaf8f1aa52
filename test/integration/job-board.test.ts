/**
 * bull-board at /jobs on the daemon's HTTP server, on a real pool: the pool's queues with their
 * jobs, failure reasons and stack traces; read-only without HTTP authentication, with its actions
 * once the access file asks for authentication.
 */
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { basicHeader, writeAccessFiles } from '../helpers/http-access.js';
import { request } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

interface BoardQueues {
  queues: Array<{ name: string; readOnlyMode: boolean; jobs: Array<{ id: string; name: string; failedReason?: string; stacktrace?: string[] }> }>;
}

describe('job board at /jobs', () => {
  it('lists the pool\'s failed jobs with reason and stack trace, read-only without auth, linked from the live page', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs') });
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

    const retry = await request(`${d.url}/jobs/api/queues/q/retry/failed`, { method: 'PUT' });
    expect(retry.status).toBe(403);
    const pause = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT' });
    expect(pause.status).toBe(403);
    expect(await q.isPaused()).toBe(false);
    expect(await q.getFailedCount()).toBe(1);
  });

  it('with HTTP authentication its actions work for an authenticated same-origin client', async () => {
    const a = writeAccessFiles();
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'http-config': a.file });
    const auth = { authorization: basicHeader(a.user, a.password) };
    expect((await request(`${d.url}/jobs/api/queues`)).status).toBe(401);
    const api = JSON.parse((await request(`${d.url}/jobs/api/queues`, { headers: auth })).body) as BoardQueues;
    expect(api.queues[0]!.readOnlyMode).toBe(false);

    const foreign = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT', headers: { ...auth, origin: 'https://attacker.example' } });
    expect(foreign.status).toBe(403);
    expect(await q.isPaused()).toBe(false);
    const pause = await request(`${d.url}/jobs/api/queues/q/pause`, { method: 'PUT', headers: { ...auth, origin: d.url } });
    expect(pause.status).toBeLessThan(300);
    expect(await q.isPaused()).toBe(true);
  });
});
