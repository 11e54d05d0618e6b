/**
 * The dashboard in a real browser (Debian's chromium driven by playwright-core) during a real
 * local download: two libtorrent seeders, `bitstate download --ui --trace`, 32 MiB. The page must
 * show peer machines changing state and the progress reaching 100%; a screenshot goes to
 * test-artifacts/ui-download.png. Then the trace plays back (`bitstate replay`) to the same end.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { bitstateBin, startBitstateDownload } from './harness/bitstate.js';
import { startLibtorrentSeeder } from './harness/libtorrent.js';
import { makeTorrent } from './harness/mktorrent.js';
import { repoRoot } from './harness/paths.js';
import { writeSingleFilePayload } from './harness/payload.js';
import { getFreePort, waitForPort } from './harness/ports.js';
import { runProcess, stopOnEnd } from './harness/processes.js';

const CHROMIUM = '/usr/bin/chromium';
const SIZE = 32 << 20;
/** Each seeder's upload cap: slow enough (~3 s in all) for the page to see the peers work. */
const SEEDER_RATE = 6 << 20;

test('the --ui dashboard shows peer machines changing state and progress reaching 100%', {
  skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed (apt-get install chromium)`,
  timeout: 40_000,
}, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-ui-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const payload = await writeSingleFilePayload({ dir: join(dir, 'seed'), name: 'big.bin', size: SIZE });
  const torrent = await makeTorrent({
    source: payload.root,
    out: join(dir, 'big.torrent'),
    pieceLength: 256 * 1024,
  });
  const seeders = await Promise.all(
    [0, 1].map(() =>
      startLibtorrentSeeder({
        torrent,
        dataDir: join(dir, 'seed'),
        trackerOff: true,
        uploadLimit: SEEDER_RATE,
      }),
    ),
  );
  stopOnEnd(t, ...seeders);
  const uiPort = await getFreePort();
  const trace = join(dir, 'download.trace.ndjson');
  bitstateBin();
  const run = startBitstateDownload({
    torrent,
    out: join(dir, 'out'),
    peers: seeders.map((s) => `127.0.0.1:${s.port}`),
    noTracker: true,
    stallTimeoutSec: 20,
    timeoutMs: 35_000,
    extraArgs: ['--ui', '--ui-port', String(uiPort), '--trace', trace],
  });
  stopOnEnd(t, run);
  await waitForPort(uiPort, 10_000);

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(`http://127.0.0.1:${uiPort}/`);
  const peerStates = new Set<string>();
  let progress = '';
  let activeStates = 0;
  let deadline = Date.now() + 30_000;
  let reached = false;
  while (Date.now() < deadline) {
    // Runs in the page (a string, so this file needs no DOM types).
    const seen = (await page.evaluate(`({
      progress: document.getElementById('progress-pct')?.textContent ?? '',
      states: [...document.querySelectorAll('#peers td.state')].map((td) => td.textContent ?? ''),
      // The selected peer's recent transitions, newest first: "1.234s  wire.unchoke → connected…".
      moves: (document.getElementById('recent-peer')?.innerText ?? '').split('\\n'),
      active: document.querySelectorAll('#chart-peer g.state.active').length,
    })`)) as { progress: string; states: string[]; moves: string[]; active: number };
    for (const s of seen.states) peerStates.add(s);
    // A fast download may show one state in the table at every poll; the transitions list still
    // shows the machine moving (handshaking → connected, choked → requesting, …).
    for (const m of seen.moves) {
      const to = m.split(' → ')[1];
      if (to !== undefined) peerStates.add(to.trim());
    }
    progress = seen.progress;
    activeStates = Math.max(activeStates, seen.active);
    // Keep watching a moment after 100 %: the peers' last transitions (no longer interested) land then.
    if (progress === '100.0%' && !reached) {
      reached = true;
      deadline = Math.min(deadline, Date.now() + 800);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await mkdir(join(repoRoot(), 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(repoRoot(), 'test-artifacts', 'ui-download.png'), fullPage: true });
  assert.equal(progress, '100.0%', run.describe());
  assert.ok(peerStates.size >= 2, `peer machine states seen: ${[...peerStates].join(' / ')}`);
  assert.ok(activeStates >= 2, 'the selected peer statechart highlights its active states');
  const legend = await page.textContent('[data-piece="verified"] b');
  assert.equal(Number(legend), SIZE / (256 * 1024));
  const exit = await run.exited;
  assert.equal(exit.code, 0, run.describe());

  // The trace plays back, without the network, to the same end.
  const replay = await runProcess(process.execPath, [bitstateBin(), 'replay', trace, '--speed', '1000'], {
    name: 'bitstate replay',
    timeoutMs: 15_000,
  });
  assert.match(replay.stdoutTail, /torrent .*→ complete/);
  assert.match(replay.stdoutTail, /128\/128 pieces verified/);
});
