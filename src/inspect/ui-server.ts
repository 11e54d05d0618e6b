/**
 * The offline dashboard (`--ui`): node:http on 127.0.0.1 serving one page (ui-page.ts), the
 * machine diagrams (drawn from the definitions, statechart-svg.ts) and a Server-Sent Events
 * stream of the DashboardModel's view. The view is built and serialised at most UI_HZ times a
 * second and only when a record arrived, once for all clients: the download pays per block only
 * for the recorder's small event record, never per client.
 *
 * Bounded against a web page that reaches 127.0.0.1 (local-origin.ts): a request that does not name
 * 127.0.0.1/localhost in Host (DNS rebinding) or comes from another site's Origin is refused (403)
 * before anything is read or answered; at most MAX_UI_CLIENTS event streams are open at once, and a
 * client that does not read what it is sent skips frames (each is the whole view) instead of
 * piling them up in our memory.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AnyStateMachine } from 'xstate';
import type { DashboardModel } from './dashboard-model.js';
import { isLocalRequest } from './local-origin.js';
import { machineGraph } from './machine-graph.js';
import { statechartSvg } from './statechart-svg.js';
import { dashboardPage } from './ui-page.js';

export const UI_HZ = 5;
export const DEFAULT_UI_PORT = 7881;
/** Event streams open at once (a page is one; more are refused with 503). */
export const MAX_UI_CLIENTS = 16;
/** Bytes a client may leave unread before frames are skipped for it. */
export const MAX_UI_BACKLOG_BYTES = 256 * 1024;
/** Connections at once, idle ones included (Node has no limit of its own). */
export const MAX_UI_CONNECTIONS = 64;

export type ReplayControl = { action: 'play' | 'pause' | 'step' } | { action: 'speed'; speed: number };

export interface DashboardOptions {
  readonly port?: number;
  readonly machines: readonly AnyStateMachine[];
  readonly title: string;
  /** Replay only: the page shows play/pause/step buttons that call this. */
  readonly onControl?: (c: ReplayControl) => void;
}

export interface DashboardServer {
  readonly url: string;
  readonly port: number;
  /** Sends the current view now (e.g. once the download ended). */
  flush(): void;
  close(): Promise<void>;
}

export async function startDashboard(
  model: DashboardModel,
  options: DashboardOptions,
): Promise<DashboardServer> {
  const machines = JSON.stringify(
    Object.fromEntries(
      options.machines.map((m) => {
        const graph = machineGraph(m);
        return [m.id, { svg: statechartSvg(graph), states: graph.states.map((s) => s.id) }];
      }),
    ),
  );
  const page = dashboardPage(options.title, options.onControl !== undefined);
  const clients = new Set<ServerResponse>();
  let sent = -1;
  let lastJson = '';
  const frame = () => {
    if (model.changes !== sent) {
      sent = model.changes;
      lastJson = JSON.stringify(model.view());
    }
    return lastJson;
  };
  const push = () => {
    if (clients.size === 0 || model.changes === sent) return;
    const data = `data: ${frame()}\n\n`;
    for (const c of clients) if (c.writableLength <= MAX_UI_BACKLOG_BYTES) c.write(data);
  };
  const timer = setInterval(push, 1000 / UI_HZ);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (!isLocalRequest(req.headers, port)) {
      res.writeHead(403, { connection: 'close' }).end();
      return;
    }
    if (req.method === 'GET' && (url === '/' || url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else if (req.method === 'GET' && url === '/machines.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(machines);
    } else if (req.method === 'GET' && url === '/events') {
      if (clients.size >= MAX_UI_CLIENTS) {
        res.writeHead(503, { 'retry-after': '5' }).end();
        return;
      }
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      res.write(`data: ${frame()}\n\n`);
      clients.add(res);
      req.on('close', () => clients.delete(res));
    } else if (req.method === 'POST' && url === '/control' && options.onControl !== undefined) {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
        if (body.length > 1000) req.destroy();
      });
      req.on('end', () => {
        try {
          const c = JSON.parse(body) as ReplayControl;
          if (['play', 'pause', 'step', 'speed'].includes(c.action)) options.onControl?.(c);
          res.writeHead(204).end();
        } catch {
          res.writeHead(400).end();
        }
      });
    } else {
      res.writeHead(404).end();
    }
  });
  server.maxConnections = MAX_UI_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_UI_PORT, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    flush: () => {
      sent = -1;
      push();
    },
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(timer);
        for (const c of clients) c.end();
        clients.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
