/**
 * What session tests share: a temp folder removed after the test, a promise bounded in time
 * (temp-dir.ts), and a `seed()` of a torrent's data listening on 127.0.0.1, stopped after the test.
 */
import type { Torrent } from '../../src/metainfo/torrent.js';
import { seed } from '../../src/session/seed.js';
import { type TestContext, tempDir, within } from './temp-dir.js';

export { tempDir, within };

/** Seeds `torrent` from `data` (no trackers) and resolves with the port it listens on. */
export async function listeningSeeder(t: TestContext, torrent: Torrent, data: string): Promise<number> {
  const seeder = seed(torrent, { data, trackers: false, port: 0 });
  t.after(() => seeder.stop());
  return within(
    10_000,
    new Promise<number>((resolve, reject) => {
      seeder.events$.subscribe((e) => {
        if (e.type === 'listening') resolve(e.port);
      });
      seeder.done.then((r) => reject(new Error(`seeder ended: ${JSON.stringify(r)}`)), reject);
    }),
    'seeder listening',
  );
}
