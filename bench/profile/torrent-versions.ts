/**
 * What BitTorrent v2 (BEP 52) costs a download: the same payload as a v1 and as a v2-only torrent,
 * both made by libtorrent 2.0 itself, served by one local libtorrent seeder each, downloaded by
 * bitstate and by libtorrent's downloader in turn, round after round (measured by bench/measure.py:
 * wall, user + sys CPU, peak RSS). Prints every run, then the medians per client and version.
 *
 *   node --import tsx bench/profile/torrent-versions.ts --payload FILE [--rounds 3] [--piece-length 1048576]
 *
 * FILE: a payload on a local disk, e.g. the suite's 1 GiB one (docs/performance.md, "Reproduce").
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { startLibtorrentSeeder } from '../../test/interop/harness/libtorrent.js';
import { makeTorrentWithLibtorrent } from '../../test/interop/harness/libtorrent-create.js';
import { measure } from '../measure.js';
import { median } from '../suite/stats.js';
import { bitstateDownloadCommand } from '../suite/swarm.js';
import { libtorrentDownloadCommand } from './swarm-args.js';

const { values } = parseArgs({
  options: {
    payload: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    'piece-length': { type: 'string', default: String(1 << 20) },
  },
});
if (values.payload === undefined) {
  console.error('usage: torrent-versions.ts --payload FILE [--rounds N] [--piece-length BYTES]');
  process.exit(2);
}
const payload = values.payload;
const rounds = Number(values.rounds);
const pieceLength = Number(values['piece-length']);

const scratch = await mkdtemp(join(tmpdir(), 'bitstate-versions-'));
const runs = new Map<string, { wall: number[]; cpu: number[]; rss: number[] }>();
try {
  for (const format of ['v1', 'v2'] as const) {
    const torrent = join(scratch, `${basename(payload)}.${format}.torrent`);
    await makeTorrentWithLibtorrent({ source: payload, out: torrent, pieceLength, format });
    const seeder = await startLibtorrentSeeder({ torrent, dataDir: dirname(payload), trackerOff: true });
    try {
      const peer = [`127.0.0.1:${seeder.port}`];
      for (let round = 0; round < rounds; round++) {
        for (const client of round % 2 === 0 ? ['bitstate', 'libtorrent'] : ['libtorrent', 'bitstate']) {
          const out = join(scratch, 'out');
          await rm(out, { recursive: true, force: true });
          const { command, args } =
            client === 'bitstate'
              ? bitstateDownloadCommand(torrent, out, peer)
              : await libtorrentDownloadCommand(torrent, out, peer, 300);
          const m = await measure(command, args, { name: `${client} ${format}`, timeoutMs: 300_000 });
          if (m.exitCode !== 0) throw new Error(`${client} ${format} exited ${m.exitCode}: ${m.outputTail}`);
          const key = `${client} ${format}`;
          const r = runs.get(key) ?? { wall: [], cpu: [], rss: [] };
          r.wall.push(m.wallSeconds);
          r.cpu.push(m.cpuSeconds);
          r.rss.push(m.maxRssBytes / 2 ** 20);
          runs.set(key, r);
          console.log(
            `${key.padEnd(14)} round ${round}: wall ${m.wallSeconds.toFixed(2)} s, CPU ${m.cpuSeconds.toFixed(2)} s, RSS ${(m.maxRssBytes / 2 ** 20).toFixed(0)} MiB`,
          );
        }
      }
    } finally {
      await seeder.stop();
    }
  }
  console.log('\nmedians:');
  for (const [key, r] of runs)
    console.log(
      `${key.padEnd(14)} wall ${median(r.wall).toFixed(2)} s, CPU ${median(r.cpu).toFixed(2)} s, RSS ${median(r.rss).toFixed(0)} MiB`,
    );
} finally {
  await rm(scratch, { recursive: true, force: true });
}
