/** Reading systemd unit files in tests: `Key=value` lines by section, every value of a repeated key kept. */
import { readFileSync } from 'node:fs';

export type UnitFile = Record<string, Record<string, string[]>>;

export function parseUnit(file: string): UnitFile {
  const out: UnitFile = {};
  let section = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      out[section] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    (out[section]![key] ??= []).push(line.slice(eq + 1).trim());
  }
  return out;
}

/** The last value of a key (what systemd uses for single-valued settings). */
export function last(unit: UnitFile, section: string, key: string): string | undefined {
  return unit[section]?.[key]?.at(-1);
}
