/**
 * The daemon's HTTP server: a Hono app (routing, HEAD, mounted sub-apps such as the job board) on a
 * node:http or node:https server. In front of every route: the Host check (DNS rebinding), then
 * authentication when the HTTP access file asks for it. /healthz and /readyz stay open so probes
 * need no secret; they say only ok or not. Handlers are given, not built here.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono, type Context } from 'hono';
import { HttpAuth } from './auth.js';
import type { HttpAccess } from '../config/http-access.js';
import { allowedHosts, hostAllowed, hostOf } from './host-check.js';

export type HttpEnv = { Bindings: HttpBindings; Variables: { authenticated: boolean } };
export type HttpContext = Context<HttpEnv>;
export type Handler = (c: HttpContext) => Response | Promise<Response>;

/** Paths that answer without credentials (liveness and readiness probes). */
const OPEN_PATHS = new Set(['/healthz', '/readyz']);

export interface HttpServerOptions {
  /** --metrics-host, for the Host check. */
  bind: string;
  access?: HttpAccess | undefined;
  /** Sub-apps mounted under a path prefix (e.g. the job board at /jobs), which may take other methods than GET. */
  mounts?: Array<{ path: string; app: Hono<HttpEnv> }>;
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

/** host:port of an Origin header; undefined for "null" or anything unparsable. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
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

    this.app.use('*', async (c, next) => {
      if (!hostAllowed(c.req.header('host'), hosts)) {
        return text(c, 403, `host ${JSON.stringify(hostOf(c.req.header('host') ?? ''))} is not one this server answers to; add it to host_names in the --http-config file\n`);
      }
      c.set('authenticated', false);
      if (this.auth.required && !OPEN_PATHS.has(c.req.path)) {
        const result = await this.auth.check(c.req.header('authorization'));
        if (!result.ok) return c.body('authentication required\n', 401, { 'www-authenticate': this.auth.challenge, 'content-type': 'text/plain; charset=utf-8' });
        c.set('authenticated', true);
      }
      const method = c.req.method;
      if (method !== 'GET' && method !== 'HEAD') {
        // Changes (only a mounted app takes them) need an authenticated user and a same-origin page.
        const origin = c.req.header('origin');
        if (!c.get('authenticated')) return text(c, 403, 'read-only: changes need the HTTP authentication of --http-config\n');
        if (origin !== undefined && originHost(origin) !== c.req.header('host')) return text(c, 403, 'cross-origin request refused\n');
      }
      await next();
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
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
