/**
 * GitLab's queue-selector syntax, parsed into a tree and matched against a job type's attributes.
 * Pure: no I/O.
 *
 *   selector   := '*' | or
 *   or         := and ( '|' and )*          lowest precedence
 *   and        := condition ( '&' condition )*
 *   condition  := attribute ( '=' | '!=' ) value ( ',' value )*
 *
 * `urgency=high,low` means urgency is high or low; `tags=x` holds when the job type carries tag x
 * (`tags=x,y`: it carries x or y); `!=` is the negation of the same test.
 */

export type Selector =
  | { kind: 'all' }
  | { kind: 'or'; parts: Selector[] }
  | { kind: 'and'; parts: Selector[] }
  | { kind: 'cond'; attribute: string; negate: boolean; values: string[] };

/** An attribute value as a selector sees it: a word, a flag, or a list of words (tags). */
export type AttributeValue = string | boolean | number | readonly string[] | undefined;
export type Attributes = Readonly<Record<string, AttributeValue>>;

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
  constructor(
    readonly reason: string,
    readonly selector: string,
    readonly position: number,
  ) {
    super(`${reason} at position ${position + 1}\n  ${selector}\n  ${' '.repeat(position)}^`);
  }
}

const ATTRIBUTE = /[a-z_][a-z0-9_]*/y;
const VALUE = /[A-Za-z0-9_.@:\/+-]+/y;

export function parseSelector(text: string): Selector {
  let pos = 0;
  const fail = (reason: string, at = pos): never => {
    throw new SelectorError(reason, text, at);
  };
  const skipSpace = () => {
    while (pos < text.length && text[pos] === ' ') pos++;
  };
  const describe = () => (pos >= text.length ? 'end of selector' : `"${text[pos]}"`);

  skipSpace();
  if (text[pos] === '*') {
    pos++;
    skipSpace();
    if (pos < text.length) fail(`"*" must stand alone, found ${describe()}`);
    return { kind: 'all' };
  }
  if (pos >= text.length) fail('empty selector; use "*" to match every job type');

  const word = (re: RegExp, what: string): string => {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return fail(`expected ${what}, found ${describe()}`);
    pos += m[0].length;
    return m[0];
  };

  const condition = (): Selector => {
    skipSpace();
    const attribute = word(ATTRIBUTE, 'an attribute name (e.g. urgency, resource_boundary, tags, name)');
    skipSpace();
    let negate = false;
    if (text.startsWith('!=', pos)) {
      negate = true;
      pos += 2;
    } else if (text[pos] === '=') {
      pos += 1;
    } else {
      fail(`expected "=" or "!=" after "${attribute}", found ${describe()}`);
    }
    skipSpace();
    const values = [word(VALUE, 'a value')];
    skipSpace();
    while (text[pos] === ',') {
      pos++;
      skipSpace();
      values.push(word(VALUE, 'a value after ","'));
      skipSpace();
    }
    return { kind: 'cond', attribute, negate, values };
  };

  const conjunction = (): Selector => {
    const parts = [condition()];
    while (text[pos] === '&') {
      pos++;
      parts.push(condition());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
  };

  const parts = [conjunction()];
  while (text[pos] === '|') {
    pos++;
    parts.push(conjunction());
  }
  if (pos < text.length) fail(`expected "&", "|" or "," here, found ${describe()}`);
  return parts.length === 1 ? parts[0]! : { kind: 'or', parts };
}

function holds(actual: AttributeValue, wanted: string): boolean {
  if (actual === undefined) return false;
  if (Array.isArray(actual)) return actual.includes(wanted);
  return String(actual) === wanted;
}

export function matches(selector: Selector, attributes: Attributes): boolean {
  switch (selector.kind) {
    case 'all':
      return true;
    case 'or':
      return selector.parts.some((p) => matches(p, attributes));
    case 'and':
      return selector.parts.every((p) => matches(p, attributes));
    case 'cond': {
      const actual = attributes[selector.attribute];
      const any = selector.values.some((v) => holds(actual, v));
      return selector.negate ? !any : any;
    }
  }
}

/** Every attribute name a selector mentions (to warn about names no job type has). */
export function attributesOf(selector: Selector): string[] {
  switch (selector.kind) {
    case 'all':
      return [];
    case 'or':
    case 'and':
      return [...new Set(selector.parts.flatMap(attributesOf))];
    case 'cond':
      return [selector.attribute];
  }
}
