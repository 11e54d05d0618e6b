/**
 * A web seed for tests (BEP 19): Node's own HTTP server on 127.0.0.1 serving a folder with Range
 * support (`Range: bytes=a-b` → 206 with Content-Range; none → 200), closed after the test with
 * its sockets. python3's http.server ignores Range, so it cannot stand in. `behave` may answer a
 * request itself (a hostile or failing server) and returns true when it did; every request is
 * counted by path.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join, normalize, sep } from 'node:path';
import type { TestContext } from './temp-dir.js';

export interface WebSeedServer {
  readonly url: string;
  readonly port: number;
  /** Requests seen, in order: the decoded path and the Range header. */
  readonly requests: { path: string; range: string | undefined }[];
  /** Connections (TCP sockets) accepted so far. */
  connectionCount(): number;
  close(): Promise<void>;
}

export type Behave = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

export async function startWebSeedServer(
  t: TestContext,
  root: string,
  behave?: Behave,
  /**
   * Serve at most about this many bytes a second on each connection (64 KiB at a time), as servers
   * that limit the speed per connection do: a slow honest seed, or one that parallel GETs beat.
   */
  bytesPerSecond?: number,
): Promise<WebSeedServer> {
  const requests: { path: string; range: string | undefined }[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ path, range: req.headers.range });
    if (behave?.(req, res, path) === true) return;
    void serveFile(root, path, req, res, bytesPerSecond);
  });
  server.on('connection', (s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  const close = () =>
    new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      server.close(() => ok());
    });
  t.after(close);
  return { url: `http://127.0.0.1:${port}`, port, requests, connectionCount: () => connections, close };
}

/** When each connection may send again (performance.now() ms). */
const paces = new WeakMap<Socket, { readyAt: number }>();
function paceOf(socket: Socket): { readyAt: number } {
  let p = paces.get(socket);
  if (p === undefined) paces.set(socket, (p = { readyAt: 0 }));
  return p;
}

async function serveFile(
  root: string,
  path: string,
  req: IncomingMessage,
  res: ServerResponse,
  bytesPerSecond: number | undefined,
) {
  const file = normalize(join(root, path));
  if (!file.startsWith(root + sep)) {
    res.writeHead(403).end();
    return;
  }
  let size: number;
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new Error('not a file');
    size = s.size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  if (m === null) {
    res.writeHead(200, { 'content-length': size });
    createReadStream(file).pipe(res);
    return;
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start > end || start >= size) {
    res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
    return;
  }
  res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
  const body = createReadStream(file, { start, end, highWaterMark: 64 * 1024 });
  if (bytesPerSecond === undefined) {
    body.pipe(res);
    return;
  }
  // Paced per connection: each 64 KiB chunk waits until the socket's earlier bytes have had their
  // share of the second (a keep-alive socket's responses share one budget; timers end with it).
  const pace = paceOf(req.socket);
  body.on('data', (chunk) => {
    body.pause();
    res.write(chunk);
    const now = performance.now();
    pace.readyAt = Math.max(now, pace.readyAt) + (1000 * chunk.length) / bytesPerSecond;
    const timer = setTimeout(() => body.resume(), pace.readyAt - now);
    res.once('close', () => clearTimeout(timer));
  });
  body.on('end', () => res.end());
  res.on('close', () => body.destroy());
}
