/**
 * What session tests share: a temp folder removed after the test, a promise bounded in time, and a
 * `seed()` of a torrent's data listening on 127.0.0.1, stopped after the test.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Torrent } from '../../src/metainfo/torrent.js';
import { seed } from '../../src/session/seed.js';

interface TestContext {
  after(fn: () => unknown): void;
}

/** A fresh folder under the system's temp folder, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'bitstate-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** `p`, or a rejection naming `what` after `ms`. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

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
