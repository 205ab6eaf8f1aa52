/**
 * Issue 25, item 5: every Lua script in src/ declares each key it touches in KEYS; none builds a key
 * from ARGV or from another key. On Redis Cluster only declared keys are checked before a script
 * runs: a built key in a slot being resharded fails the script ("non local key") instead of getting
 * TRYAGAIN, which the client retries. The reader of the scripts is checked on scripts of its own too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkScript, luaScripts } from '../helpers/lua-keys.js';

const SRC = path.resolve(__dirname, '../../src');
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));

describe('Lua scripts declare their keys', () => {
  it('the reader tells a declared key from a built one', () => {
    const r = checkScript(`
local call = redis.call
local wait, meta = KEYS[1], KEYS[2]
local id, built = ARGV[1], ARGV[2] .. ':wait'
for i, key in ipairs(KEYS) do redis.call('PEXPIRE', key, ARGV[1]) end
if redis.call('EXISTS', wait, built) > 0 then call('HGET', meta, 'x') end
redis.call('LLEN', ARGV[3])
call('DEL', KEYS[3], KEYS[1] .. ':lock')
local t = redis.call('TIME') redis.call('GET', t)
`);
    expect(r.unknown).toEqual([]);
    expect(r.uses.map((u) => `${u.command} ${u.arg} ${u.declared}`)).toEqual([
      'PEXPIRE key true',
      'EXISTS wait true',
      'EXISTS built false',
      'HGET meta true',
      'LLEN ARGV[3] false',
      'DEL KEYS[3] true',
      "DEL KEYS[1] .. ':lock' false",
      'GET t false',
    ]);
    expect(checkScript("redis.call('OBJECT', 'ENCODING', KEYS[1])").unknown).toHaveLength(1);
  });

  it('no script in src/ builds a key', () => {
    const found: string[] = [];
    let scripts = 0;
    let keys = 0;
    for (const file of files(SRC)) {
      for (const lua of luaScripts(readFileSync(file, 'utf8'))) {
        scripts++;
        const r = checkScript(lua);
        keys += r.uses.length;
        const where = path.relative(SRC, file);
        found.push(...r.unknown.map((u) => `${where}: ${u}`));
        found.push(...r.uses.filter((u) => !u.declared).map((u) => `${where}: ${u.command} ${u.arg} is not declared in KEYS`));
      }
    }
    console.log(`${scripts} Lua scripts in src/, ${keys} key arguments read`);
    expect(scripts).toBeGreaterThanOrEqual(10);
    expect(found).toEqual([]);
  });
});
