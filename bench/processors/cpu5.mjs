// A CPU-bound job: hashes for 5 ms (the same CPU time under every variant, whatever the machine).
import { createHash } from 'node:crypto';

const block = Buffer.alloc(4096, 7);
export default async function cpu5() {
  const end = performance.now() + 5;
  let h = createHash('sha256');
  while (performance.now() < end) h = createHash('sha256').update(block).update(h.digest());
  return 1;
}
