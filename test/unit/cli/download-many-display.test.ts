/**
 * What `bitstate download A B …` shows on a terminal (src/cli/download-many-display.ts): each
 * torrent's news on a line naming it, one live row per torrent still running (redrawn in place,
 * gone once it is done or failed), a name from outside printed without its control characters;
 * with --json, every event as it is with its info-hash, `torrent.failed` too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDownloadManyDisplay } from '../../../src/cli/download-many-display.js';
import type { DownloadManyEvent } from '../../../src/session/download-many.js';
import { fakeTerminal } from '../../helpers/fake-terminal.js';

const metadata = (name: string, infoHash: string): DownloadManyEvent => ({
  type: 'metadata',
  name,
  infoHash,
  totalLength: 1 << 20,
  pieceCount: 4,
  pieceLength: 1 << 18,
  files: 1,
  out: `dl/${name}`,
});

const progress = (
  infoHash: string,
  verifiedBytes: number,
  downloadRate: number,
  up: { uploadRate: number; uploaded: number } = { uploadRate: 0, uploaded: 0 },
): DownloadManyEvent => ({
  type: 'progress',
  infoHash,
  verifiedPieces: verifiedBytes >> 18,
  pieceCount: 4,
  verifiedBytes,
  totalLength: 1 << 20,
  downloadRate,
  downloaded: verifiedBytes,
  ...up,
  peersConnected: 1,
  peersKnown: 2,
  peersFromPex: 0,
  etaSeconds: 3,
  elapsedMs: 1000,
});

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

/** The rows on screen now: what the last redraw wrote after its clear (`\r\x1b[2K`, and `\x1b[NA\x1b[0J` for several). */
function lastRows(text: string): string[] {
  const last = text.slice(text.lastIndexOf('\r\x1b[2K') + 5);
  const up = last.indexOf('\x1b[0J');
  return last
    .slice(up < 0 ? 0 : up + 4)
    .split('\n')
    .filter((l) => l.includes('%  ↓'));
}

test('terminal: a row per torrent redrawn in place, news named by torrent, a torrent gone from the rows once failed', () => {
  const term = fakeTerminal();
  const d = createDownloadManyDisplay('terminal', { err: term.err });
  d.event(metadata('alpha.iso', A));
  d.event(metadata('beta\x1b[2J.iso', B));
  d.event(progress(A, 1 << 18, 1024));
  d.event(progress(B, 1 << 19, 2048));
  const text = term.text();
  assert.match(text, /alpha\.iso {2}1\.00 MiB in 4 pieces {2}info-hash a{40} → dl\/alpha\.iso\n/);
  assert.ok(!text.includes('\x1b[2J'), 'no clear-screen from the name');
  const rows = lastRows(text);
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.match(rows[0]!, /^alpha\.iso +\S+ +25\.0% {2}↓ 1\.00 KiB\/s/);
  assert.match(rows[1]!, /^beta\?\[2J\.iso +\S+ +50\.0% {2}↓ 2\.00 KiB\/s/);

  d.event({ type: 'torrent.failed', infoHash: A, message: 'disk full', left: 1 });
  d.event(progress(B, 3 << 18, 4096));
  const after = term.text();
  assert.match(after, /alpha\.iso: failed: disk full \(1 torrent still running\)\n/);
  const left = after.slice(after.lastIndexOf('failed: disk full'));
  assert.ok(!/\nalpha\.iso +\S+ +25\.0%/.test(left), 'A has no row after its failure');
  assert.match(left, /beta\?\[2J\.iso +\S+ +75\.0%/);
  d.end();
});

test('json: every event with its info-hash, torrent.failed too', () => {
  let out = '';
  const d = createDownloadManyDisplay('json', {
    out: {
      write: (s: string) => {
        out += s;
        return true;
      },
    } as unknown as NodeJS.WritableStream,
  });
  d.event(progress(A, 0, 0));
  d.event({ type: 'torrent.failed', infoHash: B, message: 'disk full', left: 1 });
  const lines = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => [l.type, l.infoHash]),
    [
      ['progress', A],
      ['torrent.failed', B],
    ],
  );
  assert.equal(lines[1]?.left, 1);
});

/** Every row the last redraw wrote (after its clear), whatever it says. */
function lastDraw(text: string): string[] {
  const last = text.slice(text.lastIndexOf('\r\x1b[2K') + 5);
  const up = last.indexOf('\x1b[0J');
  return last
    .slice(up < 0 ? 0 : up + 4)
    .split('\n')
    .filter((l) => l.length > 0);
}

test('terminal: a magnet link has a row saying metadata… until its torrent is known, then a progress row under its name', () => {
  const term = fakeTerminal();
  const d = createDownloadManyDisplay('terminal', {
    err: term.err,
    magnets: [{ infoHash: B, name: 'linked\x1b[2J' }],
  });
  d.event(metadata('alpha.iso', A));
  d.event(progress(A, 1 << 18, 1024));
  assert.deepEqual(
    lastDraw(term.text()).map((l) => l.replace(/ +/g, ' ')),
    ['linked?[2J metadata…', lastRows(term.text())[0]!.replace(/ +/g, ' ')],
  );
  d.event({ type: 'metadata.progress', infoHash: B, received: 1, pieces: 3, peers: 4, connected: 2 });
  assert.match(lastDraw(term.text())[0]!, /^linked\?\[2J +metadata… 1\/3 pieces {2}peers 2\/4$/);
  d.event(metadata('beta.iso', B));
  d.event(progress(B, 1 << 19, 2048));
  const rows = lastRows(term.text());
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.match(rows[0]!, /^beta\.iso +\S+ +50\.0%/, 'in the row the link had');
  assert.ok(!lastDraw(term.text()).some((l) => l.includes('metadata…')), 'no metadata… once known');
  d.end();
});

test('terminal: a torrent seeding (--seed) says so, and its row shows its upload in place of a bar', () => {
  const term = fakeTerminal();
  const d = createDownloadManyDisplay('terminal', { err: term.err });
  d.event(metadata('alpha.iso', A));
  d.event(metadata('beta.iso', B));
  d.event({ type: 'seeding', infoHash: A });
  d.event(progress(A, 1 << 20, 0, { uploadRate: 3072, uploaded: 5 << 20 }));
  d.event(progress(B, 1 << 19, 2048));
  assert.match(term.text(), /alpha\.iso: complete, seeding\n/);
  const rows = lastDraw(term.text());
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.match(rows[0]!, /^alpha\.iso +seeding {2}↑ 3\.00 KiB\/s {2}uploaded 5\.00 MiB {2}peers 1\/2$/);
  assert.match(rows[1]!, /^beta\.iso +\S+ +50\.0%/);
  d.end();
});

test('terminal: what went wrong with a hybrid’s piece layers, one line naming the torrent', () => {
  const term = fakeTerminal();
  const d = createDownloadManyDisplay('terminal', { err: term.err });
  d.event(metadata('hy', A));
  d.event({ type: 'metadata.layersInconsistent', infoHash: A, file: 'big\x1b.bin' });
  d.event({ type: 'metadata.layersNotSaved', infoHash: A, message: 'cannot save dl/.bitstate/a.torrent' });
  d.event({ type: 'metadata.layersNotComputed', infoHash: A, message: 'EIO: i/o error, read' });
  d.end();
  const text = term.text();
  assert.match(
    text,
    /\nhy: big\?\.bin passed its v1 hashes but not its v2 pieces root .*no piece layer served\n/,
  );
  assert.match(
    text,
    /\nhy: piece layers not saved \(served all the same\): cannot save dl\/\.bitstate\/a\.torrent\n/,
  );
  assert.match(text, /\nhy: piece layers not hashed from the data: EIO: i\/o error, read\n/);
});

test('terminal: each torrent row shows the peers the IP filter blocked, counted once each, and its done line says so', () => {
  const term = fakeTerminal();
  const d = createDownloadManyDisplay('terminal', { err: term.err });
  d.event(metadata('alpha.iso', A));
  d.event(metadata('beta.iso', B));
  // A's trackers name the same three blocked peers at two announces; B blocks none; the shared
  // port's refusal names no torrent.
  for (let announce = 0; announce < 2; announce++)
    for (let i = 1; i <= 3; i++)
      d.event({
        type: 'peer.blocked',
        infoHash: A,
        address: `10.0.0.${i}:6881`,
        source: 'tracker',
        blocked: i,
      });
  d.event({ type: 'peer.blocked', address: '10.0.0.9:50000', source: 'incoming', blocked: 1 });
  d.event(progress(A, 1 << 18, 1024));
  d.event(progress(B, 1 << 18, 1024));
  const rows = lastRows(term.text());
  assert.match(rows.find((r) => r.startsWith('alpha.iso')) ?? '', /peers 1\/2 {2}blocked 3 {2}ETA/);
  assert.match(rows.find((r) => r.startsWith('beta.iso')) ?? '', /peers 1\/2 {2}ETA/);
  d.event({
    type: 'done',
    infoHash: A,
    elapsedMs: 1000,
    transferMs: 1000,
    totalLength: 1 << 20,
    averageRate: 1 << 20,
  });
  d.event({ type: 'stopped', infoHash: B, reason: 'stopped by the user' });
  d.end();
  assert.match(term.text(), /alpha\.iso: done, .*\(3 peers blocked\)\n/);
  assert.match(term.text(), /beta\.iso: stopped: stopped by the user\n/);
});
