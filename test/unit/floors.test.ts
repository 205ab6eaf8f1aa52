/**
 * The house's floors (docs/development.md): every import in src/ points down or sideways, never up
 * a floor; no two files and no two folders import each other, directly or round a longer circle;
 * and no file but the option table is over 300 lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

/** The floor of each folder (or ground-floor file) of src/, lowest first. */
const FLOORS: Record<string, number> = {
  'clock.ts': 0,
  'logger.ts': 0,
  'secrets.ts': 0,
  'timing.ts': 0,
  'version.ts': 0,
  'suggest.ts': 0,
  'output-relay.ts': 0,
  policy: 1,
  routing: 1,
  ipc: 2,
  config: 2,
  redis: 2,
  worker: 3,
  supervisor: 3,
  'producer.ts': 4,
  migration: 4,
  fleet: 4,
  scaling: 4,
  observe: 4,
  http: 4,
  daemon: 5,
  sim: 5,
  demo: 5,
  cli: 6,
  'index.ts': 6,
};

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** The room of a file: its folder under src/, or its own name on the ground floor. */
function room(file: string): string {
  return path.relative(SRC, file).split(path.sep)[0]!;
}

/** Every relative import of a file (static, dynamic and `export … from`), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((s) => path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts'));
}

function findCircle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      const circle = visit(m);
      if (circle) return circle;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const circle = visit(n);
    if (circle) return circle;
  }
  return undefined;
}

describe('one floor per folder', () => {
  const files = sources();
  const edges = files.flatMap((f) => importsOf(f).map((to) => ({ from: f, to })));

  it('every file and folder of src/ has a floor', () => {
    expect(files.map(room).filter((r) => FLOORS[r] === undefined)).toEqual([]);
  });

  it('no import runs up a floor', () => {
    const up = edges.filter((e) => FLOORS[room(e.to)]! > FLOORS[room(e.from)]!).map((e) => `${path.relative(SRC, e.from)} -> ${path.relative(SRC, e.to)}`);
    expect(up).toEqual([]);
  });

  it('no circle between files, nor between folders', () => {
    const byFile = new Map<string, Set<string>>();
    const byRoom = new Map<string, Set<string>>();
    for (const { from, to } of edges) {
      if (!byFile.has(from)) byFile.set(from, new Set());
      byFile.get(from)!.add(to);
      if (room(from) === room(to)) continue;
      if (!byRoom.has(room(from))) byRoom.set(room(from), new Set());
      byRoom.get(room(from))!.add(room(to));
    }
    expect(findCircle(byFile)?.map((f) => path.relative(SRC, f))).toBeUndefined();
    expect(findCircle(byRoom)).toBeUndefined();
  });

  it('no file over 300 lines but the option table', () => {
    const long = files.filter((f) => !f.endsWith(path.join('config', 'schema.ts'))).map((f) => ({ f: path.relative(SRC, f), lines: readFileSync(f, 'utf8').split('\n').length - 1 })).filter((x) => x.lines > 300);
    expect(long).toEqual([]);
  });
});
