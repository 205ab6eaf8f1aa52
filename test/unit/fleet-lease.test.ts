/** A daemon's view of its own lease (lease.ts): the deadline its children get, when it may claim peers, and Redis' clock jumping. */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { Lease } from '../../src/fleet/lease.js';

const LEASE = 5000;
const HEARTBEAT = 1000;
let lease: Lease | undefined;
afterEach(() => lease?.lost());

function make(): { clock: ManualClock; lease: Lease; warnings: string[]; expired: string[] } {
  const clock = new ManualClock(10_000);
  const warnings: string[] = [];
  const expired: string[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg as string) });
  lease = new Lease({ leaseMs: LEASE, heartbeatMs: HEARTBEAT, clock, log, expired: (why) => expired.push(why) });
  return { clock, lease, warnings, expired };
}

describe('lease', () => {
  it('gives the children the time the renewal was sent + the lease - half a heartbeat, on the host clock', () => {
    const { lease } = make();
    expect(lease.renewed(10_000, 123_456, 1_000_000, true)).toBe(123_456 + LEASE - HEARTBEAT / 2);
    expect(lease.until).toBe(123_456 + LEASE - HEARTBEAT / 2);
    lease.lost();
    expect(lease.until).toBe(-Infinity);
  });

  it('claims peers only after holding the lease for a whole lease', () => {
    const { clock, lease } = make();
    lease.renewed(clock.now(), 0, 1_000_000, true);
    clock.advance(LEASE - 1);
    expect(lease.mayClaim()).toBe(false);
    clock.advance(1);
    expect(lease.mayClaim()).toBe(true);
  });

  it("after Redis' clock runs ahead of ours by more than half a heartbeat, neither claims nor grows for a lease; a smaller drift changes nothing", () => {
    const { clock, lease, warnings } = make();
    lease.renewed(clock.now(), 0, 1_000_000, true);
    clock.advance(LEASE);
    lease.renewed(clock.now(), 1000, 1_000_000 + 1000 + HEARTBEAT / 2, false); // within the margin
    expect(lease.mayClaim()).toBe(true);
    expect(lease.mayGrow()).toBe(true);
    lease.renewed(clock.now(), 2000, 1_000_000 + 2000 + HEARTBEAT / 2 + 3000, false); // a failover to a clock 3 s ahead
    expect(warnings.some((w) => w.includes("Redis' clock jumped ahead"))).toBe(true);
    expect(lease.mayClaim()).toBe(false);
    expect(lease.mayGrow()).toBe(false);
    clock.advance(LEASE);
    expect(lease.mayClaim()).toBe(true);
    expect(lease.mayGrow()).toBe(true);
  });
});
