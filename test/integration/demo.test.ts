/** `worker-pool demo` (issue 27.12): it says where its live page is, and that address serves the page. */
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';
import { deletePrefix, redisUrl } from '../helpers/redis.js';

describe('demo', () => {
  afterAll(() => deletePrefix(`worker-pool-demo-${process.pid}`));

  it('prints the live page address, and the page answers there', async () => {
    const lines: string[] = [];
    let page: Promise<{ status: number; body: string }> | undefined;
    const code = await runDemo({ redisUrl: redisUrl(), duration: 2, rate: 2, jobSeconds: 0.05, scalingPeriod: 1, window: 2 }, (line) => {
      lines.push(line);
      const url = /^live page: (http:\/\/\S+\/)\s/.exec(line)?.[1];
      if (url && !page) page = fetch(url).then(async (r) => ({ status: r.status, body: await r.text() }));
    });
    expect(code, lines.join('\n')).toBe(0);
    expect(page, `no "live page: URL" line in:\n${lines.join('\n')}`).toBeDefined();
    const { status, body } = await page!;
    expect(status).toBe(200);
    expect(body).toMatch(/<html/i);
  });
});
