/**
 * `bitstate download` (the built CLI, --json) against a python3-libtorrent seeder on 127.0.0.1: the
 * suite of harness/download-from-seeder.ts (single-file and multi-file by `--peer`, multi-file
 * through opentracker), plus a rate-limited seeder that chokes with blocks in flight. Issue #4,
 * "Tests that must exist".
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { describeDownloadFromSeeder } from './harness/download-from-seeder.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';

describeDownloadFromSeeder({
  name: 'bitstate download from a libtorrent seeder',
  dirPrefix: 'bitstate-dl-lt-',
  seeds: { single: 11, multi: 12 },
  startSeeder: (request) => startLibtorrentSeeder(request),
  moreCases: (state) => {
    it('a rate-limited seeder that chokes with blocks in flight keeps its connection', async (t) => {
      // Seen here: a rate-limited libtorrent 2.0 chokes and unchokes about a second into the
      // transfer, then still sends a block it had queued before the choke. That late block is not a
      // protocol attack (the choke raced it): the connection must survive, as in libtorrent itself.
      const seeder = await startLibtorrentSeeder({
        torrent: state.single.torrent,
        dataDir: join(state.dir, 'seed-single'),
        trackerOff: true,
        uploadLimit: 2 << 20,
        timeoutMs: 60_000,
      });
      state.stopAfterSuite(seeder);
      const run = await state.downloadChecked(t, state.single, 'single-limited', seeder.port);
      const closed = run.events.filter((e) => e.type === 'peer.closed');
      assert.deepEqual(
        closed.map((e) => e.reason),
        [],
        'no connection closed during the download (a block that raced a choke is no reason)',
      );
    });
  },
});
