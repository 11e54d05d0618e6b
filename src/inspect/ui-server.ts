/**
 * The offline dashboard (`--ui`): node:http on 127.0.0.1 serving one page (ui-page.ts), the
 * machine diagrams (drawn from the definitions, statechart-svg.ts) and a Server-Sent Events
 * stream of the DashboardModel's view. The view is built and serialised at most UI_HZ times a
 * second and only when a record arrived, once for all clients: the download pays per block only
 * for the recorder's small event record, never per client.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AnyStateMachine } from 'xstate';
import type { DashboardModel } from './dashboard-model.js';
import { machineGraph } from './machine-graph.js';
import { statechartSvg } from './statechart-svg.js';
import { dashboardPage } from './ui-page.js';

export const UI_HZ = 5;
export const DEFAULT_UI_PORT = 7881;

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
    for (const c of clients) c.write(data);
  };
  const timer = setInterval(push, 1000 / UI_HZ);
  const server = createServer((req, res) => {
    const url = req.url ?? '/';
    if (req.method === 'GET' && (url === '/' || url === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(page);
    } else if (req.method === 'GET' && url === '/machines.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(machines);
    } else if (req.method === 'GET' && url === '/events') {
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
