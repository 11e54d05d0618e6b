/**
 * BEP 11 peer exchange between bitstate processes on 127.0.0.1: a seed S, a middle peer M that
 * dialled S (its download held slow by --max-down, so it stays connected to S, a seed, instead of
 * completing and dropping it), and a downloader D given only M. M's first ut_pex message to D
 * (at M's first clock tick after D's extension handshake) names S; D dials S and finishes from it:
 * its `peer.exchanged` event counts S as learned, it connects to S's listening address, and its
 * copy equals the source.
 *
 * The negative cases wait for nothing. With --no-pex: a downloader D0 given only M is connected to
 * M before D starts, so M's tick that tells D of S has told D0 too if it took ut_pex (M tells every
 * peer whose first message is due in one pass): D's message is the positive control, and D0,
 * stopped then, has learned nothing and never dialled S. A private torrent (BEP 27): PEX is off for
 * the torrent as a whole, which shows in the extension handshake each side sends first: a seed's
 * (read by the test dialling it) and a downloader's (read by the test as the peer it dials) carry no
 * ut_pex, while a public torrent's seed, read the same way, does; with PEX off the machines neither
 * send nor take ut_pex (test/unit/machines/torrent-pex.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BencodeDict, bdecode } from '../../src/metainfo/bdecode.js';
import { readTorrentFile } from '../../src/metainfo/read-torrent-file.js';
import { encodeHandshake, encodeMessage } from '../../src/wire/encode-message.js';
import { WireDecoder } from '../../src/wire/wire-decoder.js';
import { type BitstateRun, startBitstateDownload, startBitstateSeeder } from './harness/bitstate.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import type { ManagedProcess } from './harness/processes.js';

async function swarm(dir: string, isPrivate = false) {
  const payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'pex.bin',
    size: 2 << 20,
    seed: 11,
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'pex.torrent'),
    pieceLength: 64 * 1024,
    private: isPrivate,
  });
  const seeder = await startBitstateSeeder(torrent, join(dir, 'seed'), ['--no-tracker']);
  const seed = seeder.process;
  const seedPort = seeder.port;
  const middle = startBitstateDownload({
    torrent,
    out: join(dir, 'middle'),
    noTracker: true,
    peers: [`127.0.0.1:${seedPort}`],
    extraArgs: ['--max-down', '16K'],
    timeoutMs: 60_000,
  });
  await middle.waitForEvent(
    (e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${seedPort}`,
    20_000,
  );
  const listening = await middle.waitForEvent((e) => e.type === 'listening', 20_000);
  return { payload, torrent, seed, seedPort, middle, middlePort: listening.port as number };
}

test("a downloader given only M learns the seed S from M's ut_pex message and downloads from it; one with --no-pex, told first, learns nothing", {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-pex-'));
  let seed: ManagedProcess | undefined;
  let middle: BitstateRun | undefined;
  let down: BitstateRun | undefined;
  let off: BitstateRun | undefined;
  try {
    const s = await swarm(dir);
    seed = s.seed;
    middle = s.middle;
    const m = `127.0.0.1:${s.middlePort}`;
    off = startBitstateDownload({
      torrent: s.torrent,
      out: join(dir, 'off'),
      noTracker: true,
      peers: [m],
      extraArgs: ['--no-pex'],
      timeoutMs: 45_000,
    });
    await off.waitForEvent((e) => e.type === 'peer.connected' && e.address === m, 20_000);
    const started = performance.now();
    down = startBitstateDownload({
      torrent: s.torrent,
      out: join(dir, 'down'),
      noTracker: true,
      peers: [`127.0.0.1:${s.middlePort}`],
      timeoutMs: 45_000,
    });
    const exit = await down.exited;
    const tookMs = performance.now() - started;
    assert.equal(exit.code, 0, down.describe());
    // M told D in a tick after D0 took its turn: with ut_pex, D0 would have been told then too.
    await off.stop();
    assert.deepEqual(
      off.events.filter(
        (e) =>
          e.type === 'peer.exchanged' ||
          (e.type === 'peer.connected' && e.address === `127.0.0.1:${s.seedPort}`),
      ),
      [],
      `with --no-pex D0 learned S: ${off.describe()}`,
    );
    const exchanged = down.events.filter((e) => e.type === 'peer.exchanged');
    assert.ok(
      exchanged.some((e) => e.address === `127.0.0.1:${s.middlePort}` && (e.learned as number) >= 1),
      `D learned nothing from M: ${down.describe()}`,
    );
    assert.ok(
      down.events.some((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${s.seedPort}`),
      `D never connected to S: ${down.describe()}`,
    );
    const last = [...down.events].reverse().find((e) => e.type === 'progress');
    assert.ok((last?.peersFromPex as number) >= 1, down.describe());
    const cmp = await compareTrees(s.payload.root, join(dir, 'down', 'pex.bin'));
    assert.ok(cmp.equal, cmp.mismatches.join('; '));
    process.stdout.write(`# D finished in ${Math.round(tookMs)} ms through PEX\n`);
  } finally {
    await down?.stop();
    await off?.stop();
    await middle?.stop();
    await seed?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

/** The `m` dictionary of the extension handshake `socket`'s other end sends (after its BT handshake). */
function extensionHandshakeOf(socket: Socket, infoHash: Uint8Array, answer: boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const decoder = new WireDecoder();
    const reserved = new Uint8Array(8);
    reserved[5] = 0x10;
    const hello = () => encodeHandshake({ reserved, infoHash, peerId: new Uint8Array(20).fill(0x50) });
    if (!answer) socket.write(hello());
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed before its extension handshake')));
    socket.on('data', (chunk) => {
      const error = decoder.push(chunk, (item) => {
        if (item.type === 'handshake') {
          if (answer) socket.write(hello());
          socket.write(
            encodeMessage({
              type: 'extended',
              extendedId: 0,
              payload: new TextEncoder().encode('d1:md6:ut_pexi1eee'),
            }),
          );
        }
        if (item.type !== 'extended' || item.extendedId !== 0) return;
        const dict = bdecode(item.payload);
        const m = dict instanceof BencodeDict ? dict.get('m') : undefined;
        resolve(m instanceof BencodeDict ? [...m.entries.keys()] : []);
      });
      if (error !== undefined) reject(error);
    });
  });
}

test('a private torrent (BEP 27) announces no ut_pex, seeding or downloading; a public one does', {
  timeout: 60_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-nopex-'));
  const procs: ManagedProcess[] = [];
  let down: BitstateRun | undefined;
  const server = createServer();
  const sockets: Socket[] = [];
  try {
    const payload = await writeSingleFilePayload({
      dir: join(dir, 'seed'),
      name: 'pex.bin',
      size: 256 << 10,
      seed: 12,
    });
    const seedOf = async (isPrivate: boolean) => {
      const torrent = await makeTorrent({
        source: payload.root,
        out: join(dir, `${isPrivate ? 'private' : 'public'}.torrent`),
        pieceLength: 64 * 1024,
        private: isPrivate,
      });
      const seeder = await startBitstateSeeder(torrent, join(dir, 'seed'), ['--no-tracker']);
      procs.push(seeder.process);
      const port = seeder.port;
      const socket = connect(port, '127.0.0.1');
      sockets.push(socket);
      return {
        torrent,
        m: await extensionHandshakeOf(socket, (await readTorrentFile(torrent)).infoHash, false),
      };
    };
    const [publicSeed, privateSeed] = await Promise.all([seedOf(false), seedOf(true)]);
    assert.ok(publicSeed.m.includes('ut_pex'), `the public seed's m: ${publicSeed.m.join(', ')}`);
    assert.ok(!privateSeed.m.includes('ut_pex'), `the private seed's m: ${privateSeed.m.join(', ')}`);
    // The downloader dials us: we read its handshake as the peer it was given.
    const infoHash = (await readTorrentFile(privateSeed.torrent)).infoHash;
    const dialled = new Promise<string[]>((resolve, reject) =>
      server.once('connection', (socket) => {
        sockets.push(socket);
        extensionHandshakeOf(socket, infoHash, true).then(resolve, reject);
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    down = startBitstateDownload({
      torrent: privateSeed.torrent,
      out: join(dir, 'down'),
      noTracker: true,
      peers: [`127.0.0.1:${port}`],
      timeoutMs: 30_000,
    });
    const m = await dialled;
    assert.ok(!m.includes('ut_pex'), `the private downloader's m: ${m.join(', ')}`);
  } finally {
    for (const s of sockets) s.destroy();
    server.close();
    await down?.stop();
    for (const p of procs) await p.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
