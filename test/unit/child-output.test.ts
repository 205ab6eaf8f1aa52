/** Issue 27.3: a child's stdout and stderr lines become log events; its own log lines pass as they are. */
import { describe, expect, it } from 'vitest';
import { ChildOutput, LineSplitter } from '../../src/supervisor/child-output.js';
import type { OutputRelay } from '../../src/output-relay.js';

/** A relay whose writes are collected instead of written. */
function collecting(): { relay: OutputRelay; lines: () => string[] } {
  const out: string[] = [];
  const relay = { write: (c: Buffer | string) => (out.push(c.toString()), true) } as unknown as OutputRelay;
  return { relay, lines: () => out.join('').split('\n').filter(Boolean) };
}

const at = new Date('2026-12-07T10:00:00.000Z');

describe('child output', () => {
  it('turns plain lines into events with pool, worker, pid and stream; passes its own JSON log lines', () => {
    const { relay, lines } = collecting();
    const o = new ChildOutput({ pool: 'mail', worker: 'worker-2', pid: 4242, pretty: false, relay, now: () => at });
    const own = '{"level":30,"time":"2026-12-07T10:00:00.000Z","pool":"mail","worker":"worker-2","msg":"worker ready"}';
    o.stdout.push(Buffer.from(`${own}\nhello from a `));
    o.stdout.push(Buffer.from('job\n\n{"not":"ours"}\n'));
    o.stderr.push(Buffer.from('(node:1) Warning: something\r\n'));
    o.stdout.push(Buffer.from('no newline at the end'));
    o.end();
    const parsed = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines()[0]).toBe(own);
    const base = { time: at.toISOString(), pool: 'mail', worker: 'worker-2', pid: 4242 };
    expect(parsed.slice(1)).toEqual([
      { level: 30, ...base, stream: 'stdout', msg: 'hello from a job' },
      { level: 30, ...base, stream: 'stdout', msg: '{"not":"ours"}' },
      { level: 40, ...base, stream: 'stderr', msg: '(node:1) Warning: something' },
      { level: 30, ...base, stream: 'stdout', msg: 'no newline at the end' },
    ]);
  });

  it('redacts a Redis password a processor prints', () => {
    const { relay, lines } = collecting();
    const o = new ChildOutput({ pool: 'p', worker: 'w', pid: 1, pretty: false, relay, now: () => at });
    o.stdout.push(Buffer.from('connecting to redis://app:hunter2secret@db:6379\n'));
    expect(JSON.parse(lines()[0]!).msg).toBe('connecting to redis://app:***@db:6379');
  });

  it('keeps at most the line cap of a long line and says how much was cut', () => {
    const got: Array<[string, number]> = [];
    const s = new LineSplitter((line, cut) => got.push([line, cut]), 10);
    s.push(Buffer.from('abcdefgh'));
    s.push(Buffer.from('ijklmnop\nshort\n'));
    expect(got).toEqual([
      ['abcdefghij', 6],
      ['short', 0],
    ]);
  });
});
