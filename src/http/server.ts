/**
 * The daemon's HTTP server: a Hono app (routing, HEAD, mounted sub-apps such as the job board) on a
 * node:http or node:https server. In front of every route: the Host check (DNS rebinding), the
 * refusal of requests made by pages of other sites, authentication when the HTTP access file asks
 * for it, then the role the route needs (metrics, read, admin: see http-access.ts), and a limit on
 * request bodies. /healthz and /readyz stay open so probes need no secret; they say only ok or not.
 * Handlers are given, not built here.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HttpAuth } from './auth.js';
import { roleAllows, type HttpAccess, type Role } from '../config/http-access.js';
import { allowedHosts, hostAllowed, hostOf } from './host-check.js';
import { crossSiteRefusal } from './request-site.js';

/** `role`: what the client may do (undefined on /healthz and /readyz, which ask nothing). */
export type HttpEnv = { Bindings: HttpBindings; Variables: { role: Role | undefined } };
export type HttpContext = Context<HttpEnv>;
export type Handler = (c: HttpContext) => Response | Promise<Response>;

/** Paths that answer without credentials (liveness and readiness probes). */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/** The most a request body may hold (the job board's "add job" and edits are the only bodies read). */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/** A sub-app under a path prefix (the job board at /jobs), which may take other methods than GET. */
export interface Mount {
  path: string;
  app: Hono<HttpEnv>;
  /** The role GET and HEAD need, and the role every other method needs. */
  read: Role;
  write: Role;
  /** Without an access file, GET and HEAD are answered anyway (read-only). */
  openWithoutAuth?: boolean;
  /** How to get in, for the 403 a client without credentials gets. */
  hint?: string;
}

export interface HttpServerOptions {
  /** --metrics-host, for the Host check. */
  bind: string;
  access?: HttpAccess | undefined;
  mounts?: Mount[];
  /** The role each route needs (default metrics: counts, rates and names). */
  needs?: Record<string, Role>;
  maxBodyBytes?: number;
}

export function text(c: HttpContext, status: number, body: string, type = 'text/plain; charset=utf-8'): Response {
  return c.body(body, status as 200, { 'content-type': type, 'cache-control': 'no-store' });
}

export function json(c: HttpContext, status: number, body: unknown): Response {
  return text(c, status, JSON.stringify(body, null, 2) + '\n', 'application/json; charset=utf-8');
}

/** The answer of a handler that wrote to the raw response itself (an event stream). */
export function alreadySent(): Response {
  return RESPONSE_ALREADY_SENT;
}

 /** This host's addresses and name, for a server bound to every address. */
function localNames(): string[] {
  const out = [hostname()];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.push(a.address);
  return out;
}

export class HttpServer {
  readonly app = new Hono<HttpEnv>();
  private readonly server: http.Server;
  readonly auth: HttpAuth;
  readonly tls: boolean;

  constructor(routes: Record<string, Handler>, opts: HttpServerOptions) {
    this.auth = new HttpAuth(opts.access);
    const hosts = allowedHosts({ bind: opts.bind, configured: opts.access?.hostNames ?? [], local: localNames() });
    const mounts = opts.mounts ?? [];
    const needs = opts.needs ?? {};
    const limitBody = bodyLimit({ maxSize: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES, onError: (c) => text(c as HttpContext, 413, `request body larger than ${opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes refused\n`) });

    this.app.use('*', async (c, next) => {
      const host = c.req.header('host');
      if (!hostAllowed(host, hosts)) {
        return text(c, 403, `host ${JSON.stringify(hostOf(host ?? ''))} is not one this server answers to; add it to host_names in the --http-config file\n`);
      }
      const path = c.req.path;
      const reading = c.req.method === 'GET' || c.req.method === 'HEAD';
      c.set('role', undefined);
      if (OPEN_PATHS.has(path)) return next();
      // Before any credential check: a page of another site gets nothing, not even a bcrypt compare.
      const h = (name: string) => c.req.header(name);
      const refusal = crossSiteRefusal({ method: c.req.method, host, origin: h('origin'), secFetchSite: h('sec-fetch-site'), secFetchMode: h('sec-fetch-mode'), secFetchDest: h('sec-fetch-dest') });
      if (refusal) return text(c, 403, `${refusal}\n`);
      const mount = mounts.find((m) => path === m.path || path.startsWith(`${m.path}/`));
      const need: Role = mount ? (reading ? mount.read : mount.write) : (needs[path] ?? 'metrics');
      let role: Role;
      let who: string;
      if (this.auth.required) {
        const result = await this.auth.check(h('authorization'));
        if (!result.ok && result.busy) return c.body('too many credential checks at once; try again in a second\n', 503, { 'retry-after': '1', 'content-type': 'text/plain; charset=utf-8' });
        if (!result.ok) return c.body('authentication required\n', 401, { 'www-authenticate': this.auth.challenge, 'content-type': 'text/plain; charset=utf-8' });
        role = result.role;
        who = result.user === 'bearer' ? 'this bearer token' : `user ${JSON.stringify(result.user)}`;
      } else {
        // No credentials asked: counts and names for everyone on the port; a mount may open its reads.
        role = mount?.openWithoutAuth && reading ? 'read' : 'metrics';
        who = '';
      }
      c.set('role', role);
      if (!roleAllows(role, need)) {
        const how = this.auth.required
          ? `${who} has role ${role}; it needs ${need} (user_roles or bearer_token_role of ${opts.access!.file})`
          : `it needs a credential with role ${need}: give --http-config FILE (docs/http.md)${mount?.hint && reading ? `, ${mount.hint}` : ''}`;
        return text(c, 403, `${c.req.method} ${path} refused: ${how}\n`);
      }
      return reading ? next() : limitBody(c, next);
    });
    for (const [path, handler] of Object.entries(routes)) {
      this.app.get(path, handler);
      this.app.all(path, (c) => text(c, 405, 'method not allowed\n'));
    }
    for (const m of mounts) this.app.route(m.path, m.app);
    const known = [...Object.keys(routes), ...mounts.map((m) => m.path)].join(' ');
    this.app.notFound((c) => text(c, 404, `not found; try ${known}\n`));
    this.app.onError((err, c) => text(c, 500, `error: ${err.message}\n`));

    // Leave the global Request/Response alone (the library would swap in its own): other code in the process uses them.
    const listener = getRequestListener(this.app.fetch, { overrideGlobalObjects: false });
    this.tls = opts.access?.tls !== undefined;
    this.server = opts.access?.tls ? https.createServer({ cert: opts.access.tls.cert, key: opts.access.tls.key }, listener) : http.createServer(listener);
    this.server.keepAliveTimeout = 5000;
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => void this.auth.close().then(() => resolve()));
      this.server.closeAllConnections();
    });
  }
}
