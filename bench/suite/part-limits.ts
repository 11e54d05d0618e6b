/**
 * Target 8: the machine's own limits, measured in the same run, so every client's figure can be
 * read as a fraction of them — SHA-1 in Node on one core, one loopback TCP socket received by Node
 * (sent by a second Node process, as a seeder would), and writing to the disk the downloads use.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, open, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { PartContext, PartResult } from './part.js';
import { fmt, formatBytes, formatGrid, median, megabytesPerSecond } from './stats.js';
import { log } from './swarm.js';

const MIB = 2 ** 20;

function sha1Rate(bytes: number, chunk: number): number {
  const buf = Buffer.alloc(chunk, 0xa5);
  const h = createHash('sha1');
  const started = performance.now();
  for (let done = 0; done < bytes; done += chunk) h.update(buf);
  h.digest();
  return megabytesPerSecond(bytes, (performance.now() - started) / 1000);
}

/** A second Node process writes `bytes` into one loopback socket; this one receives and counts. */
async function loopbackRate(bytes: number): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const sender = `
    const s = require('node:net').connect(${port}, '127.0.0.1');
    const buf = Buffer.alloc(${MIB}, 7); let left = ${bytes};
    const pump = () => { while (left > 0) { left -= buf.length; if (!s.write(buf)) return s.once('drain', pump); } s.end(); };
    s.on('connect', pump);`;
  const child = spawn(process.execPath, ['-e', sender], { stdio: 'ignore' });
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  try {
    return await new Promise<number>((resolve, reject) => {
      server.once('connection', (socket) => {
        let received = 0;
        const started = performance.now();
        socket.on('data', (d: Buffer) => {
          received += d.length;
        });
        socket.on('end', () => resolve(megabytesPerSecond(received, (performance.now() - started) / 1000)));
        socket.on('error', reject);
      });
      child.on('error', reject);
    });
  } finally {
    clearTimeout(killer);
    child.kill('SIGKILL');
    server.close();
  }
}

/** Writes `bytes` in 1 MiB writes: the rate into the page cache, and including fsync. */
async function diskRates(dir: string, bytes: number): Promise<{ buffered: number; synced: number }> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'disk-rate.bin');
  const buf = Buffer.alloc(MIB, 0x5a);
  const fh = await open(path, 'w');
  try {
    const started = performance.now();
    for (let at = 0; at < bytes; at += MIB) await fh.write(buf, 0, MIB, at);
    const written = performance.now();
    await fh.sync();
    const synced = performance.now();
    return {
      buffered: megabytesPerSecond(bytes, (written - started) / 1000),
      synced: megabytesPerSecond(bytes, (synced - started) / 1000),
    };
  } finally {
    await fh.close();
    await rm(path, { force: true });
  }
}

export async function limitsPart(ctx: PartContext): Promise<PartResult> {
  const bytes = Math.min(ctx.opts.size, 2 ** 30);
  log(`limits: SHA-1, loopback TCP, disk (${formatBytes(bytes)} each, 3 rounds)`);
  const sha1Piece = median([1, 2, 3].map(() => sha1Rate(bytes, MIB)));
  const sha1Block = median([1, 2, 3].map(() => sha1Rate(bytes, 16 * 1024)));
  const loop: number[] = [];
  for (let i = 0; i < 3; i++) loop.push(await loopbackRate(bytes));
  const disk: { buffered: number; synced: number }[] = [];
  for (let i = 0; i < 3; i++) disk.push(await diskRates(ctx.scratch, bytes));
  const data = {
    bytes,
    sha1MBps1MiBUpdates: sha1Piece,
    sha1MBps16KiBUpdates: sha1Block,
    loopbackMBps: median(loop),
    diskBufferedMBps: median(disk.map((d) => d.buffered)),
    diskSyncedMBps: median(disk.map((d) => d.synced)),
  };
  const table = formatGrid(
    ['limit (one core unless said)', 'MB/s', 'how'],
    [
      [
        'SHA-1 in Node, 1 MiB updates',
        fmt(data.sha1MBps1MiBUpdates, 0),
        `createHash('sha1') over ${formatBytes(bytes)}`,
      ],
      [
        'SHA-1 in Node, 16 KiB updates',
        fmt(data.sha1MBps16KiBUpdates, 0),
        'one update per block, as blocks arrive',
      ],
      [
        'loopback TCP, one socket into Node',
        fmt(data.loopbackMBps, 0),
        'a second node process sends 1 MiB writes',
      ],
      ['disk write, page cache', fmt(data.diskBufferedMBps, 0), `1 MiB pwrite to ${ctx.scratch}`],
      ['disk write, including fsync', fmt(data.diskSyncedMBps, 0), 'same, then fsync'],
    ],
  );
  return {
    part: 'limits',
    tables: [`### 8. Physical limits of this machine (median of 3)\n\n${table}`],
    data,
  };
}
