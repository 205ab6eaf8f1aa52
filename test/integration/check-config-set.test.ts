/**
 * `check-config` on the shipped instance files as an operator installs them (processor pointed at
 * a test module): each file is valid and the set is consistent. A copy of worker.yml that keeps its
 * port, an instance that listens to the serial queue without its limit, and a queue the routing
 * rules use that no instance listens to, are reported.
 */
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCheckConfig } from '../../src/cli/check-config.js';
import { ROOT } from '../helpers/cli.js';

describe('check-config on a set of instance files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-set-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const processor = path.join(ROOT, 'test/fixtures/sleep.mjs');
  const install = (name: string, edit: (text: string) => string = (t) => t) => {
    const text = readFileSync(path.join(ROOT, 'config', `${name}.yml`), 'utf8').replace(/^processor: .*$/m, `processor: ${processor}`);
    const file = path.join(dir, `${name}.yml`);
    writeFileSync(file, edit(text));
    return file;
  };

  it('accepts config/orchestrator.yml, worker.yml and rex.yml together', async () => {
    const files = ['orchestrator', 'worker', 'rex'].map((n) => install(n));
    const lines: string[] = [];
    expect(await runCheckConfig(files, (l) => lines.push(l))).toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(/^ok {5}.*orchestrator\.yml: pool "orchestrator", queues orchestrator, concurrency 1, workers 1–1/),
      expect.stringMatching(/^ok {5}.*worker\.yml: pool "worker", queues default,remote_execution, concurrency 5, workers 1–4/),
      expect.stringMatching(/^ok {5}.*rex\.yml: pool "rex", queues remote_execution, concurrency 10, workers 2–6/),
    ]);
  });

  it('reports a symlinked instance that shares a port, and a serial queue without its limit', async () => {
    const files = ['orchestrator', 'worker'].map((n) => install(n));
    const link = path.join(dir, 'worker-1.yml');
    symlinkSync(path.join(dir, 'worker.yml'), link);
    const stray = install('rex', (t) => t.replace('queues: [remote_execution]', 'queues: [remote_execution, orchestrator]'));
    const lines: string[] = [];
    expect(await runCheckConfig([...files, link, stray], (l) => lines.push(l))).toBe(78);
    expect(lines.filter((l) => l.startsWith('ok'))).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([
      `error  together: metrics-port: ${files[1]} and ${link} both use port 9465; give each instance its own metrics-port`,
      `error  together: global-concurrency: queue "orchestrator" has different limits (1 in ${files[0]}, none in ${stray}); every instance that listens to it must set the same one`,
    ]);
  });

  it('reports a queue the routing rules send jobs to that no instance listens to', async () => {
    const rules = 'routing-rules: [["urgency=high", "urgent"], ["*", "default"]]';
    const write = (name: string, lines: string[]) => {
      const file = path.join(dir, `${name}.yml`);
      writeFileSync(file, [`processor: ${path.join(ROOT, 'test/fixtures/routed-jobs.mjs')}`, rules, ...lines].join('\n'));
      return file;
    };
    const urgent = write('urgent', ['queues: [urgent]', 'metrics-port: 9501']);
    const other = write('other', ['queues: [other]', 'metrics-port: 9502']);
    const lines: string[] = [];
    expect(await runCheckConfig([urgent, other], (l) => lines.push(l))).toBe(78);
    expect(lines.filter((l) => l.startsWith('error'))).toEqual([
      `error  together: routing-rules: queue "default" (job types SendEmail, ImportIssueJob, routed by ${urgent}) has no instance listening to it; its jobs would wait forever`,
    ]);
    // With an instance on it, the set is complete.
    const fallback = write('fallback', ['queues: [default]', 'metrics-port: 9503']);
    expect(await runCheckConfig([urgent, other, fallback], () => undefined)).toBe(0);
  });
});
