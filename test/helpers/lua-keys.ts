/**
 * A reader of this project's Lua scripts that finds every key a `redis.call` reaches and tells
 * whether the script declared it in KEYS, for the test that no script builds a key (Redis Cluster
 * checks only declared keys before a script runs). It knows the commands the scripts use; an
 * unknown command is reported, to be added to the table.
 */

/** Which arguments (1-based, after the command name) are keys: 'all', 'none', or positions. */
const KEY_ARGS: Record<string, 'all' | 'none' | number[]> = {
  TIME: 'none',
  EXISTS: 'all', DEL: 'all', UNLINK: 'all', MGET: 'all', TOUCH: 'all',
  RENAME: [1, 2], LMOVE: [1, 2], RPOPLPUSH: [1, 2], SMOVE: [1, 2],
};
const ONE_KEY = [
  'GET', 'SET', 'SETNX', 'INCR', 'INCRBY', 'DECR', 'PEXPIRE', 'EXPIRE', 'PTTL', 'TTL', 'TYPE',
  'HGET', 'HSET', 'HMGET', 'HGETALL', 'HDEL', 'HEXISTS', 'HINCRBY', 'HLEN', 'HKEYS', 'HSTRLEN',
  'LLEN', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'LREM', 'LRANGE', 'LPOS', 'LINDEX',
  'SADD', 'SREM', 'SISMEMBER', 'SMEMBERS', 'SCARD',
  'ZADD', 'ZREM', 'ZSCORE', 'ZCARD', 'ZCOUNT', 'ZRANGE', 'ZRANGEBYSCORE', 'ZREVRANGE', 'ZREMRANGEBYSCORE', 'ZPOPMIN', 'ZRANK',
  'XADD', 'XLEN', 'XTRIM',
];
for (const c of ONE_KEY) KEY_ARGS[c] = [1];

export interface KeyUse {
  /** The command, as written. */
  command: string;
  /** The argument's text. */
  arg: string;
  /** Declared: KEYS[…] itself, a name only ever given KEYS[…], or a loop over KEYS. */
  declared: boolean;
}

export interface ScriptReport {
  uses: KeyUse[];
  /** Calls this reader cannot judge (a command not in its table, a command name that is not a literal). */
  unknown: string[];
}

/** Template literals of a TypeScript file that hold a Lua script (they call redis.call / redis.pcall). */
export function luaScripts(tsSource: string): string[] {
  const out: string[] = [];
  for (const m of tsSource.matchAll(/`([^`]*)`/g)) {
    if (/\bredis\.p?call\b/.test(m[1]!)) out.push(m[1]!.replace(/\$\{[^}]*\}/g, '\n'));
  }
  return out;
}

/** The script with strings replaced by placeholders ('s0', …) and comments removed, and the strings. */
function mask(lua: string): { text: string; strings: string[] } {
  const strings: string[] = [];
  let text = '';
  for (let i = 0; i < lua.length; ) {
    const c = lua[i]!;
    if (c === '-' && lua[i + 1] === '-') {
      while (i < lua.length && lua[i] !== '\n') i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < lua.length && lua[j] !== c) j += lua[j] === '\\' ? 2 : 1;
      strings.push(lua.slice(i + 1, j));
      text += `'s${strings.length - 1}'`;
      i = j + 1;
    } else {
      text += c;
      i++;
    }
  }
  return { text, strings };
}

/** Split at commas outside brackets; stops at the bracket that closes the list (returns where). */
function splitArgs(text: string, from: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let start = from;
  for (let i = from; i < text.length; i++) {
    const c = text[i]!;
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        args.push(text.slice(start, i).trim());
        return { args: args.filter((a) => a !== ''), end: i };
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      args.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  args.push(text.slice(start).trim());
  return { args: args.filter((a) => a !== ''), end: text.length };
}

const KEYS_ELEMENT = /^KEYS\[[^\]]+\](?=\s*$|\s+(?!\.\.|[-+*/%^<>=~])\S)/;

/** Find every key a script's calls reach, and whether each was declared in KEYS. */
export function checkScript(lua: string): ScriptReport {
  const { text, strings } = mask(lua);
  // Names that stand for redis.call (`local call = redis.call`).
  const callers = ['redis.call', 'redis.pcall'];
  for (const m of text.matchAll(/(?:local\s+)?([A-Za-z_]\w*)\s*=\s*redis\.p?call\b(?!\s*\()/g)) callers.push(m[1]!);
  // Every assignment to a name: is what it is given KEYS[…] (or a name given only that)?
  const given = new Map<string, boolean[]>();
  const note = (name: string, declared: boolean) => given.set(name, [...(given.get(name) ?? []), declared]);
  for (const m of text.matchAll(/(?:^|[\s;)])(?:local\s+)?([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*)\s*=(?!=)/g)) {
    const names = m[1]!.split(',').map((n) => n.trim());
    if (names.some((n) => ['local', 'then', 'do', 'else', 'end', 'return'].includes(n))) continue;
    const rhs = text.slice(m.index! + m[0].length);
    const values = splitArgs(rhs.split('\n')[0]!, 0).args;
    names.forEach((n, i) => note(n, KEYS_ELEMENT.test(values[i] ?? '')));
  }
  for (const m of text.matchAll(/for\s+[A-Za-z_]\w*\s*,\s*([A-Za-z_]\w*)\s+in\s+ipairs\(\s*KEYS\s*\)/g)) note(m[1]!, true);
  const declaredName = (arg: string) => {
    const seen = given.get(arg);
    return seen !== undefined && seen.every(Boolean);
  };
  const declared = (arg: string) => /^KEYS\[[^\]]+\]$/.test(arg) || /^unpack\(\s*KEYS\b/.test(arg) || (/^[A-Za-z_]\w*$/.test(arg) && declaredName(arg));

  const report: ScriptReport = { uses: [], unknown: [] };
  const callRe = new RegExp(`(?<![\\w.])(${callers.map((c) => c.replace('.', '\\.')).join('|')})\\s*\\(`, 'g');
  for (const m of text.matchAll(callRe)) {
    const { args } = splitArgs(text, m.index! + m[0].length);
    const name = /^'s(\d+)'$/.exec(args[0] ?? '');
    if (!name) {
      report.unknown.push(`${m[1]}(${args.join(', ')}): the command is not a string literal`);
      continue;
    }
    const command = strings[Number(name[1])]!.toUpperCase();
    const spec = KEY_ARGS[command];
    if (spec === undefined) {
      report.unknown.push(`${command}: not in the table of key positions (test/helpers/lua-keys.ts)`);
      continue;
    }
    const positions = spec === 'none' ? [] : spec === 'all' ? args.slice(1).map((_, i) => i + 1) : spec;
    for (const p of positions) {
      const arg = args[p];
      if (arg !== undefined) report.uses.push({ command, arg: arg.replace(/'s(\d+)'/g, (_, n: string) => `'${strings[Number(n)]}'`), declared: declared(arg) });
    }
  }
  return report;
}
