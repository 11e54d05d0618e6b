/**
 * Several probe connections at once (`connections`) against real peers on 127.0.0.1: bitstate's own
 * seeder and its own download() pass with four at once; a seeder whose blocks go wrong only while
 * another connection is open, and a downloader that tells a completed piece only to the connection
 * it came on, pass one connection at a time and are caught with two — the group's rules
 * (`block.differs`, `have.notBroadcast`) are what catches them.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPieceSource } from '../../../src/probe/piece-source.js';
import { runProbeScript } from '../../../src/probe/probe-connection.js';
import { ProbeError } from '../../../src/probe/probe-error.js';
import { probePeer } from '../../../src/probe/probe-peer.js';
import { isHostile, type ProbeStep } from '../../../src/probe/probe-step.js';
import { connectionShare, runSwarm } from '../../../src/probe/probe-swarm.js';
import { runServingScript } from '../../../src/probe/serving-connection.js';
import { isHostileServing, type ServingStep } from '../../../src/probe/serving-step.js';
import { download } from '../../../src/session/download.js';
import { type DownloaderFlaw, startFlawedDownloader } from '../../helpers/flawed-downloader.js';
import { startFlawedPeer } from '../../helpers/flawed-peer.js';
import { listeningSeeder, randomFileTorrent, tempDir, within } from '../../helpers/session.js';

const LOOPBACK = '127.0.0.1';
// The hand-written downloaders echo keep-alives (keepAliveEcho): `serve n` takes the requests
// pending after a round trip, not those that came within 50 ms, and the settle waits for the echo;
// `settleMs` only bounds that. By silence, at load 12-30 a serve found no request yet and served
// nothing ("the downloader completed no piece").
const QUICK = { keepAliveEcho: true, settleMs: 10_000, interestWaitMs: 1000, haveWaitMs: 1000 };

test("bitstate's own seeder breaks no rule with four connections at once, valid or hostile", async (t) => {
  const dir = await tempDir(t, 'bitstate-probe-swarm-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 300_000 });
  const port = await listeningSeeder(t, torrent, data);
  for (const hostile of [false, true]) {
    let blocks = 0;
    let groups = 0;
    const report = await within(
      60_000,
      probePeer(
        torrent,
        { host: LOOPBACK, port },
        {
          runs: 6,
          hostile,
          connections: 4,
          seed: 1717,
          onRun: (r) => {
            groups++;
            assert.equal(r.perConnection?.length, 4);
            blocks += r.blocksReceived;
          },
        },
      ),
      'probe',
    );
    assert.equal(report.counterexample, undefined, JSON.stringify(report.counterexample?.findings));
    assert.equal(groups, 6);
    assert.equal(report.connections, 24);
    assert.ok(blocks > 0, `no block came in six ${hostile ? 'hostile' : 'valid'} groups`);
  }
});

test('a seeder whose blocks differ while two connections are open passes alone, is caught by block.differs', async (t) => {
  const dir = await tempDir(t, 'bitstate-probe-swarm-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 200_000 });
  const payload = await readFile(join(data, 'file.bin'));
  const peer = await startFlawedPeer({ torrent, payload, flaw: 'sharedBuffer' });
  t.after(() => peer.close());
  const target = { host: LOOPBACK, port: peer.port };
  const alone = await within(60_000, probePeer(torrent, target, { runs: 10, seed: 5 }), 'alone');
  assert.equal(alone.counterexample, undefined, 'one connection at a time sees only right bytes');

  // The same single block asked for on two connections at once: the group sees two versions.
  const ask: ProbeStep[] = [{ kind: 'request', pick: 0, block: 0 }];
  const group = await within(
    60_000,
    runSwarm(torrent, [ask, ask], (s, swarm) => runProbeScript(torrent, target, s, { swarm }), isHostile),
    'group',
  );
  assert.deepEqual(
    group.swarmFindings.map((f) => [f.rule, f.level]),
    [['block.differs', 'violation']],
  );
  assert.equal(group.perConnection.length, 2);
  assert.deepEqual(
    group.perConnection.map((c) => c.violations),
    [0, 0],
    'each connection alone has nothing to judge in one block',
  );

  const together = await within(
    60_000,
    probePeer(torrent, target, { runs: 10, seed: 5, connections: 2, shrink: false }),
    'together',
  );
  const c = together.counterexample;
  assert.ok(c !== undefined, 'two connections at once went uncaught');
  assert.equal(c.scripts.length, 2);
  assert.ok(c.findings.every((f) => f.connection !== undefined));
  assert.ok(
    c.findings.every((f) => f.rule === 'block.differs' || f.rule === 'piece.badHash'),
    JSON.stringify(c.findings),
  );
});

async function sharedDownloader(t: Parameters<typeof tempDir>[0], flaw: DownloaderFlaw) {
  const dir = await tempDir(t, 'bitstate-probe-swarm-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 200_000 });
  const peer = await startFlawedDownloader({ torrent, flaw, shared: true, echoKeepAlives: true });
  t.after(() => peer.close());
  const source = await openPieceSource(torrent, data);
  t.after(() => source.close());
  return { torrent, data, source, peer, target: { host: LOOPBACK, port: peer.port } };
}

test('have.notBroadcast: a downloader that tells a piece only where it came from; one that tells all passes', async (t) => {
  // Connection 0 serves; connection 1 only listens. 200,000 bytes in 32 KiB pieces: 7 pieces, of
  // which connection 0 has 1, 3, 5 and connection 1 lacks them.
  const serve: ServingStep[] = [{ kind: 'unchoke' }, { kind: 'serve', n: 8 }];
  for (const flaw of ['none', 'haveToSenderOnly'] as const) {
    const { source, target, peer } = await sharedDownloader(t, flaw);
    assert.deepEqual(connectionShare(source.pieces, 0, 2), [1, 3, 5]);
    const group = await within(
      60_000,
      runSwarm(
        source.torrent,
        [serve, []],
        (s, swarm) => runServingScript(source, target, s, { ...QUICK, swarm }),
        isHostileServing,
        { pieces: source.pieces, haveWaitMs: 1000 },
      ),
      'group',
    );
    assert.ok(peer.announced().pieces > 0, `${flaw}: the downloader completed no piece`);
    assert.deepEqual(
      group.findings.map((f) => [f.rule, f.connection]),
      flaw === 'none' ? [] : [['have.notBroadcast', 1]],
      JSON.stringify(group.findings),
    );
  }
});

test('have.notBroadcast: a piece completed by the last block of the last script is judged too', async (t) => {
  // Connection 0's last step serves both blocks of piece 1 (32 KiB pieces; the serve waits for the
  // echo of a keep-alive, so the downloader's requests have come first), so its `have` of the piece
  // comes after every script was played: connection 1, which lacks piece 1 and plays nothing, must
  // still be open and waiting then, else the rule misses it (and a replay of a failing group passes
  // or fails by which of the two comes first).
  const serve: ServingStep[] = [{ kind: 'unchoke' }, { kind: 'serve', n: 2 }];
  for (const flaw of ['none', 'haveToSenderOnly'] as const) {
    const { source, target, peer } = await sharedDownloader(t, flaw);
    const group = await within(
      60_000,
      runSwarm(
        source.torrent,
        [serve, []],
        (s, swarm) => runServingScript(source, target, s, { ...QUICK, swarm }),
        isHostileServing,
        { pieces: source.pieces, haveWaitMs: 1000 },
      ),
      'group',
    );
    assert.equal(peer.announced().pieces, 1, `${flaw}: the downloader completed no piece`);
    assert.deepEqual(
      group.findings.map((f) => [f.rule, f.connection]),
      flaw === 'none' ? [] : [['have.notBroadcast', 1]],
      JSON.stringify(group.findings),
    );
  }
});

test('a downloader that tells a piece only where it came from passes alone, is caught with two connections', async (t) => {
  // A fresh downloader each: it keeps its pieces while any connection is open.
  const alone = await sharedDownloader(t, 'haveToSenderOnly');
  const one = await within(
    60_000,
    probePeer(alone.torrent, alone.target, { data: alone.data, runs: 20, seed: 9, ...QUICK }),
    'alone',
  );
  assert.equal(one.counterexample, undefined);
  const { torrent, data, target } = await sharedDownloader(t, 'haveToSenderOnly');
  // Not shrunk here (each attempt against a downloader is a second or more; shrinking a group works
  // as for one connection, a replay plays the group again).
  const options = { data, seed: 9, connections: 2, shrink: false, ...QUICK };
  const two = await within(60_000, probePeer(torrent, target, { ...options, runs: 20 }), 'together');
  const c = two.counterexample;
  assert.ok(c !== undefined, 'two connections at once went uncaught');
  assert.deepEqual([...new Set(c.findings.map((f) => f.rule))], ['have.notBroadcast']);
  assert.equal(c.scripts.length, 2);
  const replay = await within(60_000, probePeer(torrent, target, { ...options, path: c.path }), 'replay');
  assert.equal(replay.connections, 2);
  assert.deepEqual(
    JSON.parse(JSON.stringify(replay.counterexample?.scripts)),
    JSON.parse(JSON.stringify(c.scripts)),
  );
});

test("bitstate's own download() breaks no rule with four connections at once serving it", async (t) => {
  const dir = await tempDir(t, 'bitstate-probe-swarm-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 4 << 20 });
  const job = download(torrent, {
    out: join(dir, 'out'),
    trackers: false,
    pex: false,
    webSeeds: false,
    port: 0,
  });
  t.after(() => job.stop());
  const port = await within(
    60_000,
    new Promise<number>((resolve) =>
      job.events$.subscribe((e) => {
        if (e.type === 'listening') resolve(e.port);
      }),
    ),
    'download listening',
  );
  let served = 0;
  const report = await within(
    90_000,
    probePeer(
      torrent,
      { host: LOOPBACK, port },
      { data, runs: 4, connections: 4, seed: 31, settleMs: 300, onRun: (r) => (served += r.blocksServed) },
    ),
    'probe',
  );
  assert.equal(report.counterexample, undefined, JSON.stringify(report.counterexample?.findings));
  assert.ok(served > 0, 'nothing was served');
  await job.stop();
});

test('a connection whose play throws ends the group only once every other connection has ended', async (t) => {
  const dir = await tempDir(t, 'bitstate-probe-swarm-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 100_000 });
  const port = await listeningSeeder(t, torrent, data);
  let ended = false;
  const broken = runSwarm(
    torrent,
    [[], [{ kind: 'wait', ms: 50 }]],
    async (s, swarm) => {
      if (swarm.connection === 0) throw new Error('the play broke');
      const r = await runProbeScript(torrent, { host: LOOPBACK, port }, s, { swarm, unchokeWaitMs: 100 });
      ended = true;
      return r;
    },
    isHostile,
  );
  await assert.rejects(within(60_000, broken, 'group'), /the play broke/);
  assert.equal(ended, true, 'connection 1 was still open when the group gave up');
});

test('connections must be 1 to 64: a ProbeError of bad input', async () => {
  const torrent = { infoHash: new Uint8Array(20), pieceCount: 1 } as never;
  for (const connections of [0, 65, 1.5])
    await assert.rejects(
      probePeer(torrent, { host: LOOPBACK, port: 9 }, { connections }),
      (e) => e instanceof ProbeError && e.code === 'badConnections' && e.badInput,
    );
});
