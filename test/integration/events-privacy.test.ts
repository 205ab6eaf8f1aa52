/**
 * What /events tells, on a real pool: no job data unless --events-payloads, one queue or one job
 * when asked (?queue=Q&job=ID), an answer to HEAD, and 503 past --events-max-clients.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { follow, type SseEvent } from '../helpers/sse.js';
import { request } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('/events privacy and filters', () => {
  it('sends no return value, failure reason or progress object by default', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs') });
    const events: SseEvent[] = [];
    const close = await follow(`${d.url}/events`, (e) => events.push(e));
    try {
      await until(() => events.some((e) => e.event === 'hello' && e.data['jobEvents'] === true), 'hello with job events');
      const ok = await q.add('add', { a: 40, b: 2 });
      const bad = await q.add('boom', { secret: 'card 4242' });
      await until(() => events.filter((e) => e.event === 'job' && ['completed', 'failed'].includes(String(e.data['event']))).length === 2, 'both jobs ended', 20_000);
      const jobEvents = events.filter((e) => e.event === 'job');
      expect(jobEvents.find((e) => e.data['jobId'] === ok.id && e.data['event'] === 'completed')!.data).toEqual({ event: 'completed', queue: 'q', jobId: ok.id });
      expect(jobEvents.find((e) => e.data['jobId'] === bad.id && e.data['event'] === 'failed')!.data).toEqual({ event: 'failed', queue: 'q', jobId: bad.id });
      expect(JSON.stringify(jobEvents)).not.toMatch(/sum|boom as requested|4242/);
    } finally {
      close();
    }
  });

  it('with --events-payloads sends return values and failure reasons', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'events-payloads': true });
    const events: SseEvent[] = [];
    const close = await follow(`${d.url}/events`, (e) => events.push(e));
    try {
      await until(() => events.some((e) => e.event === 'hello' && e.data['jobEvents'] === true), 'hello with job events');
      const ok = await q.add('add', { a: 40, b: 2 });
      await until(() => events.find((e) => e.event === 'job' && e.data['jobId'] === ok.id && e.data['event'] === 'completed'), 'completed', 20_000);
      expect(events.find((e) => e.data['jobId'] === ok.id && e.data['event'] === 'completed')!.data['returnvalue']).toEqual({ sum: 42, initCalls: 1 });
    } finally {
      close();
    }
  });

  it('?queue=Q&job=ID gets only that job\'s events (no decisions, no workers, no other job)', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'scaling-period': 0.2, window: 1 });
    const mine = await q.add('add', { a: 1, b: 2 }, { delay: 1500 });
    const all: SseEvent[] = [];
    const one: SseEvent[] = [];
    const closeAll = await follow(`${d.url}/events`, (e) => all.push(e));
    const closeOne = await follow(`${d.url}/events?queue=q&job=${mine.id}`, (e) => one.push(e));
    try {
      await until(() => one.some((e) => e.event === 'hello') && all.some((e) => e.event === 'hello'), 'both hello');
      const other = await q.add('add', { a: 5, b: 5 });
      await until(() => one.some((e) => e.data['event'] === 'completed'), 'my job completed', 20_000);
      await until(() => all.some((e) => e.data['jobId'] === other.id && e.data['event'] === 'completed'), 'the other job completed on the full stream', 20_000);
      expect(all.some((e) => e.event === 'decision')).toBe(true);
      const kinds = new Set(one.map((e) => e.event));
      expect([...kinds].sort()).toEqual(['hello', 'job']);
      expect(one.filter((e) => e.event === 'job').every((e) => e.data['jobId'] === mine.id)).toBe(true);
    } finally {
      closeAll();
      closeOne();
    }
    expect((await request(`${d.url}/events?queue=nope`)).status).toBe(404);
    expect((await request(`${d.url}/events?job=1`)).status).toBe(400);
  });

  it('HEAD /events answers at once with the stream\'s headers and no body', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs') });
    const r = await request(`${d.url}/events`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toContain('text/event-stream');
    expect(r.body).toBe('');
    expect(d.events.listeners).toBe(0);
  });

  it('answers 503 once --events-max-clients streams are open, and takes a new one when one leaves', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('handlers.mjs'), 'events-max-clients': 2 });
    const open: http.ClientRequest[] = [];
    const openStream = () =>
      new Promise<number>((resolve, reject) => {
        const req = http.get(`${d.url}/events`, (res) => resolve(res.statusCode ?? 0));
        req.on('error', reject);
        open.push(req);
      });
    try {
      expect(await openStream()).toBe(200);
      expect(await openStream()).toBe(200);
      const third = await request(`${d.url}/events`);
      expect(third.status).toBe(503);
      expect(third.body).toContain('--events-max-clients');
      open.shift()!.destroy();
      await until(() => d.events.listeners === 1, 'one stream left');
      expect(await openStream()).toBe(200);
      const metrics = (await request(`${d.url}/metrics`)).body;
      expect(metrics).toMatch(/worker_pool_events_clients_rejected_total\{reason="full",pool="default"\} 1/);
      expect(metrics).toMatch(/worker_pool_events_clients\{pool="default"\} 2/);
    } finally {
      for (const r of open) r.destroy();
    }
  });
});
