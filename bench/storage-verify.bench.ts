/**
 * Storage benchmark: write throughput (16 KiB blocks, pwrite) and piece verification throughput,
 * with the event loop delay the main thread suffers meanwhile — hashing on the main thread
 * (hashWorkers 0) against 1 and 2 worker threads. The data is in the page cache (just written),
 * so this measures hashing and copying, not the disk. Not a test.
 * Run: node --import tsx bench/storage-verify.bench.ts [MiB=512]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Torrent, TorrentFile } from '../src/metainfo/torrent.js';
import { PieceStore } from '../src/storage/piece-store.js';

const MIB = 1 << 20;
const BLOCK = 16 * 1024;
const totalMiB = Number(process.argv[2] ?? 512);
const pieceLength = MIB;
const totalLength = totalMiB * MIB;
const pieceCount = totalLength / pieceLength;

// Three files, boundaries not aligned with pieces.
const lengths = [Math.floor(totalLength / 3) + 12345, 777];
lengths.push(totalLength - lengths[0]! - lengths[1]!);
let offset = 0;
const files: TorrentFile[] = lengths.map((length, i) => {
  const f = { path: [`f${i}.bin`], length, offset, padding: false };
  offset += length;
  return f;
});
// Pieces are generated from a seed per piece so the payload never sits in memory whole.
const pieceData = (i: number) => createHash('sha512').update(`seed${i}`).digest().subarray(0, 8);
const pieceBytes = (i: number) => {
  const b = Buffer.alloc(pieceLength);
  const seed = pieceData(i);
  for (let at = 0; at < pieceLength; at += 64 * 1024) randomBytes(64 * 1024).copy(b, at);
  seed.copy(b, 0);
  return b;
};
const pieces = new Uint8Array(pieceCount * 20);
const torrent: Torrent = {
  version: 'v1',
  infoHash: new Uint8Array(20),
  infoHashHex: '00'.repeat(20),
  name: 'bench',
  pieceLength,
  pieceCount,
  pieces,
  multiFile: true,
  files,
  totalLength,
  announce: undefined,
  announceList: [],
  private: false,
  urlList: [],
  comment: undefined,
  createdBy: undefined,
  creationDate: undefined,
  infoBytes: new Uint8Array(0),
};

function mbps(bytes: number, ms: number): string {
  return ((bytes / 1e6) * (1000 / ms)).toFixed(0);
}

async function main(): Promise<void> {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-bench-storage-'));
  try {
    const store = await PieceStore.open(torrent, out, { hashWorkers: 1 });
    let t0 = performance.now();
    for (let i = 0; i < pieceCount; i++) {
      const data = pieceBytes(i);
      pieces.set(createHash('sha1').update(data).digest(), i * 20);
      const writes: Promise<void>[] = [];
      for (let b = 0; b < pieceLength; b += BLOCK)
        writes.push(store.writeBlock(i, b, data.subarray(b, b + BLOCK)));
      await Promise.all(writes);
    }
    const writeMs = performance.now() - t0;
    await store.close();
    console.log(`payload ${totalMiB} MiB, ${pieceCount} pieces of 1 MiB, 3 files`);
    console.log(
      `write (16 KiB pwrite, one piece in flight, incl. generating data): ${mbps(totalLength, writeMs)} MB/s`,
    );
    console.log(
      '\nverify (checkPieces)      MB/s   loop delay p50 / p99 / max (ms)   main thread busy (ELU)',
    );
    for (const hashWorkers of [0, 1, 2]) {
      const s = await PieceStore.open(torrent, out, { hashWorkers });
      await s.verifyPiece(0); // worker start-up (and, from sources, tsx compiling it) is not hashing
      const h = monitorEventLoopDelay({ resolution: 1 });
      h.enable();
      const elu0 = performance.eventLoopUtilization();
      t0 = performance.now();
      const have = await s.checkPieces();
      const ms = performance.now() - t0;
      const elu = performance.eventLoopUtilization(elu0).utilization;
      h.disable();
      await s.close();
      if (!have.isComplete()) throw new Error(`only ${have.count} of ${pieceCount} pieces verified`);
      const d = (n: number) => (n / 1e6).toFixed(1).padStart(5);
      console.log(
        `  hashWorkers ${hashWorkers}            ${mbps(totalLength, ms).padStart(5)}   ${d(h.percentile(50))} / ${d(h.percentile(99))} / ${d(h.max)}   ${(elu * 100).toFixed(0).padStart(3)} %`,
      );
    }
    console.log(`\nmemory: rss ${(process.memoryUsage().rss / MIB).toFixed(0)} MiB`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

await main();
