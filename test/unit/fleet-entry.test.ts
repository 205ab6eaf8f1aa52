/** The fleet registry's entry checks (entry.ts): what a peer may act on, and what it must refuse. */
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { hostMonotonicMs } from '../../src/clock.js';
import { checkEntry, isOwnTokenBase, overlaps, parseRegistrationId } from '../../src/fleet/entry.js';

const child = `e7/${randomUUID()}:`;
const good = { host: 'h', name: 'p', pid: 1, pool: 'p', queues: ['q'], tokenBases: ['e7/', child], workers: 1, epoch: 7 };
const check = (id: string, o: unknown) => checkEntry(id, JSON.stringify(o));

describe('registry entries', () => {
  it('accepts what a daemon writes', () => {
    expect(check('h/p#7', good)).toMatchObject({ ok: true });
    // A registration writes epoch 0 (its epoch is known once the script ran); renewals write the id's.
    expect(check('h/p#7', { ...good, epoch: 0, tokenBases: [child] })).toMatchObject({ ok: true });
    expect(parseRegistrationId('web-1/worker@a#12')).toEqual({ host: 'web-1', name: 'worker@a', epoch: 12 });
  });

  it.each([
    ['tokenBases as a string (matches every lock starting with "e")', 'h/p#7', { ...good, tokenBases: 'e' }],
    ['a base of another epoch', 'h/p#7', { ...good, tokenBases: ['e8/'] }],
    ['a base that is only a prefix', 'h/p#7', { ...good, tokenBases: ['e'] }],
    ['a base of a later epoch', 'h/p#7', { ...good, tokenBases: [`e9/${randomUUID()}:`] }],
    ['queues not a list', 'h/p#7', { ...good, queues: 'q' }],
    ['host not the id’s', 'h/p#7', { ...good, host: 'other' }],
    ['null', 'h/p#7', null],
    ['an array', 'h/p#7', [good]],
    ['an epoch field not the id’s', 'h/p#7', { ...good, epoch: 8 }],
    ['an id without an epoch', 'h/p', good],
    ['an epoch of 1e14', 'h/p#100000000000000', good],
    ['an id too long', `h/${'p'.repeat(600)}#7`, good],
  ])('refuses %s', (_what, id, o) => {
    expect(check(id, o)).toMatchObject({ ok: false });
  });

  it('refuses a description that is not JSON or too big, naming why', () => {
    expect(checkEntry('h/p#7', '{')).toEqual({ ok: false, why: 'its description is not JSON' });
    expect(checkEntry('h/p#7', 'x'.repeat(2 * 1024 * 1024))).toMatchObject({ ok: false, why: expect.stringContaining('bytes') });
  });

  it("a child's base of an earlier epoch is a registration's own (it took over its lapsed predecessor); bases that could match one lock overlap", () => {
    expect(isOwnTokenBase(`e3/${randomUUID()}:`, 7)).toBe(true);
    expect(isOwnTokenBase('e3/', 7)).toBe(false);
    expect(overlaps('e7/', child)).toBe(true);
    expect(overlaps('e7/', 'e71/')).toBe(false);
  });
});

describe('the host monotonic clock', () => {
  it('reads the same clock in another process of the host (CLOCK_MONOTONIC), where lease deadlines are compared', () => {
    const before = hostMonotonicMs();
    const out = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(Number(process.hrtime.bigint()) / 1e6))'], { encoding: 'utf8' });
    const after = hostMonotonicMs();
    const theirs = Number(out.stdout);
    expect(theirs).toBeGreaterThan(before);
    expect(theirs).toBeLessThan(after);
  });
});
