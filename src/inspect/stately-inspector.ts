/**
 * `--inspect`: live inspection in Stately's inspector. A relay on 127.0.0.1 (ws) receives the
 * events from @statelyai/inspect's WebSocket inspector and passes them to the browser page it
 * serves, which embeds Stately's hosted inspector UI (that part needs the internet; the offline
 * view is `--ui`). Every event and context is summarised here, synchronously, before the
 * inspector sees it: the library would otherwise hold and serialise block bytes.
 * (@statelyai/inspect/server's own relay listens on every interface; ours listens on 127.0.0.1.)
 *
 * Only our own inspector publishes: it connects to a path holding a random token. Every other
 * WebSocket is a viewer, accepted only from our own page (local-origin.ts: any web site can open a
 * WebSocket to 127.0.0.1, and a rebound DNS name can load the page), and what a viewer sends is
 * dropped — before, any page the user visited could read the whole inspection stream and push
 * messages the relay kept for every later viewer (200 MB in 4 s, without end).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { createWebSocketInspector } from '@statelyai/inspect';
import { WebSocket, WebSocketServer } from 'ws';
import type { InspectionEvent } from 'xstate';
import { isLocalRequest } from './local-origin.js';
import { RelayBacklog } from './relay-backlog.js';
import { summarise, summariseEvent } from './summarise-event.js';

export const DEFAULT_INSPECT_PORT = 7882;
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
/** Largest WebSocket message the relay reads (ws's default is 100 MiB). */
export const RELAY_MAX_MESSAGE_BYTES = 4 << 20;
/** Viewers connected at once; past it a new one is refused (503), as the dashboard's streams are. */
export const RELAY_MAX_VIEWERS = 16;
/**
 * Bytes a viewer may leave unread: past it the relay closes it (a page that reconnects gets the
 * registrations and recent events again). The inspector's messages build on each other, so a
 * viewer cannot skip some as the dashboard's whole-view frames can.
 */
export const RELAY_MAX_VIEWER_BACKLOG_BYTES = 8 << 20;
/**
 * How long startStatelyInspection waits for its inspector's WebSocket to the relay to open: until
 * it does, @statelyai/inspect holds what it is given and keeps only the last 200 messages
 * (`maxDeferredEvents`), so a torrent started at once would lose its first registrations.
 */
export const INSPECTOR_OPEN_TIMEOUT_MS = 5000;

export interface StatelyInspection {
  /** The page to open. */
  readonly url: string;
  readonly inspect: (event: InspectionEvent) => void;
  /** Set when the inspector's connection to the relay did not open in time: what is lost. */
  readonly note?: string;
  close(): Promise<void>;
}

type Snap = { status: string; value?: unknown; context?: unknown };

export async function startStatelyInspection(port = DEFAULT_INSPECT_PORT): Promise<StatelyInspection> {
  const relay = await startRelay(port);
  const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${relay.port}${relay.publishPath}` });
  // The library holds this probe until its socket opens and then sends it first; once the relay
  // has it, the socket is open and nothing more is held back (or dropped past the 200 it keeps).
  inspector.event(relay.probe, { type: 'bitstate.probe' });
  let timer: NodeJS.Timeout | undefined;
  const opened = await Promise.race([
    relay.probed.then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), INSPECTOR_OPEN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  // At registration the actor has no snapshot yet.
  const snap = (s: Snap | undefined) =>
    (s === undefined
      ? { status: 'active' }
      : { status: s.status, value: s.value, context: summarise(s.context) }) as never;
  const inspect = (ev: InspectionEvent) => {
    switch (ev.type) {
      case '@xstate.actor':
        inspector.actor(ev.actorRef as never, snap(ev.actorRef.getSnapshot() as Snap | undefined));
        return;
      case '@xstate.event':
        inspector.event(ev.actorRef as never, summariseEvent(ev.event), {
          ...(ev.sourceRef === undefined ? {} : { source: ev.sourceRef as never }),
        });
        return;
      case '@xstate.snapshot':
        inspector.snapshot(ev.actorRef as never, snap(ev.snapshot as Snap), {
          event: summariseEvent(ev.event),
        });
        return;
      default:
        return;
    }
  };
  return {
    url: `http://127.0.0.1:${relay.port}/`,
    inspect,
    ...(opened
      ? {}
      : {
          note: `the inspector's connection to the relay did not open in ${INSPECTOR_OPEN_TIMEOUT_MS / 1000} s: past the first 200 messages, what comes before it opens is lost`,
        }),
    close: async () => {
      inspector.stop();
      await relay.close();
    },
  };
}

interface Relay {
  readonly port: number;
  /** Where our own inspector connects to publish. */
  readonly publishPath: string;
  /** The session id of the inspector's probe: its messages are neither relayed nor kept. */
  readonly probe: string;
  /** Settled when the probe has come through the publishing connection. */
  readonly probed: Promise<void>;
  close(): Promise<void>;
}

async function startRelay(port: number): Promise<Relay> {
  const publishPath = `/publish/${randomBytes(16).toString('hex')}`;
  const probe = `bitstate.probe.${randomBytes(8).toString('hex')}`;
  let probeSeen = () => {};
  const probed = new Promise<void>((resolve) => {
    probeSeen = resolve;
  });
  const server = createServer((req, res) => {
    if (!isLocalRequest(req.headers, actualPort)) {
      res.writeHead(403).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(bridgePage(actualPort));
  });
  const wss = new WebSocketServer({
    server,
    maxPayload: RELAY_MAX_MESSAGE_BYTES,
    // The publisher (our own process, no Origin) knows the path; a viewer must be our own page.
    verifyClient: (
      { req }: { req: IncomingMessage },
      done: (ok: boolean, code?: number, message?: string) => void,
    ) => {
      if (req.url === publishPath) done(true);
      else if (!isLocalRequest(req.headers, actualPort)) done(false, 401);
      else if (viewers >= RELAY_MAX_VIEWERS) done(false, 503, 'too many viewers');
      else done(true);
    },
  });
  let viewers = 0;
  // The registrations of the actors alive and their recent messages, for viewers that come late.
  const backlog = new RelayBacklog();
  wss.on('connection', (ws, req) => {
    if (req.url !== publishPath) {
      viewers++;
      ws.on('close', () => viewers--);
      for (const m of backlog.messages()) ws.send(m);
      return; // a viewer: what it sends is not relayed
    }
    ws.on('message', (data) => {
      const msg = data.toString();
      // The library sends what it held again each time its socket reopens: the probe too.
      if (msg.includes(probe)) {
        probeSeen();
        return;
      }
      backlog.keep(msg);
      for (const c of wss.clients) {
        if (c === ws || c.readyState !== WebSocket.OPEN) continue;
        if (c.bufferedAmount > RELAY_MAX_VIEWER_BACKLOG_BYTES) c.terminate();
        else c.send(msg);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const a = server.address();
  const actualPort = typeof a === 'object' && a !== null ? a.port : port;
  return {
    port: actualPort,
    publishPath,
    probe,
    probed,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Embeds Stately's inspector and forwards the relay's messages to it once it says it is ready. */
function bridgePage(port: number): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>bitstate — Stately inspector</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head><body>
<iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
<script>
const frame=document.getElementById('inspector');const buffer=[];let ready=false;
window.addEventListener('message',(e)=>{if(e.data&&e.data.type==='@statelyai.connected'){ready=true;for(const m of buffer)frame.contentWindow.postMessage(m,'*');buffer.length=0}});
const ws=new WebSocket('ws://127.0.0.1:${port}');
ws.onmessage=(e)=>{const d=JSON.parse(e.data);if(ready)frame.contentWindow.postMessage(d,'*');else buffer.push(d)};
</script></body></html>`;
}
