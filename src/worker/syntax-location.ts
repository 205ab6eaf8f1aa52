/**
 * Where a processor's SyntaxError is (FILE:LINE:COLUMN): CommonJS puts it at the head of the
 * error's stack, Node's ES module loader leaves it out, so for an ES module `node --check` says it.
 */
import { spawnSync } from 'node:child_process';

/** `PATH:LINE`, the source line and a caret under the column, as Node prints a syntax error. */
export function locationFromArrow(text: string): string | undefined {
  const m = /^(\S.*):(\d+)\n(.*)\n( *)\^/m.exec(text);
  return m ? `${m[1]}:${m[2]}:${m[4]!.length + 1}` : undefined;
}

/** Where a SyntaxError thrown while importing `file` is, for its message: ` (at FILE:LINE:COLUMN)`, or '' when it cannot be told. */
export function syntaxErrorPlace(err: Error, file: string): string {
  const fromStack = locationFromArrow(err.stack ?? '');
  if (fromStack) return ` (at ${fromStack})`;
  const check = spawnSync(process.execPath, ['--check', file], { encoding: 'utf8', timeout: 10_000 });
  // The file itself parses: the error is in a module it imports, which --check does not follow.
  if (check.status === 0) return ' (in a module it imports; the file itself parses)';
  const where = locationFromArrow(check.stderr ?? '');
  return where ? ` (at ${where})` : '';
}
