/**
 * BEP 11 peer exchange with libtorrent 2.0 (python3-libtorrent) on 127.0.0.1, both ways.
 *
 * libtorrent → bitstate. libtorrent's ut_pex.cpp sends its first message (the full list of its
 * connected peers whose listening port it knows) at the first one-second tick after the peer's
 * extension handshake, once it has two peers or more (and at most one message per 100 ms–3 s
 * across the session); then a diff every 60 s. So: a libtorrent seed L (upload held to 128 KiB/s,
 * so the download outlasts that first message); a bitstate X that dialled L
 * (held slow by --max-down, so it stays); a bitstate B given only L. L's first message to B names X
 * (and B itself, which B skips as its own address): B's `peer.exchanged` counts X as learned, B
 * connects to X's listening address, and B's copy equals the source byte for byte.
 *
 * bitstate → libtorrent. A bitstate seed S (--max-up, so the download lasts); a bitstate X that
 * dialled S; a libtorrent downloader given only S. S's first ut_pex message (at S's first clock
 * tick after libtorrent's extension handshake) names X, and libtorrent's peer list shows X with
 * the PEX source bit (peer_info.pex).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type BitstateRun, startBitstateDownload, startBitstateSeeder } from './harness/bitstate.js';
import {
  type LibtorrentSeeder,
  libtorrentClientCommand,
  startLibtorrentSeeder,
} from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { getFreePort } from './harness/ports.js';
import { type ManagedProcess, startProcess } from './harness/processes.js';

async function source(dir: string) {
  const payload = await writeSingleFilePayload({
    dir: join(dir, 'seed'),
    name: 'pex.bin',
    size: 2 << 20,
    seed: 21,
  });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'pex.torrent'),
    pieceLength: 64 * 1024,
  });
  return { payload, torrent };
}

test("bitstate learns a peer from a libtorrent peer's ut_pex message and downloads byte for byte", {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-pex-lt-'));
  let seeder: LibtorrentSeeder | undefined;
  let x: BitstateRun | undefined;
  let b: BitstateRun | undefined;
  try {
    const { payload, torrent } = await source(dir);
    // Held to 128 KiB/s so B's download (~16 s) outlasts L's first ut_pex message.
    seeder = await startLibtorrentSeeder({
      torrent,
      dataDir: join(dir, 'seed'),
      trackerOff: true,
      uploadLimit: 128 * 1024,
      timeoutMs: 80_000,
    });
    const l = `127.0.0.1:${seeder.port}`;
    x = startBitstateDownload({
      torrent,
      out: join(dir, 'x'),
      noTracker: true,
      peers: [l],
      extraArgs: ['--max-down', '16K'],
      timeoutMs: 70_000,
    });
    await x.waitForEvent((e) => e.type === 'peer.connected' && e.address === l, 20_000);
    const xPort = (await x.waitForEvent((e) => e.type === 'listening', 5_000)).port as number;
    b = startBitstateDownload({
      torrent,
      out: join(dir, 'b'),
      noTracker: true,
      peers: [l],
      timeoutMs: 45_000,
    });
    const heard = await b.waitForEvent((e) => e.type === 'peer.exchanged' && e.address === l, 20_000);
    assert.ok((heard.learned as number) >= 1, b.describe());
    const connectedToL = b.events.find((e) => e.type === 'peer.connected' && e.address === l);
    process.stdout.write(
      `# L's first ut_pex message reached B ${Date.parse(heard.time as string) - Date.parse(connectedToL?.time as string)} ms after B connected\n`,
    );
    await b.waitForEvent((e) => e.type === 'peer.connected' && e.address === `127.0.0.1:${xPort}`, 15_000);
    const exit = await b.exited;
    assert.equal(exit.code, 0, b.describe());
    const cmp = await compareTrees(payload.root, join(dir, 'b', 'pex.bin'));
    assert.ok(cmp.equal, cmp.mismatches.join('; '));
  } finally {
    await b?.stop();
    await x?.stop();
    await seeder?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("libtorrent learns a peer from bitstate's ut_pex message (its peer list: source pex)", {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-pex-lt2-'));
  let seed: ManagedProcess | undefined;
  let x: BitstateRun | undefined;
  let lt: ManagedProcess | undefined;
  try {
    const { torrent } = await source(dir);
    const seeder = await startBitstateSeeder(torrent, join(dir, 'seed'), ['--no-tracker', '--max-up', '64K']);
    seed = seeder.process;
    const seedPort = seeder.port;
    x = startBitstateDownload({
      torrent,
      out: join(dir, 'x'),
      noTracker: true,
      peers: [`127.0.0.1:${seedPort}`],
      extraArgs: ['--max-down', '16K'],
      timeoutMs: 70_000,
    });
    await x.waitForEvent((e) => e.type === 'peer.connected', 20_000);
    const xPort = (await x.waitForEvent((e) => e.type === 'listening', 5_000)).port as number;
    const { command, args } = libtorrentClientCommand({
      torrent,
      savePath: join(dir, 'lt'),
      port: await getFreePort(),
      mode: 'download',
      trackerOff: true,
      peers: [`127.0.0.1:${seedPort}`],
      timeoutSec: 60,
      peerSources: true,
    });
    lt = startProcess(command, args, { name: 'libtorrent download', timeoutMs: 70_000 });
    const line = await lt.waitForLine((l) => {
      const s = JSON.parse(l) as { peerSources?: { address: string; pex: boolean }[] };
      return s.peerSources?.some((p) => p.address === `127.0.0.1:${xPort}` && p.pex) === true;
    }, 30_000);
    const status = JSON.parse(line) as { elapsed: number; peerSources: { address: string; pex: boolean }[] };
    assert.ok(
      status.peerSources.some((p) => p.address === `127.0.0.1:${xPort}` && p.pex),
      line,
    );
    process.stdout.write(`# libtorrent connected to X through PEX by ${status.elapsed} s\n`);
  } finally {
    await lt?.stop();
    await x?.stop();
    await seed?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
