/**
 * A pool's YAML config file, read into raw values by option key: a clear line for an unreadable
 * file, broken YAML (with its line and column) and an unknown key (its line, and the key meant).
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { closest } from '../suggest.js';
import { ConfigError, OPTIONS, OPTION_BY_KEY } from './schema.js';

/** Raw values by option key, as commander or a test gives them (strings, booleans, or typed). */
export type RawValues = Record<string, unknown>;

/** Read a YAML config file into raw values, rejecting unknown keys. */
export function readConfigFile(file: string): RawValues {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(`config: cannot read ${file} (${code})`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const at = lines.linePos(e.pos[0]);
    throw new ConfigError(`config: ${file} line ${at.line} column ${at.col} is not valid YAML: ${e.message.split('\n')[0]}`);
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (err) {
    // The yaml library refuses documents whose aliases expand past its limit (a "billion laughs").
    throw new ConfigError(`config: ${file} cannot be read as YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new ConfigError(`config: ${file} must be a mapping of option names to values (e.g. "min-workers: 2")`);
  }
  const out: RawValues = {};
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    const spec = OPTION_BY_KEY.get(key);
    if (!spec || spec.cliOnly) {
      const line = keyLine(doc.contents, key, lines);
      const guess = closest(key, fileKeys());
      const hint = guess ? `did you mean ${guess}? (worker-pool --help lists every key)` : `allowed keys are ${fileKeys().join(', ')}`;
      throw new ConfigError(`${key} in ${file}${line ? ` line ${line}` : ''}: unknown key; ${hint}`);
    }
    out[key] = value;
  }
  return out;
}

/** The line of a top-level key in a parsed config file. */
function keyLine(contents: unknown, key: string, lines: LineCounter): number | undefined {
  if (!isMap(contents)) return undefined;
  const item = contents.items.find((i) => isScalar(i.key) && String(i.key.value) === key);
  const start = isScalar(item?.key) ? item.key.range?.[0] : undefined;
  return start === undefined ? undefined : lines.linePos(start).line;
}

export function fileKeys(): string[] {
  return OPTIONS.filter((o) => !o.cliOnly).map((o) => o.key);
}
