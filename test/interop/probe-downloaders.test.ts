/**
 * The serving probe (`probe --data`) against libtorrent 2.0 downloading on 127.0.0.1: it listens, the
 * probe dials in, announces every piece and serves as generated scripts say. libtorrent breaks no
 * rule in valid or hostile scripts; what it does with a block we corrupt on purpose (does it
 * announce the piece, close, take us back) is reported here for docs/probe.md. Each test starts a
 * fresh downloader of a 32 MiB torrent — far more than the scripts serve, so it stays a downloader
 * — stopped when the file ends.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { readTorrentFile } from '../../src/metainfo/read-torrent-file.js';
import type { Torrent } from '../../src/metainfo/torrent.js';
import { openPieceSource, type PieceSource } from '../../src/probe/piece-source.js';
import { probePeer } from '../../src/probe/probe-peer.js';
import { runServingScript } from '../../src/probe/serving-connection.js';
import { startLibtorrentDownloader } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { writeSingleFilePayload } from './harness/payload.js';
import { type Stoppable, stopAll } from './harness/processes.js';

let dir = '';
let torrentPath = '';
let torrent: Torrent;
let source: PieceSource;
const stoppables: Stoppable[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-probe-serve-interop-'));
  await writeSingleFilePayload({ dir: join(dir, 'seed'), name: 'probe.bin', size: 32 << 20, seed: 97 });
  torrentPath = await makeTorrent({
    source: join(dir, 'seed', 'probe.bin'),
    out: join(dir, 'probe.torrent'),
    pieceLength: 64 * 1024,
  });
  torrent = await readTorrentFile(torrentPath);
  source = await openPieceSource(torrent, join(dir, 'seed'));
});

after(async () => {
  await stopAll(stoppables);
  await source?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function downloader(name: string) {
  const lt = await startLibtorrentDownloader({
    torrent: torrentPath,
    outDir: join(dir, name),
    timeoutMs: 180_000,
  });
  stoppables.push(lt);
  return { host: '127.0.0.1', port: lt.port, lt };
}

for (const hostile of [false, true]) {
  test(`libtorrent as a downloader breaks no rule in ${hostile ? 'hostile' : 'valid'} scripts`, async () => {
    const target = await downloader(`lt-${hostile}`);
    let served = 0;
    let corrupted = 0;
    const closes: string[] = [];
    const started = Date.now();
    const report = await probePeer(torrent, target, {
      data: source,
      runs: 12,
      hostile,
      interestWaitMs: 1000,
      timeLimitMs: 90_000,
      onRun: (r) => {
        served += r.blocksServed;
        corrupted += r.blocksCorrupted;
        if (r.closedBy === 'target') closes.push((r.closedAfter ?? '').replace(/^step \d+: /, ''));
      },
    });
    assert.equal(report.counterexample, undefined, JSON.stringify(report.counterexample?.findings));
    assert.ok(served > 0, 'libtorrent asked for nothing in 12 scripts');
    console.log(
      `# libtorrent ${hostile ? 'hostile' : 'valid'} (${Date.now() - started} ms): ${served} blocks served, ${corrupted} corrupted; notes ${JSON.stringify(report.notes)}; closed after ${closes.join('; ') || 'nothing'}`,
    );
  });
}

test('libtorrent with a corrupted block: no have of the piece, and what it does next', async () => {
  const target = await downloader('lt-corrupt');
  // Unchoked, the first block served corrupted, then enough blocks for libtorrent to complete the
  // pieces it asked for (64 KiB pieces: 4 blocks each) and to hash the bad one.
  const script = [
    { kind: 'unchoke' as const },
    { kind: 'corruptBlock' as const },
    ...Array.from({ length: 12 }, () => ({ kind: 'serve' as const, n: 8 })),
    { kind: 'wait' as const, ms: 200 },
  ];
  const r = await runServingScript(source, target, script, { interestWaitMs: 2000, settleMs: 1000 });
  assert.equal(r.violations, 0, JSON.stringify(r.findings));
  assert.equal(r.blocksCorrupted, 1);
  assert.ok(r.blocksServed >= 4, `only ${r.blocksServed} blocks served: no piece completed`);
  const next = await runServingScript(source, target, [{ kind: 'unchoke' }, { kind: 'serve', n: 4 }], {
    interestWaitMs: 2000,
  });
  console.log(
    `# libtorrent, one corrupted block of ${r.blocksServed} served: ${r.received.have ?? 0} haves, closed by ${r.closedBy}${r.closedAfter === undefined ? '' : ` after ${r.closedAfter}`}; the next connection: ${next.findings.map((f) => f.rule).join(', ') || 'no finding'}, ${next.blocksServed} blocks served, closed by ${next.closedBy}`,
  );
});
