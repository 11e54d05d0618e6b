/**
 * A connection handed to a session after its torrent machine has ended — by a shared port's router
 * (seedMany, downloadMany) whose route to it stays open until the session's last step closes its
 * listener, while the others torrents go on — is closed, not left open and uncounted by anyone.
 * The listener here is a Subject the test feeds, to hand the connection over at that moment exactly
 * (a router delivers it whenever its handshake's bytes arrive); the connection is a real TCP one on
 * 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { Subject } from 'rxjs';
import type { AcceptedPeer, Listener } from '../../../src/net/listen.js';
import { download } from '../../../src/session/download.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';

test('a connection routed to a session whose torrent machine has ended is closed', async (t) => {
  const dir = await tempDir(t, 'bitstate-late-incoming-');
  const { torrent } = await randomFileTorrent(dir, { size: 70_000 });
  // A real accepted connection on 127.0.0.1, to hand over late.
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(port, '127.0.0.1');
  client.on('error', () => {});
  const [socket] = await accepted;
  socket.on('error', () => {});
  t.after(() => {
    client.destroy();
    socket.destroy();
    server.close();
  });

  const connections = new Subject<AcceptedPeer>();
  let closed = false;
  const listener: Listener = {
    port,
    host: '127.0.0.1',
    connections$: connections.asObservable(),
    close: async () => {
      closed = true;
    },
  };
  const job = download(torrent, { out: `${dir}/out`, listener, trackers: false, utp: 'off' });
  job.events$.subscribe((e) => {
    if (e.type === 'listening') void job.stop();
    // The machine has ended; the session has not closed its listener yet: a router may still route here.
    if (e.type === 'stopped') {
      assert.equal(closed, false);
      connections.next(socket);
    }
  });
  const result = await within(60_000, job.done, 'download stopped');
  assert.equal(result.result, 'stopped');
  assert.equal(closed, true);
  assert.equal(socket.destroyed, true, 'the late connection is closed by the session');
});
