/** The thread that compares passwords with bcrypt hashes for password-check.ts, one at a time, off the supervisor's event loop. */
import { parentPort } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

interface CompareRequest {
  id: number;
  password: string;
  hash: string;
}

parentPort?.on('message', (m: CompareRequest) => {
  let ok = false;
  try {
    ok = bcrypt.compareSync(m.password, m.hash);
  } catch {
    ok = false;
  }
  parentPort!.postMessage({ id: m.id, ok });
});
