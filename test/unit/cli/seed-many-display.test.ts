/**
 * What `bitstate seed A B …` shows on a terminal (src/cli/seed-many-display.ts): each torrent's news
 * on a line that names it, one summary line summing every torrent's last progress (not a progress
 * line per torrent), a torrent's name from outside printed without its control characters; a torrent
 * that failed named with its error and left out of the summary; with --json, the events as they
 * are, each with its info-hash (`torrent.failed` too).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSeedManyDisplay } from '../../../src/cli/seed-many-display.js';
import type { SeedManyEvent } from '../../../src/session/seed-many.js';
import { fakeTerminal } from '../../helpers/fake-terminal.js';

const metadata = (name: string, infoHash: string): SeedManyEvent => ({
  type: 'metadata',
  name,
  infoHash,
  totalLength: 1 << 20,
  pieceCount: 4,
  pieceLength: 1 << 18,
  files: 1,
  out: `lib/${name}`,
});

const progress = (infoHash: string, uploadRate: number, uploaded: number, peers: number): SeedManyEvent => ({
  type: 'progress',
  infoHash,
  verifiedPieces: 4,
  pieceCount: 4,
  verifiedBytes: 1 << 20,
  totalLength: 1 << 20,
  downloadRate: 0,
  uploadRate,
  downloaded: 0,
  uploaded,
  peersConnected: peers,
  peersKnown: peers,
  peersFromPex: 0,
  etaSeconds: undefined,
  elapsedMs: 1000,
});

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

test('terminal: news named by torrent, one summary line for all', () => {
  const term = fakeTerminal();
  const d = createSeedManyDisplay('terminal', { err: term.err });
  d.event(metadata('alpha.iso', A));
  d.event(metadata('beta\x1b[2J.iso', B));
  d.event({ type: 'checked', infoHash: A, have: 4, pieceCount: 4 });
  d.event({ type: 'checked', infoHash: B, have: 3, pieceCount: 4 });
  d.event(progress(A, 1024, 4096, 2));
  d.event(progress(B, 2048, 8192, 3));
  d.event({ type: 'stopped', infoHash: B, reason: 'stopped' });
  d.end();
  const text = term.text();
  assert.match(text, /alpha\.iso: 4\/4 pieces match, seeding\n/);
  assert.match(text, /beta\?\[2J\.iso: 3\/4 pieces match, seeding\n/, 'the name printable');
  assert.ok(!text.includes('\x1b[2J'), 'no clear-screen from the name');
  assert.match(text, /beta\?\[2J\.iso: stopped: stopped\n/);
  // The last summary sums both torrents' last progress.
  const summaries = text.split('\r\x1b[2K').filter((s) => s.startsWith('seeding '));
  assert.equal(summaries.at(-1), 'seeding 2 torrents  ↑ 3.00 KiB/s  uploaded 12.0 KiB  peers 5');
});

test('terminal: a torrent that failed is named with its error, and the summary goes on without it', () => {
  const term = fakeTerminal();
  const d = createSeedManyDisplay('terminal', { err: term.err });
  d.event(metadata('alpha.iso', A));
  d.event(metadata('beta.iso', B));
  d.event(progress(A, 1024, 4096, 2));
  d.event(progress(B, 2048, 8192, 3));
  d.event({
    type: 'torrent.failed',
    infoHash: A,
    message: 'file lib/alpha.iso is shorter than the torrent says',
    left: 1,
  });
  d.event(progress(B, 2048, 10240, 3));
  d.end();
  const text = term.text();
  assert.match(
    text,
    /alpha\.iso: failed, no longer seeded: file lib\/alpha\.iso is shorter than the torrent says \(1 torrent still seeding\)\n/,
  );
  const summaries = text
    .split('\n')
    .flatMap((l) => l.split('\r\x1b[2K'))
    .filter((s) => s.startsWith('seeding '));
  assert.equal(summaries.at(-1), 'seeding 1 torrent  ↑ 2.00 KiB/s  uploaded 10.0 KiB  peers 3', 'B alone');
});

test('json: every event as it is, with its info-hash', () => {
  let out = '';
  const d = createSeedManyDisplay('json', {
    out: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  });
  d.event({ type: 'checked', infoHash: A, have: 4, pieceCount: 4 });
  d.event({ type: 'torrent.failed', infoHash: A, message: 'disk', left: 0 });
  const [line, failed] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(line?.type, 'checked');
  assert.equal(line?.infoHash, A);
  assert.deepEqual(
    [failed?.type, failed?.infoHash, failed?.message, failed?.left],
    ['torrent.failed', A, 'disk', 0],
  );
});

test('terminal: a hybrid’s piece layers inconsistent or not hashed, one line naming the torrent', () => {
  const term = fakeTerminal();
  const d = createSeedManyDisplay('terminal', { err: term.err });
  d.event(metadata('hy', A));
  d.event({ type: 'metadata.layersInconsistent', infoHash: A, file: 'big.bin' });
  d.event({ type: 'metadata.layersNotComputed', infoHash: A, message: 'EIO: i/o error, read' });
  d.end();
  const text = term.text();
  assert.match(
    text,
    /hy: big\.bin passed its v1 hashes but not its v2 pieces root .*no piece layer served\n/,
  );
  assert.match(text, /hy: piece layers not hashed from the data: EIO: i\/o error, read\n/);
});

test('terminal: the summary line counts the peers the IP filter blocked, each once; a torrent stopped says its own', () => {
  const term = fakeTerminal();
  const d = createSeedManyDisplay('terminal', { err: term.err });
  d.event(metadata('alpha.iso', A));
  d.event(metadata('beta.iso', B));
  for (let announce = 0; announce < 2; announce++)
    for (let i = 1; i <= 3; i++)
      d.event({
        type: 'peer.blocked',
        infoHash: A,
        address: `10.0.0.${i}:6881`,
        source: 'tracker',
        blocked: i,
      });
  // The shared port refuses a blocked peer for no torrent, twice from new source ports.
  d.event({ type: 'peer.blocked', address: '10.0.0.9:50000', source: 'incoming', blocked: 1 });
  d.event({ type: 'peer.blocked', address: '10.0.0.9:50001', source: 'incoming', blocked: 1 });
  d.event(progress(A, 1024, 4096, 2));
  d.event(progress(A, 1024, 4096, 2));
  d.event({ type: 'stopped', infoHash: A, reason: 'stopped' });
  d.end();
  const summaries = term
    .text()
    .split('\r\x1b[2K')
    .filter((s) => s.startsWith('seeding '));
  assert.match(summaries.at(-1) ?? '', /peers 2 {2}blocked 4$/);
  assert.match(term.text(), /alpha\.iso: stopped: stopped \(3 peers blocked\)\n/);
});
