/**
 * The daemon's HTTP endpoints, each a line: the live page, its history and event stream, metrics,
 * liveness and readiness, /status, /fleet, /scaler, and the job board mounted at /jobs; with the
 * role each needs beyond counts and names (docs/http.md), and the warnings about the set-up to log at start.
 */
import { isLoopback, roleAllows, serverHttpAccess } from '../config/http-access.js';
import { JOB_BOARD_PATH, JobBoard, jobBoardOff } from '../http/job-board.js';
import { LIVE_PAGE_HTML } from '../http/live-page.js';
import { HttpServer, json, text, type Handler } from '../http/server.js';
import type { FleetMember } from '../fleet/member.js';
import type { PoolStatus } from './status.js';
import { healthy, readiness } from './status.js';
import { poolQueues } from './reload.js';
import { scalerRoute } from './scaler.js';
import type { PoolParts, PoolState } from './state.js';

export interface PoolHttp {
  server: HttpServer;
  board: JobBoard;
  /** One line each, for the start-up log: secret files others can read, an open port (warn); what is off (info). */
  warnings: string[];
  notes: string[];
}

export function buildHttp(parts: PoolParts, state: PoolState, status: (opts: { private: boolean }) => Promise<PoolStatus>): PoolHttp {
  const c = state.config;
  const { registry, history, events, redisWatch } = parts;
  const access = serverHttpAccess(c, process.env, process.cwd());
  const board = new JobBoard(c.name, poolQueues(parts, c));
  // Bound to loopback with no authentication asked for: every client is on this host, the operator's.
  const localOnly = isLoopback(c.metricsHost) && !access?.authRequired;
  const server = new HttpServer(
    {
      '/': (ctx) => text(ctx, 200, LIVE_PAGE_HTML, 'text/html; charset=utf-8'),
      '/history': (ctx) => json(ctx, 200, history.body()),
      '/events': events.handle,
      '/metrics': async (ctx) => text(ctx, 200, await registry.metrics(), registry.contentType),
      '/healthz': (ctx) => (healthy(parts) ? text(ctx, 200, 'ok\n') : text(ctx, 503, 'control loop stalled\n')),
      '/readyz': async (ctx) => {
        const reasons = await readiness(parts);
        return text(ctx, reasons.length === 0 ? 200 : 503, `${reasons.length === 0 ? 'ready' : `not ready: ${reasons.join('; ')}`}\n${redisWatch.describe()}\n`);
      },
      // Errors can carry secrets (a processor's stderr, a config line): only for credentials that read
      // jobs, or any client of a loopback-only pool without an access file (redacted, as in the log).
      '/status': async (ctx) => json(ctx, 200, await status({ private: roleAllows(ctx.get('role'), 'read') || localOnly })),
      '/fleet': fleetRoute(parts.fleet),
      // The pods the fleet needs, for KEDA's metrics-api trigger (see scaler.ts).
      '/scaler': scalerRoute(parts.fleet, () => state.config),
    },
    {
      bind: c.metricsHost,
      access,
      // With payloads, /events carries return values and failure reasons: job data, for credentials that read jobs
      // (without an access file, --events-payloads is itself the operator's word that everyone on the port may see them).
      needs: { '/events': c.eventsPayloads && access?.authRequired ? 'read' : 'metrics' },
      mounts: [
        c.jobBoard === 'off'
          ? { path: JOB_BOARD_PATH, app: jobBoardOff(), read: 'metrics', write: 'metrics' }
          : { path: JOB_BOARD_PATH, app: board.app, read: 'read', write: 'admin', openWithoutAuth: c.jobBoard === 'open', hint: 'or --job-board open to show it read-only without one' },
      ],
    },
  );
  const warnings = [...(access?.warnings ?? [])];
  if (!access?.authRequired && !isLoopback(c.metricsHost)) {
    warnings.push(`--http-insecure: every client that reaches ${c.metricsHost}:${c.metricsPort} sees /metrics, /status and /events without credentials${c.jobBoard === 'open' ? ', and the job board /jobs with job data, return values and errors' : ''}`);
  }
  const notes: string[] = [];
  if (access?.authRequired && c.jobBoard !== 'off' && !access.hasAdmin) {
    notes.push(`the job board's actions (retry, remove, pause, clean…) are off: no credential of ${access.file} has role admin (user_roles, bearer_token_role)`);
  }
  return { server, board, warnings, notes };
}

/** `GET /fleet`: every instance registered on this daemon's Redis and prefix, as JSON (see fleet/view.ts). */
export function fleetRoute(member: Pick<FleetMember, 'view'>): Handler {
  return async (ctx) => {
    try {
      return json(ctx, 200, await member.view());
    } catch (err) {
      return text(ctx, 503, `fleet registry unreachable: ${(err as Error).message}\n`);
    }
  };
}
