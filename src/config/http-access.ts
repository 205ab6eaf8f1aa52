/**
 * The HTTP access file given with --http-config: who may use the endpoints (basic auth users with
 * bcrypt hashes, bearer tokens from a file) and what each may do (a role), optional TLS, and the host
 * names the server answers to. The keys follow the Prometheus exporter-toolkit web config
 * (`basic_auth_users`, `tls_server_config.cert_file` / `key_file`), so a file written for an exporter
 * works here; added keys: `bearer_token_file`, `user_roles`, `bearer_token_role` and `host_names`.
 * Reading it is start-up's step; every problem is one ConfigError line naming the key.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { openSecretFileWarning } from './file-mode.js';
import { ConfigError } from './schema.js';

/**
 * What a credential may do, each role including the ones before it: `metrics` reads counts, rates
 * and names (/metrics, /status without errors, /history, /fleet, /events without job data, the
 * live page); `read` also reads jobs (the job board, /status's errors, /events with payloads);
 * `admin` also changes jobs (the job board's retry, remove, promote, pause, clean, obliterate, add).
 */
export const ROLES = ['metrics', 'read', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** A credential without a role in the file reads, and changes nothing. */
export const DEFAULT_ROLE: Role = 'read';

/** Whether `role` (undefined: no credential) includes `need`. */
export function roleAllows(role: Role | undefined, need: Role): boolean {
  return role !== undefined && ROLES.indexOf(role) >= ROLES.indexOf(need);
}

/** What the server enforces; `toJSON` hides every secret so it can be printed with a config. */
export class HttpAccess {
  constructor(
    /** Where the file was read from. */
    readonly file: string,
    /** User name → bcrypt hash. */
    readonly users: ReadonlyMap<string, string>,
    /** Accepted bearer tokens (one a line in the token file). */
    readonly bearerTokens: readonly string[],
    readonly tls: { cert: Buffer; key: Buffer } | undefined,
    /** Extra names the Host header may carry (besides the bind address and loopback names). */
    readonly hostNames: readonly string[],
    /** User name → role (users not listed: DEFAULT_ROLE). */
    readonly userRoles: ReadonlyMap<string, Role> = new Map(),
    /** The role of every token of the token file. */
    readonly tokenRole: Role = DEFAULT_ROLE,
    /** One line each: secret files every user of the host can read (logged at start). */
    readonly warnings: readonly string[] = [],
  ) {}

  roleOfUser(user: string): Role {
    return this.userRoles.get(user) ?? DEFAULT_ROLE;
  }

  /** Whether some credential may change jobs. */
  get hasAdmin(): boolean {
    return (this.bearerTokens.length > 0 && this.tokenRole === 'admin') || [...this.users.keys()].some((u) => this.roleOfUser(u) === 'admin');
  }

  /** True when a request must prove who it is. */
  get authRequired(): boolean {
    return this.users.size > 0 || this.bearerTokens.length > 0;
  }

  toJSON(): Record<string, unknown> {
    return {
      file: this.file,
      users: Object.fromEntries([...this.users.keys()].map((u) => [u, this.roleOfUser(u)])),
      bearerTokens: this.bearerTokens.length,
      tokenRole: this.tokenRole,
      tls: this.tls !== undefined,
      hostNames: this.hostNames,
    };
  }
}

const TOP_KEYS = ['basic_auth_users', 'user_roles', 'bearer_token_file', 'bearer_token_role', 'tls_server_config', 'host_names'];
const TLS_KEYS = ['cert_file', 'key_file'];
/** $2a$ / $2b$ / $2y$ (htpasswd -B writes $2y$), cost, 22 characters of salt and 31 of hash. */
const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * Where --http-config points: an absolute path as given; a relative one under systemd's
 * $CREDENTIALS_DIRECTORY when that is set (LoadCredential=http-config.yml:/etc/…), else under cwd.
 */
export function httpConfigPath(file: string, env: NodeJS.ProcessEnv, cwd: string): string {
  if (path.isAbsolute(file)) return file;
  const credDir = env['CREDENTIALS_DIRECTORY'];
  return path.resolve(credDir || cwd, file);
}

function readText(key: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`http-config: ${key === '' ? '' : `${key}: `}cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Read and check the file. Files it names are read relative to the file's own directory. */
export function loadHttpAccess(file: string): HttpAccess {
  const text = readText('', file);
  const doc = parseDocument(text, { prettyErrors: false });
  if (doc.errors.length > 0) throw new ConfigError(`http-config: ${file} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  const raw: unknown = doc.toJS() ?? {};
  if (!isMapping(raw)) throw new ConfigError(`http-config: ${file} must be a mapping (keys: ${TOP_KEYS.join(', ')})`);
  for (const key of Object.keys(raw)) {
    if (!TOP_KEYS.includes(key)) throw new ConfigError(`http-config: ${key} in ${file}: unknown key; allowed keys are ${TOP_KEYS.join(', ')}`);
  }
  const dir = path.dirname(file);
  const near = (p: string) => path.resolve(dir, p);
  const warnings: string[] = [];
  const warnIfOpen = (what: string, f: string) => {
    const w = openSecretFileWarning(what, f);
    if (w) warnings.push(w);
  };
  warnIfOpen('http-config: the access file', file);

  const users = new Map<string, string>();
  const rawUsers = raw['basic_auth_users'];
  if (rawUsers !== undefined && rawUsers !== null) {
    if (!isMapping(rawUsers)) throw new ConfigError(`http-config: basic_auth_users in ${file}: expected a mapping of user name to bcrypt hash`);
    for (const [user, hash] of Object.entries(rawUsers)) {
      if (user === '' || user.includes(':')) throw new ConfigError(`http-config: basic_auth_users in ${file}: user ${JSON.stringify(user)} is not allowed; a name is non-empty and has no ':'`);
      // The hash is not a secret worth hiding, but it is not shown either: the user name is enough.
      if (typeof hash !== 'string' || !BCRYPT.test(hash)) {
        throw new ConfigError(`http-config: basic_auth_users.${user} in ${file}: not a bcrypt hash; expected $2a$/$2b$/$2y$ (htpasswd -nBC 10 "" | tr -d ':\\n')`);
      }
      users.set(user, hash);
    }
  }

  let bearerTokens: string[] = [];
  const tokenFile = raw['bearer_token_file'];
  if (tokenFile !== undefined && tokenFile !== null) {
    if (typeof tokenFile !== 'string' || tokenFile.trim() === '') throw new ConfigError(`http-config: bearer_token_file in ${file}: expected a file name`);
    bearerTokens = readText('bearer_token_file', near(tokenFile))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (bearerTokens.length === 0) throw new ConfigError(`http-config: bearer_token_file ${near(tokenFile)} holds no token; expected one token a line`);
    if (bearerTokens.some((t) => t.length < 16 || /\s/.test(t))) {
      throw new ConfigError(`http-config: bearer_token_file ${near(tokenFile)}: a token is shorter than 16 characters or has spaces; use e.g. "openssl rand -hex 32"`);
    }
    warnIfOpen('http-config: bearer_token_file', near(tokenFile));
  }
  const userRoles = readUserRoles(raw['user_roles'], users, file);
  const tokenRole = raw['bearer_token_role'] === undefined || raw['bearer_token_role'] === null ? DEFAULT_ROLE : toRole('bearer_token_role', raw['bearer_token_role'], file);
  if (raw['bearer_token_role'] !== undefined && bearerTokens.length === 0) throw new ConfigError(`http-config: bearer_token_role in ${file}: there is no bearer_token_file for it to apply to`);

  let tls: HttpAccess['tls'];
  const rawTls = raw['tls_server_config'];
  if (rawTls !== undefined && rawTls !== null) {
    if (!isMapping(rawTls)) throw new ConfigError(`http-config: tls_server_config in ${file}: expected a mapping with cert_file and key_file`);
    for (const key of Object.keys(rawTls)) {
      if (!TLS_KEYS.includes(key)) throw new ConfigError(`http-config: tls_server_config.${key} in ${file}: unknown key; allowed keys are ${TLS_KEYS.join(', ')}`);
    }
    const certFile = rawTls['cert_file'];
    const keyFile = rawTls['key_file'];
    if (typeof certFile !== 'string' || typeof keyFile !== 'string') throw new ConfigError(`http-config: tls_server_config in ${file}: cert_file and key_file are both needed`);
    tls = { cert: Buffer.from(readText('tls_server_config.cert_file', near(certFile))), key: Buffer.from(readText('tls_server_config.key_file', near(keyFile))) };
    warnIfOpen('http-config: tls_server_config.key_file', near(keyFile));
  }

  const rawNames = raw['host_names'];
  let hostNames: string[] = [];
  if (rawNames !== undefined && rawNames !== null) {
    if (!Array.isArray(rawNames) || !rawNames.every((n) => typeof n === 'string' && /^[A-Za-z0-9.:\-[\]]+$/.test(n))) {
      throw new ConfigError(`http-config: host_names in ${file}: expected a list of host names or addresses (no ports), e.g. [pool1.example.com]`);
    }
    hostNames = rawNames.map((n: string) => n.toLowerCase());
  }
  return new HttpAccess(file, users, bearerTokens, tls, hostNames, userRoles, tokenRole, warnings);
}

function toRole(key: string, v: unknown, file: string): Role {
  if (typeof v === 'string' && (ROLES as readonly string[]).includes(v)) return v as Role;
  throw new ConfigError(`http-config: ${key} in ${file}: ${JSON.stringify(v)} is not a role; allowed: ${ROLES.join(', ')} (metrics: counts and names; read: also jobs; admin: also changes jobs)`);
}

/** `user_roles: { alice: admin, prometheus: metrics }`: each name must be one of basic_auth_users. */
function readUserRoles(raw: unknown, users: ReadonlyMap<string, string>, file: string): Map<string, Role> {
  const out = new Map<string, Role>();
  if (raw === undefined || raw === null) return out;
  if (!isMapping(raw)) throw new ConfigError(`http-config: user_roles in ${file}: expected a mapping of user name to role (${ROLES.join(', ')})`);
  for (const [user, role] of Object.entries(raw)) {
    if (!users.has(user)) throw new ConfigError(`http-config: user_roles.${user} in ${file}: no such user in basic_auth_users`);
    out.set(user, toRole(`user_roles.${user}`, role, file));
  }
  return out;
}

/** 127.0.0.0/8, ::1 and `localhost`: reachable from this host only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

/**
 * The rule for every command that loads a config: endpoints on a non-loopback address need auth,
 * unless the operator said --http-insecure. The access file is read when this process can read it
 * (returned); when it cannot (check-config or routes run outside the service cannot see
 * $CREDENTIALS_DIRECTORY), the file's presence is taken at its word and `serverHttpAccess` checks
 * it when the daemon starts.
 */
export function checkHttpExposure(c: ExposureSettings, env: NodeJS.ProcessEnv, cwd: string): HttpAccess | undefined {
  const file = c.httpConfig === undefined ? undefined : httpConfigPath(c.httpConfig, env, cwd);
  const access = file !== undefined && readable(file) ? loadHttpAccess(file) : undefined;
  requireAuthOffLoopback(c, access ? access.authRequired : c.httpConfig !== undefined);
  return access;
}

/** The access file for the daemon's server: read now if it was not yet (a missing file is an error here). */
export function serverHttpAccess(c: ExposureSettings & { httpAccess: HttpAccess | undefined }, env: NodeJS.ProcessEnv, cwd: string): HttpAccess | undefined {
  if (c.httpConfig === undefined) return undefined;
  const access = c.httpAccess ?? loadHttpAccess(httpConfigPath(c.httpConfig, env, cwd));
  requireAuthOffLoopback(c, access.authRequired);
  return access;
}

interface ExposureSettings {
  httpConfig: string | undefined;
  httpInsecure: boolean;
  metricsHost: string;
}

function readable(file: string): boolean {
  try {
    accessSync(file, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/** Endpoints on a non-loopback address need auth, unless the operator said --http-insecure. */
export function requireAuthOffLoopback(c: ExposureSettings, auth: boolean): void {
  if (isLoopback(c.metricsHost) || auth || c.httpInsecure) return;
  throw new ConfigError(
    `metrics-host: ${JSON.stringify(c.metricsHost)} is not allowed without authentication; give --http-config FILE with basic_auth_users or bearer_token_file, or say --http-insecure to serve /metrics, /status, /events (and /jobs with --job-board open) to anyone who can reach it`,
  );
}
