/** The daemon's HTTP endpoints: /metrics, /healthz, /readyz, /status. Handlers are given, not built here. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  (req: http.IncomingMessage, res: http.ServerResponse): void | Promise<void>;
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

export function sendText(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

export class HttpServer {
  private readonly server: http.Server;

  constructor(private readonly routes: Record<string, Route>) {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const route = this.routes[path];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendText(res, 405, 'method not allowed\n');
      return;
    }
    if (!route) {
      sendText(res, 404, `not found; try ${Object.keys(this.routes).join(' ')}\n`);
      return;
    }
    try {
      await route(req, res);
    } catch (err) {
      if (!res.headersSent) sendText(res, 500, `error: ${(err as Error).message}\n`);
      else res.end();
    }
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
