/**
 * `npm test`'s pretest (scripts/test-prerequisites.sh): with everything present it says nothing;
 * not as root, it names exactly what is missing in one line and fails; as root it says what it
 * installs and why, one line per package, as it goes (issue 27.10; here with a stand-in apt-get:
 * the real install on a fresh machine is proven by `npm run test:fresh-machine`, in a container).
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
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

  it('as root, with programs missing, it says what it installs and why, one line per package as it goes', () => {
    const bin = mkdtempSync(path.join(tmpdir(), 'wp-prereq-root-'));
    for (const prog of ['mktemp', 'tail', 'rm', 'sleep']) symlinkSync(which(prog), path.join(bin, prog));
    // A stand-in apt-get: records each call, takes a moment, installs nothing.
    const calls = path.join(bin, 'calls');
    writeFileSync(path.join(bin, 'apt-get'), `#!${which('bash')}\necho "$*" >> ${calls}\nsleep 0.2\n`);
    chmodSync(path.join(bin, 'apt-get'), 0o755);
    const script = path.join(bin, 'test-prerequisites.sh');
    copyFileSync(SCRIPT, script);
    // As root; a developer who is not root gets root in a user namespace (unshare -r).
    const asRoot = process.getuid?.() === 0 ? [which('bash'), script] : [which('unshare'), '-r', which('bash'), script];
    const r = spawnSync(asRoot[0]!, asRoot.slice(1), { encoding: 'utf8', env: { PATH: bin, TMPDIR: bin }, cwd: bin });
    expect(r.stderr).not.toMatch(/failed/);
    expect(r.status).toBe(0);
    const lines = r.stderr.trim().split('\n');
    // Everything is missing from that PATH; Chromium is looked for at /usr/bin/chromium, which may be there.
    const packages = ['redis-server', 'prometheus', ...(existsSync('/usr/bin/chromium') ? [] : ['chromium']), 'systemd', 'openssl', 'iproute2', 'python3'];
    const n = packages.length;
    expect(lines[0]).toBe(`test prerequisites: ${n} missing (${packages.join(' ')}); installing them with apt-get, as root; this can take a few minutes`);
    expect(lines[1]).toBe('test prerequisites: updating the package lists (apt-get update)');
    packages.forEach((pkg, i) => {
      const at = lines.findIndex((l) => l.startsWith(`test prerequisites: [${i + 1}/${n}] installing ${pkg}: `));
      expect(at, pkg).toBeGreaterThan(1);
      expect(lines[at + 1], pkg).toMatch(/^test prerequisites: {3}done in \d+ s$/);
    });
    expect(lines.find((l) => l.includes('installing prometheus'))).toMatch(/for the dashboard and alert-rule tests/);
    expect(lines.at(-1)).toMatch(/^test prerequisites: all installed in \d+ s$/);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['update -q', ...packages.map((p) => `install -y -q ${p}`)]);
  });
});
