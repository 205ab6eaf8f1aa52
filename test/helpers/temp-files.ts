/** A temporary directory for a test file, and text files written into it. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempDir {
  dir: string;
  /** Write `text` to dir/name; returns the file's path. */
  file(name: string, text: string): string;
}

export function tempDir(label: string): TempDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), `wp-${label}-`));
  return {
    dir,
    file(name, text) {
      const p = path.join(dir, name);
      writeFileSync(p, text);
      return p;
    },
  };
}
