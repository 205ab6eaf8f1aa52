/**
 * Issue 27.9: the processor examples a newcomer copies (README, docs, config/, --help) are ES modules
 * named `.mjs`, so they load without Node's module-type warning in an app whose package.json has no
 * "type": "module" (the usual case).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { poolHelpText } from '../../src/cli/help.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (rel: string) => readFileSync(path.join(root, rel), 'utf8');
const shown = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`), ...readdirSync(path.join(root, 'config')).filter((f) => f.endsWith('.yml')).map((f) => `config/${f}`)];

/** Processor file names as the examples give them: `--processor X`, `processor: X`, a `// X` code header, an `import … from 'X'`. */
function processorNames(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/--processor[= ](\S+?\.[cm]?js)\b|^\s*processor:\s*(\S+?\.[cm]?js)\b|^\/\/ (\S+?\.[cm]?js)\b/gm)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

describe('processor examples', () => {
  it('name ES module processors .mjs in the README, docs, config examples and --help', () => {
    const found: string[] = [];
    const wrong: string[] = [];
    const texts: [string, string][] = [...shown.map((f) => [f, read(f)] as [string, string]), ['--help', poolHelpText(new Command('start'))]];
    for (const [file, text] of texts) {
      for (const name of processorNames(text)) {
        found.push(`${file}: ${name}`);
        if (name.endsWith('.js')) wrong.push(`${file}: ${name}`);
      }
    }
    expect(found.length).toBeGreaterThan(5);
    expect(wrong).toEqual([]);
  });

  it("the README's first processor loads without a warning in an app without \"type\": \"module\"", () => {
    const readme = read('README.md');
    const block = /```js\n\/\/ (\S+)\n([\s\S]*?)```/.exec(readme);
    expect(block, 'no ```js block headed by // FILE in the README').not.toBeNull();
    const [, name, code] = block!;
    expect(code).toMatch(/^export default/m);
    const app = mkdtempSync(path.join(tmpdir(), 'wp-esm-app-'));
    try {
      writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0' }));
      writeFileSync(path.join(app, name!), code!);
      const r = spawnSync(process.execPath, ['-e', `import(${JSON.stringify(path.join(app, name!))}).then((m) => console.log(typeof m.default))`], { cwd: app, encoding: 'utf8' });
      expect(r.stdout.trim()).toBe('function');
      expect(r.stderr).toBe('');
    } finally {
      rmSync(app, { recursive: true, force: true });
    }
  });
});
