/**
 * What the `--inspect` relay keeps through a long seed's churn of connections: a torrent machine
 * seeding in memory (test/unit/inspect/in-memory-seed.ts) is inspected through the real relay while
 * N peers connect, handshake and leave one after another; then a viewer connects late and counts
 * what it is sent (the relay sends a newcomer everything it keeps), with the process's heap.
 *
 *   node --import tsx bench/profile/inspect-relay.ts [--peers 10000] [--every 2500]
 *
 * `--every` prints a line after that many peers as well, to see whether it grows.
 */
import { parseArgs } from 'node:util';
import { WebSocket } from 'ws';
import { startStatelyInspection } from '../../src/inspect/stately-inspector.js';
import { inMemorySeed } from '../../test/unit/inspect/in-memory-seed.js';

const { values } = parseArgs({
  options: { peers: { type: 'string', default: '10000' }, every: { type: 'string', default: '2500' } },
});
const peers = Number(values.peers);
const every = Number(values.every);

/** Everything a viewer connecting now is sent: the relay sends it on connection, ahead of its pong. */
async function lateViewer(url: string): Promise<{ messages: number; bytes: number; actors: number }> {
  const ws = new WebSocket(url.replace('http', 'ws'));
  let messages = 0;
  let bytes = 0;
  let actors = 0;
  ws.on('message', (d: Buffer) => {
    messages++;
    bytes += d.length;
    if (d.includes('"type":"@xstate.actor"')) actors++;
  });
  await new Promise((r) => ws.once('open', r));
  await new Promise((r) => {
    ws.once('pong', r);
    ws.ping();
  });
  ws.terminate();
  return { messages, bytes, actors };
}

const inspection = await startStatelyInspection(0);
const seed = inMemorySeed(inspection.inspect);
const started = performance.now();
try {
  for (let done = 0; done < peers; ) {
    const n = Math.min(every, peers - done);
    await seed.churn(n);
    done += n;
    // Let the inspector's socket deliver what is queued before counting.
    await new Promise((r) => setTimeout(r, 200));
    globalThis.gc?.();
    const seen = await lateViewer(inspection.url);
    const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
    console.log(
      `${done} peers: a late viewer gets ${seen.messages} messages (${seen.actors} registrations), ` +
        `${(seen.bytes / 2 ** 20).toFixed(2)} MiB; heap ${heapMiB.toFixed(0)} MiB; ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  }
} finally {
  seed.actor.stop();
  await inspection.close();
}
