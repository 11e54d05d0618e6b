/**
 * The serving probe (`data`) against real downloaders on 127.0.0.1: bitstate's own download() and a
 * hand-written conforming downloader pass valid and hostile scripts; downloaders with one flaw each
 * are caught and the script shrunk to what provokes the flaw, replayable by seed and path; data
 * that is missing or another torrent's is a ProbeError of bad input.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPieceSource } from '../../../src/probe/piece-source.js';
import { ProbeError } from '../../../src/probe/probe-error.js';
import { probePeer } from '../../../src/probe/probe-peer.js';
import { download } from '../../../src/session/download.js';
import { type DownloaderFlaw, startFlawedDownloader } from '../../helpers/flawed-downloader.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';

const LOOPBACK = '127.0.0.1';
const plain = (v: unknown) => JSON.parse(JSON.stringify(v ?? null)) as unknown;
/**
 * The hand-written downloaders echo keep-alives, so no verdict here rests on a silence: `serve n`
 * and the settle wait for the echo of a keep-alive (after the target's answers to all before it),
 * and `settleMs` only bounds that wait, for a target stuck in a frame a hostile step began. A fixed
 * 50 ms settle let a loaded machine (load 11–22) end runs before the flaw's message came: a shrunk
 * script kept five steps it did not need, "[wait, serve 5, choke, serve 2, unchoke]".
 */
const QUICK = { keepAliveEcho: true, settleMs: 10_000, interestWaitMs: 1000 };

async function flawed(
  t: Parameters<typeof tempDir>[0],
  flaw: DownloaderFlaw,
  fast = true,
  holdAnswers = false,
) {
  const dir = await tempDir(t, 'bitstate-probe-serve-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 200_000 });
  const peer = await startFlawedDownloader({ torrent, flaw, fast, echoKeepAlives: true, holdAnswers });
  t.after(() => peer.close());
  return { torrent, data, peer, target: { host: LOOPBACK, port: peer.port } };
}

test('a downloader that asks past a piece end is caught at the first unchoke, and replayed', async (t) => {
  const { torrent, data, target } = await flawed(t, 'pastPieceEnd');
  const report = await within(60_000, probePeer(torrent, target, { data, runs: 20, ...QUICK }), 'probe');
  const c = report.counterexample;
  assert.ok(c !== undefined, 'the flaw went unnoticed');
  assert.deepEqual(plain(c.script), [{ kind: 'unchoke' }]);
  assert.deepEqual(
    c.findings.map((f) => [f.rule, f.bep]),
    [['request.pastPieceEnd', 3]],
  );
  const replay = await within(
    60_000,
    probePeer(torrent, target, { data, seed: report.seed, path: c.path, ...QUICK }),
    'replay',
  );
  assert.deepEqual(plain(replay.counterexample?.script), plain(c.script));
  assert.equal(replay.connections, 1);
});

test('a downloader that announces a piece we corrupted is caught, shrunk to corrupt, unchoke, serve 2', async (t) => {
  const { torrent, data, target, peer } = await flawed(t, 'acceptsCorrupt');
  const report = await within(
    120_000,
    probePeer(torrent, target, { data, runs: 40, maxSteps: 12, hostile: true, seed: 11, ...QUICK }),
    'probe',
  );
  const c = report.counterexample;
  assert.ok(c !== undefined, 'the flaw went unnoticed');
  assert.deepEqual(
    c.findings.map((f) => f.rule),
    ['have.badData'],
  );
  // Two blocks a piece (32 KiB pieces): both served in one step, the first corrupted, once unchoked.
  assert.deepEqual(plain([...c.script].sort((a, b) => a.kind.localeCompare(b.kind))), [
    { kind: 'corruptBlock' },
    { kind: 'serve', n: 2 },
    { kind: 'unchoke' },
  ]);
  assert.ok(peer.announced().bad > 0);
});

test('a downloader that asks while choked is caught, with or without BEP 6', async (t) => {
  for (const fast of [true, false]) {
    const { torrent, data, target } = await flawed(t, 'ignoresChoke', fast);
    const report = await within(60_000, probePeer(torrent, target, { data, runs: 20, ...QUICK }), 'probe');
    const c = report.counterexample;
    assert.ok(c !== undefined, `fast=${fast}: the flaw went unnoticed`);
    assert.ok(c.script.length <= 1, JSON.stringify(c.script));
    assert.ok(c.findings.every((f) => f.rule === 'request.whileChoked'));
  }
});

test('a conforming downloader passes valid and hostile scripts, with and without BEP 6', async (t) => {
  for (const fast of [true, false]) {
    const { torrent, data, target } = await flawed(t, 'none', fast);
    for (const hostile of [false, true]) {
      let served = 0;
      const report = await within(
        60_000,
        probePeer(torrent, target, {
          data,
          runs: 12,
          hostile,
          // A fixed seed: fast-check's first scripts are short, and with a random one twelve of
          // them sometimes never unchoked and then served (seen once in CI), so the check that
          // something was served would flake.
          seed: 4242,
          ...QUICK,
          onRun: (r) => (served += r.blocksServed),
        }),
        'probe',
      );
      assert.equal(report.counterexample, undefined, JSON.stringify(report.counterexample?.findings));
      assert.ok(served > 0, `fast=${fast} hostile=${hostile}: nothing was served`);
    }
  }
});

test('a downloader whose every answer comes only at the next keep-alive is still judged on them all', async (t) => {
  // It holds all it sends until a keep-alive comes (the handshake aside): no silence, however long,
  // would hear its requests, so only the round trips of `keepAliveEcho` can, at each serve and at
  // the settle. (Nor is its `interested` waited for: it too comes at the first keep-alive.)
  const held = { ...QUICK, interestWaitMs: 0 };
  const caught = await flawed(t, 'pastPieceEnd', true, true);
  const report = await within(
    60_000,
    probePeer(caught.torrent, caught.target, { data: caught.data, runs: 20, ...held }),
    'probe',
  );
  assert.deepEqual(plain(report.counterexample?.script), [{ kind: 'unchoke' }]);
  assert.deepEqual(
    report.counterexample?.findings.map((f) => f.rule),
    ['request.pastPieceEnd'],
  );
  const conforming = await flawed(t, 'none', true, true);
  let served = 0;
  const passed = await within(
    60_000,
    probePeer(conforming.torrent, conforming.target, {
      data: conforming.data,
      runs: 12,
      seed: 4242,
      ...held,
      onRun: (r) => (served += r.blocksServed),
    }),
    'probe',
  );
  assert.equal(passed.counterexample, undefined, JSON.stringify(passed.counterexample?.findings));
  // Its requests were there at the serve steps: each serve's round trip brought them in.
  assert.ok(served > 0, 'nothing was served');
});

test("bitstate's own download() breaks no rule as a downloader, in valid or hostile scripts", async (t) => {
  const dir = await tempDir(t, 'bitstate-probe-serve-');
  // 4 MiB: more than the scripts serve, so the target stays a downloader throughout.
  const { torrent, data } = await randomFileTorrent(dir, { size: 4 << 20 });
  for (const hostile of [false, true]) {
    const job = download(torrent, {
      out: join(dir, `out-${hostile}`),
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
    // Each probe's 12 scripts are random: hostile ones served 2-20 blocks in six runs here, and now
    // and then none at all (a full suite run, once). Up to 5 probes until one block is served: a
    // download that never asks for a block still fails, each probe's scripts must break no rule.
    let served = 0;
    const seeds: number[] = [];
    for (let probe = 0; probe < 5 && served === 0; probe++) {
      const report = await within(
        60_000,
        probePeer(
          torrent,
          { host: LOOPBACK, port },
          { data, runs: 12, hostile, settleMs: 300, onRun: (r) => (served += r.blocksServed) },
        ),
        'probe',
      );
      seeds.push(report.seed);
      assert.equal(report.counterexample, undefined, JSON.stringify(report.counterexample?.findings));
    }
    assert.ok(served > 0, `hostile=${hostile}: nothing was served (seeds ${seeds.join(', ')})`);
    await job.stop();
  }
});

test('data missing, of the wrong size, or of another torrent is a ProbeError of bad input', async (t) => {
  const dir = await tempDir(t, 'bitstate-probe-serve-');
  const { torrent, data } = await randomFileTorrent(dir, { size: 100_000 });
  const target = { host: LOOPBACK, port: 1 };
  await assert.rejects(
    probePeer(torrent, target, { data: join(dir, 'nowhere') }),
    (e) => e instanceof ProbeError && e.code === 'noData' && e.badInput,
  );
  await writeFile(join(data, 'file.bin'), new Uint8Array(99_999));
  await assert.rejects(
    openPieceSource(torrent, data),
    (e) => e instanceof ProbeError && e.code === 'noData' && /99999 bytes/.test(e.message),
  );
  await writeFile(join(data, 'file.bin'), new Uint8Array(100_000));
  await assert.rejects(
    openPieceSource(torrent, data),
    (e) => e instanceof ProbeError && e.code === 'badData' && e.badInput,
  );
});
