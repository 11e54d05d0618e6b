/**
 * Keeps N python3-libtorrent seeders of the cached benchmark payload running on 127.0.0.1 for a
 * bounded time, so a profiling loop can download from them again and again (issue #8):
 *
 *   node --import tsx bench/profile/seeders.ts --size 268435456 --piece-length 1048576 --seeders 4 --minutes 60
 *
 * Prints `torrent <path>` and `peers <host:port> ...` on stdout once every seeder is seeding;
 * stops them on SIGINT/SIGTERM or when the time is up. The payload must exist (bench/download.bench.ts
 * makes and caches it under $TMPDIR/bitstate-bench).
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type LibtorrentSeeder, startLibtorrentSeeder } from '../../test/interop/harness/libtorrent.js';
import { makeTorrent } from '../../test/interop/harness/mktorrent.js';

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: String(256 * 1024 * 1024) },
    'piece-length': { type: 'string', default: String(1024 * 1024) },
    seeders: { type: 'string', default: '4' },
    minutes: { type: 'string', default: '60' },
  },
});
const dataDir = join(tmpdir(), 'bitstate-bench', `payload-single-${values.size}`);
if (!existsSync(join(dataDir, 'payload.bin'))) throw new Error(`no cached payload in ${dataDir}`);
const torrent = await makeTorrent({
  source: join(dataDir, 'payload.bin'),
  out: join(tmpdir(), `profile-${values.size}-${values['piece-length']}.torrent`),
  pieceLength: Number(values['piece-length']),
  timeoutMs: 600_000,
});
const lifetimeMs = Number(values.minutes) * 60_000;
const seeders: LibtorrentSeeder[] = await Promise.all(
  Array.from({ length: Number(values.seeders) }, () =>
    startLibtorrentSeeder({
      torrent,
      dataDir,
      recheck: true,
      trackerOff: true,
      readyTimeoutMs: 600_000,
      timeoutMs: lifetimeMs,
    }),
  ),
);
process.stdout.write(`torrent ${torrent}\npeers ${seeders.map((s) => `127.0.0.1:${s.port}`).join(' ')}\n`);
const stop = async () => {
  await Promise.all(seeders.map((s) => s.stop()));
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setTimeout(stop, lifetimeMs);
