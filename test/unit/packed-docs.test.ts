/**
 * Issue 27.11: every relative link in the docs the npm package ships (README.md, docs/*.md) points to
 * a file that is in the package: the pictures are shipped, and nothing links to what is left out.
 * The package's file list is npm's own (`npm pack --dry-run --json`, without running its scripts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Every link and image target in a markdown text: `[x](target)`, `![x](target "title")`, `<img src="target">`, `[x]: target`. */
function markdownTargets(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push(m[1]!);
  for (const m of text.matchAll(/<img\b[^>]*\bsrc="([^"]+)"/g)) out.push(m[1]!);
  for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*(\S+)/gm)) out.push(m[1]!);
  return out;
}

describe('docs in the npm package', () => {
  it('finds the targets of every kind of markdown link', () => {
    expect(markdownTargets('see [a](b.md#x), ![p](img/p.png "title"), <img src="c.svg"> and\n[ref]: ../d.sh\n')).toEqual(['b.md#x', 'img/p.png', 'c.svg', '../d.sh']);
  });

  it('link only to files the package holds (or to other sites)', () => {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const files = new Set((JSON.parse(r.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
    const docs = [...files].filter((f) => f.endsWith('.md'));
    expect(docs).toContain('README.md');
    expect(docs.filter((f) => f.startsWith('docs/')).length).toBeGreaterThan(10);
    const broken: string[] = [];
    let checked = 0;
    for (const doc of docs) {
      for (const target of markdownTargets(readFileSync(path.join(root, doc), 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue; // another site, mail, or this page
        checked++;
        const file = path.posix.normalize(path.posix.join(path.posix.dirname(doc), decodeURI(target.split('#')[0]!)));
        if (!files.has(file) && ![...files].some((f) => f.startsWith(`${file.replace(/\/$/, '')}/`))) broken.push(`${doc} → ${target}`);
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(broken).toEqual([]);
  });
});
