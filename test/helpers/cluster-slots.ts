/** Redis Cluster slots for tests: a tag's slot, a tag for a slot, who owns which slots, filling a slot with keys, moving slots. */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';

/** Redis Cluster's key slot: CRC16 (XMODEM) of the hash tag, mod 16384. */
export function slotOf(tag: string): number {
  let crc = 0;
  for (const byte of Buffer.from(tag)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

/** A tag whose slot is `slot`. */
export function tagFor(slot: number, stem: string): string {
  for (let i = 0; ; i++) if (slotOf(`${stem}${i}`) === slot) return `${stem}${i}`;
}

export interface SlotRange {
  from: number;
  to: number;
  port: number;
  /** The owning master's node id. */
  id: string;
}

/** Every master's slot ranges, as the node on `port` sees them, lowest slot first. */
export async function slotRanges(port: number): Promise<SlotRange[]> {
  const c = new Redis(port, '127.0.0.1');
  try {
    const slots = (await c.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    return slots.map(([from, to, [, port, id]]) => ({ from, to, port, id })).sort((a, b) => a.from - b.from);
  } finally {
    c.disconnect();
  }
}

/** Write `count` small keys `{tag}:fill:N` on the master that owns the tag's slot (MSET, 1,000 at a time). */
export async function fillSlot(port: number, tag: string, count: number): Promise<void> {
  const c = new Redis(port, '127.0.0.1');
  try {
    for (let i = 0; i < count; i += 1000) {
      const args: string[] = [];
      for (let k = i; k < Math.min(count, i + 1000); k++) args.push(`{${tag}}:fill:${k}`, 'x');
      await c.mset(...args);
    }
  } finally {
    c.disconnect();
  }
}

/** `redis-cli --cluster reshard` of `slots` slots (the lowest first) from one master to another: its exit status and output, and how long it took. */
export function reshard(from: SlotRange, to: SlotRange, slots = 1): { status: number | null; output: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('redis-cli', ['--cluster', 'reshard', `127.0.0.1:${from.port}`, '--cluster-from', from.id, '--cluster-to', to.id, '--cluster-slots', String(slots), '--cluster-yes'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, output: r.stdout + r.stderr, ms: Date.now() - t0 };
}
