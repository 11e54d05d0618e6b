/**
 * The download display prints strings from outside — the torrent's name, the output path, tracker
 * URLs and messages, peer addresses and client names, error messages — and none of their control
 * characters may reach the terminal (an OSC retitles the window, CSI clears it, a newline forges a
 * line). With --json the events are JSON, whose escapes must cover DEL and C1 too.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDownloadDisplay } from '../../../src/cli/download-display.js';
import { printable, printableJson } from '../../../src/cli/printable.js';
import { describeError } from '../../../src/cli/report-error.js';
import { MAX_TRACKERS } from '../../../src/metainfo/limits.js';
import type { DownloadEvent } from '../../../src/session/download-event.js';
import { fakeTerminal } from '../../helpers/fake-terminal.js';

/** What a hostile torrent, tracker or peer would put in a string: OSC title, clear screen, colour, a forged line, 8-bit CSI, DEL. */
const EVIL = 'evil\x1b]0;PWNED\x07\x1b[2J\x1b[31mRED\x1b[0m\nFAKE: done: 100%\u009b2J\x7f';

const progress = {
  verifiedPieces: 1,
  pieceCount: 2,
  verifiedBytes: 10,
  totalLength: 20,
  downloadRate: 0,
  uploadRate: 0,
  downloaded: 10,
  uploaded: 0,
  peersConnected: 1,
  peersKnown: 1,
  peersFromPex: 0,
  etaSeconds: undefined,
  elapsedMs: 1000,
};

const hostileEvents: DownloadEvent[] = [
  {
    type: 'metadata',
    name: EVIL,
    infoHash: 'ab'.repeat(20),
    totalLength: 20,
    pieceCount: 2,
    pieceLength: 16,
    files: 1,
    out: `/tmp/${EVIL}`,
  },
  { type: 'tracker.announce', url: `http://127.0.0.1:1/${EVIL}`, ok: false, error: EVIL },
  { type: 'peer.banned', address: EVIL },
  // fallocate's own words, which can quote a path made of the torrent's names.
  { type: 'preallocation', outcome: 'failed', files: 1, needBytes: 1, detail: EVIL },
  {
    type: 'progress',
    ...progress,
    peers: [
      {
        address: EVIL,
        client: EVIL,
        state: EVIL,
        downloadRate: 0,
        outstanding: 0,
        encryption: 'rc4',
        transport: 'tcp',
      },
    ],
  },
  { type: 'metadata.peerDropped', address: EVIL, reason: EVIL },
  { type: 'stopped', reason: EVIL },
];

/** The control sequences the display writes itself: \r, erase line, cursor up, erase below, \n. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: they are what the display may write
const OWN_CONTROLS = /\r|\x1b\[2K|\x1b\[\d+A|\x1b\[0J|\n/g;

test('the terminal display prints no control character that came from an event', () => {
  const { err, text } = fakeTerminal();
  const display = createDownloadDisplay('terminal', { peers: true, err });
  for (const e of hostileEvents) display.event(e);
  display.end();
  const out = text();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
  assert.doesNotMatch(out.replace(OWN_CONTROLS, ''), /[\u0000-\u001f\u007f-\u009f]/);
  assert.doesNotMatch(out, /^FAKE/m, 'no forged line');
  assert.match(out, /evil\?\]0;PWNED\?\?\[2J/, 'the name is shown, its controls as ?');
  assert.match(out, /saving to \/tmp\/evil\?/);
  assert.match(out, /tracker http:\/\/127\.0\.0\.1:1\/evil\?.*: evil\?/);
  assert.match(out, /banned evil\?/);
  assert.match(out, /stopped: evil\?/);
});

test('a magnet: the fetch is shown before the torrent, its progress on the live line', () => {
  const { err, text } = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err });
  display.event({ type: 'metadata.fetching', infoHash: 'ab'.repeat(20), peers: 2 });
  display.event({ type: 'metadata.progress', received: 1, pieces: 2, peers: 3, connected: 4 });
  display.event({ type: 'metadata.peerDropped', address: '127.0.0.1:9', reason: 'badMetadata' });
  display.event({ type: 'metadata.fetched', size: 17_995, elapsedMs: 31 });
  display.event({ type: 'metadata.layersFetched', hashes: 1104 });
  display.end();
  const out = text();
  assert.match(out, new RegExp(`fetching metadata for ${'ab'.repeat(20)} from 2 peers…\n`));
  assert.match(out, /fetching metadata from 3 peers… 1\/2 pieces \(4 connected\)/);
  assert.match(out, /dropped 127\.0\.0\.1:9 \(badMetadata\)\n/);
  assert.match(out, /metadata: 17\.6 KiB in 0\.0 s\n/);
  // A hybrid's piece layers, fetched during its download.
  assert.match(out, /piece layers: 1104 hashes fetched during the download, saved and served\n/);
});

test("a hybrid's piece layers hashed from the data: one line each, the disagreement and a failed save too", () => {
  const { err, text } = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err });
  display.event({ type: 'metadata.layersComputed', files: 2, hashes: 1104, saved: true });
  display.event({ type: 'metadata.layersComputed', files: 1, hashes: 40, saved: false, missing: 1 });
  display.event({ type: 'metadata.layersInconsistent', file: 'd/big\u001b.bin' });
  display.event({ type: 'metadata.layersNotSaved', message: 'cannot save: ENOSPC' });
  display.event({ type: 'metadata.layersNotComputed', message: 'EIO' });
  display.end();
  const lines = text().split('\n');
  assert.deepEqual(lines, [
    'piece layers: 1104 hashes of 2 files hashed from the data, saved and served',
    'piece layers: 40 hashes of 1 file hashed from the data, served (1 file not stored has none)',
    "piece layers: d/big?.bin passed its v1 hashes but not its v2 pieces root (the torrent's v1 and v2 hashes disagree): seeded to v1 peers, no layer served",
    'piece layers not saved (served all the same): cannot save: ENOSPC',
    'piece layers not hashed from the data: EIO',
    '',
  ]);
});

test('a message with newlines stays one line; --quiet prints none of it', () => {
  const { err, text } = fakeTerminal();
  createDownloadDisplay('terminal', { err }).event({ type: 'stopped', reason: EVIL });
  assert.equal(text().split('\n').length, 2, 'one line and its newline');
  const quiet = fakeTerminal();
  const display = createDownloadDisplay('quiet', { err: quiet.err });
  for (const e of hostileEvents) display.event(e);
  assert.equal(quiet.text(), '');
});

test('--json: every event on one line, no raw control character, the same value back', () => {
  let out = '';
  const stream = {
    write(chunk: string) {
      out += chunk;
      return true;
    },
  } as unknown as NodeJS.WritableStream;
  const display = createDownloadDisplay('json', { out: stream });
  for (const e of hostileEvents) display.event(e);
  const lines = out.split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, hostileEvents.length);
  for (const [i, line] of lines.entries()) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
    assert.doesNotMatch(line, /[\u0000-\u001f\u007f-\u009f]/);
    const { time, ...event } = JSON.parse(line) as DownloadEvent & { time: string };
    assert.equal(typeof time, 'string');
    assert.deepEqual(event, JSON.parse(JSON.stringify(hostileEvents[i])), 'the value JSON.stringify gives');
  }
});

test('printable: controls become ?, the rest (UTF-8 names) stays', () => {
  assert.equal(printable('a\x1b[2Jb\nc\td\x7fe\u0085f\u009b'), 'a?[2Jb?c?d?e?f?');
  assert.equal(printable('Übung – 日本語 🎬.mkv'), 'Übung – 日本語 🎬.mkv');
  assert.equal(printableJson({ s: 'x\u009by\x7f\n' }), '{"s":"x\\u009by\\u007f\\n"}');
});

test('describeError: the first line of the message, printable', () => {
  assert.equal(
    describeError(new Error(`tracker said ${EVIL}`)),
    'tracker said evil?]0;PWNED??[2J?[31mRED?[0m',
  );
  assert.equal(describeError('no data\x1b[2J'), 'no data?[2J');
});

test('a torrent listing more trackers than MAX_TRACKERS says how many were left out', () => {
  const { err, text } = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err });
  display.event({
    ...(hostileEvents[0] as DownloadEvent & { type: 'metadata' }),
    name: 'x',
    ignoredTrackers: 299_744,
  });
  display.end();
  assert.match(
    text(),
    new RegExp(`^299744 more tracker URLs past the first ${MAX_TRACKERS} are left out$`, 'm'),
  );
});

test('the DHT on a terminal: a line when it is ready, then its node count on the progress line', () => {
  const t = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err: t.err });
  display.event({ type: 'progress', ...progress });
  assert.ok(!t.text().includes('DHT'), 'no DHT word before it runs');
  display.event({ type: 'dht.ready', port: 6881, nodes: 37, savedNodes: 0, fromSaved: 0 });
  assert.match(t.text(), /DHT: 37 nodes \(UDP port 6881\)\n/);
  // A later node (another run) that bootstrapped from a saved state, and one whose state was spoilt.
  display.event({ type: 'dht.ready', port: 6881, nodes: 40, savedNodes: 20, fromSaved: 12 });
  assert.match(t.text(), /DHT: 40 nodes \(UDP port 6881; 12 of 20 saved nodes answered\)\n/);
  display.event({
    type: 'dht.ready',
    port: 6881,
    nodes: 3,
    savedNodes: 0,
    fromSaved: 0,
    stateError: 'DHT state: version 7, not 1',
  });
  assert.match(t.text(), /DHT: the saved state was ignored \(DHT state: version 7, not 1\)\n/);
  display.event({ type: 'dht.peers', peers: 4, queries: 19, announced: 8, nodes: 52, elapsedMs: 900 });
  display.event({ type: 'progress', ...progress });
  assert.match(t.text(), /peers 1\/1 {2}DHT 52 {2}ETA/);
  display.end();
});

test('LSD on a terminal: where it announces (or that it cannot), and each peer it finds', () => {
  const t = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err: t.err });
  display.event({ type: 'lsd.ready', interfaces: ['192.168.1.20', '10.8.0.5'] });
  assert.match(t.text(), /LSD: announcing on 192\.168\.1\.20, 10\.8\.0\.5\n/);
  display.event({ type: 'lsd.ready', interfaces: [] });
  assert.match(t.text(), /LSD: no interface to multicast on\n/);
  display.event({ type: 'lsd.peer', address: '192.168.1.7:51413' });
  assert.match(t.text(), /LSD: 192\.168\.1\.7:51413 is on the local network\n/);
  display.end();
});

test('LSD that cannot start is said, whatever the terminal', () => {
  const t = fakeTerminal();
  (t.err as { isTTY: boolean }).isTTY = false;
  const display = createDownloadDisplay('terminal', { err: t.err });
  display.event({
    type: 'lsd.off',
    reason: 'UDP port 6771 is held by another program that does not share it',
  });
  assert.match(t.text(), /LSD off: UDP port 6771 is held by another program that does not share it\n/);
  display.end();
});

test('a named port whose UDP number is taken is said: where the UDP socket went', () => {
  const t = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err: t.err });
  display.event({ type: 'udp.portTaken', port: 6881, udpPort: 40123 });
  assert.match(
    t.text(),
    /UDP port 6881 is taken by another program: our UDP socket \(uTP, the DHT\) is on port 40123, where no peer reaches us/,
  );
  display.end();
});

test('--peers: a web seed URL keeps the columns in line (its middle elided), and no row is wider than the terminal', () => {
  const url =
    'https://ia800204.us.archive.org/12/items/ubuntu-22.04-desktop/ubuntu-22.04.3-desktop-amd64.iso';
  for (const columns of [120, 60]) {
    const { err, text } = fakeTerminal();
    (err as { columns: number }).columns = columns;
    const display = createDownloadDisplay('terminal', { peers: true, err });
    display.event({
      type: 'progress',
      ...progress,
      peers: [
        {
          address: url,
          client: 'web seed',
          state: 'downloading',
          downloadRate: 5e6,
          outstanding: 64,
          webSeed: true,
          encryption: 'none',
          transport: 'tcp',
        },
        {
          address: '127.0.0.1:6881',
          client: 'libtorrent 2.0.8',
          state: 'downloading',
          downloadRate: 0,
          outstanding: 3,
          encryption: 'none',
          transport: 'tcp',
        },
      ],
    });
    const rows = text()
      .split('\n')
      .slice(1)
      .map((r) => r.replace(OWN_CONTROLS, ''));
    assert.equal(rows.length, 2, text());
    for (const r of rows) assert.ok([...r].length <= columns - 1, `${[...r].length} > ${columns - 1}: ${r}`);
    // The client column starts where it does for a peer.
    assert.equal(rows[0]!.indexOf('web seed'), rows[1]!.indexOf('libtorrent'), rows.join('\n'));
    assert.match(rows[0]!, /^ {2}ia800204\.us…-amd64\.iso web seed/);
  }
});

test('--peers: a client name in wide characters (BEP 10 v, two cells each) keeps the columns in line and the row within the terminal', () => {
  // 迅 and 雷 are East Asian Wide (UAX #11): a terminal gives each two cells.
  const cells = (s: string) => [...s].reduce((n, c) => n + (c === '迅' || c === '雷' ? 2 : 1), 0);
  const { err, text } = fakeTerminal();
  (err as { columns: number }).columns = 80;
  const display = createDownloadDisplay('terminal', { peers: true, err });
  const peer = {
    state: 'downloading',
    downloadRate: 0,
    outstanding: 3,
    encryption: 'none' as const,
    transport: 'tcp' as const,
  };
  display.event({
    type: 'progress',
    ...progress,
    peers: [
      { ...peer, address: '10.0.0.1:6881', client: '迅雷'.repeat(9) },
      { ...peer, address: '10.0.0.2:6881', client: 'libtorrent 2.0.8' },
    ],
  });
  const rows = text()
    .split('\n')
    .slice(1)
    .map((r) => r.replace(OWN_CONTROLS, ''));
  assert.equal(rows.length, 2, text());
  for (const r of rows) assert.ok(cells(r) <= 79, `${cells(r)} cells > 79: ${r}`);
  // The state column starts at the same cell in both rows.
  const at = (r: string) => cells(r.slice(0, r.indexOf('downloading')));
  assert.equal(at(rows[0]!), at(rows[1]!), rows.join('\n'));
  display.end();
});

test('blocked peers on a terminal: no line each, a count on the progress line and on the last line', () => {
  const t = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err: t.err });
  for (let i = 1; i <= 3; i++)
    display.event({ type: 'peer.blocked', address: `10.9.9.${i}:6881`, source: 'tracker', blocked: i });
  assert.ok(!t.text().includes('10.9.9.'), 'no line per blocked peer');
  display.event({ type: 'progress', ...progress });
  assert.match(t.text(), /blocked 3 {2}ETA/);
  display.event({ type: 'done', elapsedMs: 1000, transferMs: 1000, totalLength: 20, averageRate: 20 });
  assert.match(t.text(), /done: .*\(3 peers blocked\)\n/);
  display.end();
});

test("blocked peers named again (at a tracker's next announces) are counted once", () => {
  const t = fakeTerminal();
  const display = createDownloadDisplay('terminal', { err: t.err });
  for (let announce = 0; announce < 10; announce++)
    for (let i = 1; i <= 50; i++)
      display.event({ type: 'peer.blocked', address: `10.9.9.${i}:6881`, source: 'tracker', blocked: i });
  display.event({ type: 'progress', ...progress });
  assert.match(t.text(), /blocked 50 {2}ETA/);
  display.event({ type: 'stopped', reason: 'stopped by the user' });
  assert.match(t.text(), /\(50 peers blocked\)\n/);
  display.end();
});

test('--on-complete: a command that failed is one line, --quiet too; one that exited 0 says nothing', () => {
  const exited = (e: Partial<Extract<DownloadEvent, { type: 'hook.exited' }>>): DownloadEvent => ({
    type: 'hook.exited',
    code: null,
    signal: null,
    elapsedMs: 60_000,
    ...e,
  });
  const events = [
    exited({ code: 0 }),
    exited({ code: 3 }),
    exited({ signal: 'SIGSEGV' }),
    exited({ signal: 'SIGTERM', killed: 'timeout' }),
    exited({ signal: 'SIGTERM', killed: 'stopped' }),
    exited({ error: `spawn /bin/sh ${EVIL}` }),
  ];
  const lines = [
    '--on-complete failed: exit status 3',
    '--on-complete ended by SIGSEGV',
    '--on-complete killed: still running after 60 s (--on-complete-timeout)',
    '--on-complete killed: interrupted',
    `--on-complete could not run: spawn /bin/sh ${printable(EVIL)}`,
    '',
  ];
  for (const mode of ['terminal', 'quiet'] as const) {
    const { err, text } = fakeTerminal();
    const display = createDownloadDisplay(mode, { err });
    for (const e of events) display.event(e);
    assert.deepEqual(text().split('\n'), lines, mode);
  }
});
