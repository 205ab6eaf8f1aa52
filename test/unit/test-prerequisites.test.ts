/**
 * `npm test`'s pretest (scripts/test-prerequisites.sh): with everything present it says nothing;
 * not as root, it names exactly what is missing in one line and fails. (The install path as root
 * on a fresh machine is proven by `npm run test:fresh-machine`, in a container.)
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const SCRIPT = path.resolve('scripts/test-prerequisites.sh');
const which = (prog: string) => spawnSync('bash', ['-c', `command -v ${prog}`], { encoding: 'utf8' }).stdout.trim();

describe('test prerequisites', () => {
  it('on this machine (every program present) it passes silently', () => {
    const r = spawnSync('bash', [SCRIPT], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('not as root, with programs missing, it names the packages in one line and fails', () => {
    // A PATH holding only what the script itself runs, plus promtool and prometheus.
    const bin = mkdtempSync(path.join(tmpdir(), 'wp-prereq-'));
    chmodSync(bin, 0o755);
    for (const prog of ['prometheus', 'promtool']) symlinkSync(which(prog), path.join(bin, prog));
    const setpriv = which('setpriv');
    expect(setpriv, 'setpriv (util-linux) runs the script as nobody').not.toBe('');
    // A copy nobody can read: the checkout may sit in a folder only root may enter (mktemp -d).
    const script = path.join(bin, 'test-prerequisites.sh');
    copyFileSync(SCRIPT, script);
    chmodSync(script, 0o755);
    const r = spawnSync(setpriv, ['--reuid=65534', '--regid=65534', '--clear-groups', which('bash'), script], { encoding: 'utf8', env: { PATH: bin }, cwd: bin });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'npm test needs redis-server systemd openssl iproute2 python3: install them (Debian/Ubuntu: sudo apt-get install -y redis-server systemd openssl iproute2 python3), or run npm test as root to have them installed',
    ]);
  });
});
