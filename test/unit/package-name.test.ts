/**
 * The npm name is one that is ours (`worker-pool` on the registry is an unrelated package), the
 * command stays `worker-pool`, and the install steps (README, docs/service.md) name the tarball and package that
 * `npm pack` and the registry give.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { name: string; version: string; bin: Record<string, string>; files: string[] };
// The README's short install, and the service guide it links to.
const readme = readFileSync('README.md', 'utf8') + readFileSync('docs/service.md', 'utf8');

describe('package name', () => {
  it('is bullmq-worker-pool, installing the command worker-pool', () => {
    expect(pkg.name).toBe('bullmq-worker-pool');
    expect(Object.keys(pkg.bin)).toEqual(['worker-pool']);
    expect(pkg.files).toContain('docs/runbook.md'); // the alerts' default runbook_url points into the installed package
  });

  it('the README installs that package, from the tarball npm pack writes or from the registry', () => {
    expect(readme).toContain(`npm install -g ./${pkg.name}-${pkg.version}.tgz`);
    expect(readme).toContain(`npm install -g ${pkg.name}\``);
    expect(readme).toContain(`PKG=$(npm root -g)/${pkg.name}`);
    expect(readme).not.toMatch(/from 'worker-pool(\/|')/); // imports use the package name
  });
});
