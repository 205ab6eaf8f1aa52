/**
 * Keeps the Redis password out of everything the pool prints: one `redactText` that every printer
 * (config and CLI errors, the logger, /status, check-config) passes its text through. It knows the
 * shapes a password takes in a Redis URL (`user:password@`, `?password=`, unencoded characters such
 * as '/') and the password values this process has read, from a URL or a file.
 */

/** URL query parameters that ioredis reads as credentials. */
const SECRET_PARAM = /^(password|pass|pwd|secret|token|sentinelpassword)$/i;
/** A URL inside free text: a scheme, "://", then everything up to a space or a quote. */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'`<>]+/gi;
/** Shorter values would redact ordinary words; the URL shapes cover them. */
const MIN_REMEMBERED = 4;

const known = new Set<string>();

/** A password this process holds (from a URL or a file): removed from every text printed from now on. */
export function rememberSecret(value: string | undefined): void {
  if (!value || value.length < MIN_REMEMBERED) return;
  known.add(value);
  known.add(encodeURIComponent(value));
}

interface UrlParts {
  /** "redis://" */
  scheme: string;
  /** Raw (as written), without the '@'. */
  userinfo: string | undefined;
  /** host[:port][/db][?query] */
  rest: string;
}

/**
 * Splits a URL at its userinfo. The userinfo ends at the last '@' before the query, so a password
 * with '/', '?' or '@' written unencoded (common in generated secrets) still splits correctly.
 */
function splitUrl(url: string): UrlParts | undefined {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(url);
  if (!m) return undefined;
  const [, scheme, body] = m as unknown as [string, string, string];
  const firstAt = body.indexOf('@');
  if (firstAt < 0) return { scheme, userinfo: undefined, rest: body };
  // An '@' only in the query (`?name=a@b`) is no userinfo: a parseable URL whose path is clean says so.
  try {
    const parsed = new URL(url);
    if (!parsed.username && !parsed.password && !parsed.pathname.includes('@') && !parsed.host.includes('@')) {
      return { scheme, userinfo: undefined, rest: body };
    }
  } catch {
    // Unparseable as written: split by hand below.
  }
  const queryAt = body.indexOf('?', firstAt);
  const end = queryAt < 0 ? body.length : queryAt;
  const at = body.lastIndexOf('@', end - 1);
  return { scheme, userinfo: body.slice(0, at), rest: body.slice(at + 1) };
}

function decodeLoose(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * The URL with its user and password percent-encoded, so that `new URL` and ioredis read it as
 * meant (`redis://:ab/cd@host` is otherwise host "" with a bad port). Its password is remembered.
 */
export function normalizeRedisUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return url;
  let out = url;
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    const user = colon < 0 ? parts.userinfo : parts.userinfo.slice(0, colon);
    const password = colon < 0 ? undefined : parts.userinfo.slice(colon + 1);
    const enc = (s: string) => encodeURIComponent(decodeLoose(s));
    out = `${parts.scheme}${enc(user)}${password === undefined ? '' : ':' + enc(password)}@${parts.rest}`;
    if (password !== undefined) rememberSecret(decodeLoose(password));
  }
  try {
    for (const [key, value] of new URL(out).searchParams) if (SECRET_PARAM.test(key)) rememberSecret(value);
  } catch {
    // Not a URL at all: its checker reports it.
  }
  return out;
}

/** The URL with any password (in the userinfo or the query) replaced by ***, for logs and /status. */
export function redactUrl(url: string): string {
  const parts = splitUrl(url);
  if (!parts) return redactKnown(url);
  let userinfo = '';
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    userinfo = (colon < 0 ? parts.userinfo : `${parts.userinfo.slice(0, colon)}:***`) + '@';
  }
  const q = parts.rest.indexOf('?');
  let rest = parts.rest;
  if (q >= 0) {
    const query = rest
      .slice(q + 1)
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        const key = decodeLoose(eq < 0 ? pair : pair.slice(0, eq));
        return eq >= 0 && SECRET_PARAM.test(key) ? `${pair.slice(0, eq)}=***` : pair;
      })
      .join('&');
    rest = `${rest.slice(0, q)}?${query}`;
  }
  return redactKnown(`${parts.scheme}${userinfo}${rest}`);
}

function redactKnown(text: string): string {
  let out = text;
  for (const secret of known) if (out.includes(secret)) out = out.split(secret).join('***');
  return out;
}

/** Any text with every URL's password and every remembered password replaced by ***. */
export function redactText(text: string): string {
  return redactKnown(text.replace(URL_IN_TEXT, (url) => redactUrl(url)));
}

/** A log argument with its strings redacted (objects and errors a few levels deep), for the logger. */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    // As pino's error serializer shows it (type, message, stack, own fields such as `code`), redacted.
    const own = redactValue({ ...value }, depth + 1) as Record<string, unknown>;
    return { type: value.name, message: redactText(value.message), stack: value.stack === undefined ? undefined : redactText(value.stack), ...own };
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, depth + 1);
  return out;
}

/** systemd's variables for the service's main process: a child must not ready or feed the watchdog for it. */
const SUPERVISOR_ONLY = new Set(['NOTIFY_SOCKET', 'WATCHDOG_USEC', 'WATCHDOG_PID']);

/**
 * The environment for a worker child: the parent's without the pool's own settings (children get
 * theirs over IPC), without a REDIS_URL that carries a password, and without systemd's notify socket.
 */
export function childEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) {
    if (name.startsWith('WORKER_POOL_') || SUPERVISOR_ONLY.has(name)) continue;
    if (name === 'REDIS_URL' && value !== undefined && redactUrl(value) !== value) continue;
    out[name] = value;
  }
  return out;
}

/** The command line with the value of every URL-bearing argument redacted (for process.title). */
export function redactArgv(argv: readonly string[]): string[] {
  return argv.map((arg) => redactText(arg));
}
