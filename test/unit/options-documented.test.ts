/**
 * Every option `--help` shows is documented: each schema row has its row in docs/configuration.md
 * (the options table the README links to), and the README's links into docs/ lead to files that exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/config/schema.js';

describe('documentation', () => {
  it('lists every option of the schema in docs/configuration.md', () => {
    const doc = readFileSync('docs/configuration.md', 'utf8');
    const missing = OPTIONS.filter((o) => !doc.includes('`--' + o.key)).map((o) => o.key);
    expect(missing).toEqual([]);
  });

  it('links from the README and docs/ only to files that exist', () => {
    const broken: string[] = [];
    const files = ['README.md', ...readFileSync('README.md', 'utf8').matchAll(/\]\((docs\/[^)#\s]+\.md)/g)].map((m) => (typeof m === 'string' ? m : m[1]!));
    for (const file of new Set(files)) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\]\(([^)#\s:]+\.md)(#[^)]*)?\)/g)) {
        const target = path.join(path.dirname(file), m[1]!);
        if (!existsSync(target)) broken.push(`${file} → ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
