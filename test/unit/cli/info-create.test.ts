/**
 * `bitstate info` and `bitstate create` run as the user runs them (a child process, from source):
 * exit codes, one-line errors without stack traces, and create → info --json round trips.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { describeTorrent, torrentSummary } from '../../../src/cli/commands/info.js';
import { createProgressLine } from '../../../src/cli/progress-line.js';
import { type BencodeDict, bdecode } from '../../../src/metainfo/bdecode.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';

const SEEDS = fileURLToPath(new URL('../../fixtures/torrents/', import.meta.url));

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-cli-'));
  await mkdir(join(dir, 'payload', 'sub', 'deeper'), { recursive: true });
  await writeFile(join(dir, 'payload', 'tiny'), 'x');
  await writeFile(join(dir, 'payload', 'sub', 'one.bin'), randomBytes(40_000));
  await writeFile(join(dir, 'payload', 'sub', 'deeper', 'two.bin'), randomBytes(300_000));
  await writeFile(join(dir, 'garbage.torrent'), 'this is not bencode');
});
after(() => rm(dir, { recursive: true, force: true }));

describe('bitstate info / create', { concurrency: true }, () => {
  it('info on malformed torrents: one line, exit 2, no stack trace', async () => {
    for (const file of [
      join(dir, 'garbage.torrent'),
      join(SEEDS, 'bencode-depth--list-bomb.torrent'),
      join(SEEDS, 'unsafe-path--dotdot.torrent'),
    ]) {
      const r = await runCli(['info', file]);
      assertOneLineError(r, { command: 'info' });
    }
    const r = await runCli(['info', join(SEEDS, 'unsafe-path--dotdot.torrent')]);
    assert.match(r.stderr, /info\.files\[0\]\.path\[0\]/, 'the message names the field');
  });

  it('info on a magnet link: what the link says, as text or JSON; a malformed one exits 2', async () => {
    const hash = 'c'.repeat(40);
    const magnet = `magnet:?xt=urn:btih:${hash}&dn=My+Name%1B&tr=http%3A%2F%2F127.0.0.1%3A9%2Fannounce&x.pe=127.0.0.1:6881&ws=http%3A%2F%2F127.0.0.1%3A9%2Fa.bin`;
    const text = await runCli(['info', magnet]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`info-hash: +${hash}`));
    assert.match(text.stdout, /name: +My Name\?\n/, 'the name printable');
    assert.match(text.stdout, /peers: +127\.0\.0\.1:6881/);
    assert.match(text.stdout, /web seeds: +http:\/\/127\.0\.0\.1:9\/a\.bin\n/);
    const json = await runCli(['info', '--json', magnet]);
    assert.deepEqual(JSON.parse(json.stdout), {
      magnet: true,
      infoHash: hash,
      version: 'v1',
      infoHashV2: null,
      name: 'My Name\u001b',
      trackers: ['http://127.0.0.1:9/announce'],
      peers: ['127.0.0.1:6881'],
      webSeeds: ['http://127.0.0.1:9/a.bin'],
    });
    assertOneLineError(await runCli(['info', 'magnet:?xt=urn:btih:123']), {
      command: 'info',
      pattern: /magnet/,
    });
    // A v2 magnet (BEP 52): its swarm's 20 bytes and the whole v2 info-hash.
    const v2 = 'd'.repeat(64);
    const v2Json = await runCli(['info', '--json', `magnet:?xt=urn:btmh:1220${v2}`]);
    assert.equal(v2Json.code, 0, v2Json.stderr);
    const shown = JSON.parse(v2Json.stdout) as { infoHash: string; version: string; infoHashV2: string };
    assert.deepEqual([shown.infoHash, shown.version, shown.infoHashV2], [v2.slice(0, 40), 'v2', v2]);
    const v2Text = await runCli(['info', `magnet:?xt=urn:btmh:1220${v2}`]);
    assert.match(v2Text.stdout, new RegExp(`info-hash v2: +${v2}`));
    assertOneLineError(await runCli(['info', `magnet:?xt=urn:btmh:1114${v2}`]), {
      command: 'info',
      pattern: /multihash/,
    });
  });

  it('info on v2-only and hybrid torrents (BEP 52): the version, the v2 info-hash, implicit padding listed as padding', async () => {
    const v2 = join(SEEDS, 'ok--libtorrent-v2-only.torrent');
    const sha256 = createHash('sha256')
      .update(parseTorrent(await readFile(v2)).infoBytes)
      .digest('hex');
    const json = await runCli(['info', '--json', v2]);
    assert.equal(json.code, 0, json.stderr);
    const j = JSON.parse(json.stdout);
    assert.equal(j.version, 'v2');
    assert.equal(j.infoHashV2, sha256);
    assert.equal(j.infoHash, sha256.slice(0, 40), 'the swarm: the v2 info-hash cut to 20 bytes');
    assert.deepEqual(j.files[1], { index: 1, path: ['.pad', '14688'], length: 14688, padding: true });
    const text = await runCli(['info', v2]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(`\\ninfo-hash: +${sha256.slice(0, 40)}\\ninfo-hash v2: +${sha256}\\n`),
    );
    assert.match(text.stdout, /\nversion: +v2 \(BitTorrent v2, BEP 52\)\n/);
    assert.match(text.stdout, /\n {2}1 +14688 +\.pad\/14688 {2}\(padding\)\n/);
    // The size is the files' bytes; the padding, never stored nor sent, said apart.
    const padding = j.files
      .filter((f: { padding?: boolean }) => f.padding)
      .reduce((n: number, f: { length: number }) => n + f.length, 0);
    assert.ok(padding > 0);
    assert.match(
      text.stdout,
      new RegExp(
        `\\nsize: +[^\\n]*\\(${j.totalLength - padding} bytes\\), and [^\\n]*\\(${padding} bytes\\) of padding \\(never stored\\)\\n`,
      ),
    );

    // The same summary and text for a hybrid and a v1 torrent (in process: the wiring is shown above).
    const hybrid = parseTorrent(await readFile(join(SEEDS, 'ok--libtorrent-hybrid-padding.torrent')));
    const h = torrentSummary(hybrid);
    assert.equal(h.version, 'hybrid');
    assert.equal(h.infoHash, createHash('sha1').update(hybrid.infoBytes).digest('hex'));
    assert.equal(h.infoHashV2, createHash('sha256').update(hybrid.infoBytes).digest('hex'));
    assert.match(describeTorrent(hybrid), /\nversion: +hybrid \(v1 and v2, BEP 52; used as v1\)\n/);
    assert.match(describeTorrent(hybrid), new RegExp(`\\ninfo-hash v2: +${h.infoHashV2}\\n`));
    const v1 = parseTorrent(await readFile(join(SEEDS, 'ok--mktorrent-tree.torrent')));
    assert.deepEqual([torrentSummary(v1).version, torrentSummary(v1).infoHashV2], ['v1', null]);
    assert.match(describeTorrent(v1), /\nversion: +v1\n/);
    assert.doesNotMatch(describeTorrent(v1), /padding \(never stored\)/);
    assert.doesNotMatch(describeTorrent(v1), /info-hash v2/);
  });

  it('info usage errors exit 2; --help exits 0', async () => {
    assertOneLineError(await runCli(['info']), { command: 'info' });
    assertOneLineError(await runCli(['info', '--nope', 'x.torrent']), { command: 'info' });
    const help = await runCli(['info', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: bitstate info/);
  });

  it('create a nested folder, then info --json reads back what was asked for', async () => {
    const out = join(dir, 'round-trip.torrent');
    const created = await runCli([
      'create',
      join(dir, 'payload'),
      '--announce',
      'http://127.0.0.1:1/announce',
      '-a',
      'udp://127.0.0.1:2',
      '--piece-length',
      '32K',
      '--private',
      '--comment',
      'round trip',
      '-o',
      out,
    ]);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stderr, '', 'no progress output when stderr is not a terminal');
    const hashLine = created.stdout.trim().split('\n').at(-1)!;
    assert.match(hashLine, /^info-hash [0-9a-f]{40}$/);

    const info = await runCli(['info', '--json', out]);
    assert.equal(info.code, 0, info.stderr);
    const json = JSON.parse(info.stdout);
    assert.equal(json.infoHash, hashLine.slice('info-hash '.length));
    assert.equal(json.name, 'payload');
    assert.equal(json.multiFile, true);
    assert.equal(json.private, true);
    assert.equal(json.comment, 'round trip');
    assert.equal(json.createdBy, 'bitstate/0.1.0');
    assert.equal(json.pieceLength, 32768);
    assert.equal(json.totalLength, 340_001);
    assert.equal(json.pieceCount, Math.ceil(340_001 / 32768));
    assert.deepEqual(json.announceList, [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']]);
    assert.deepEqual(json.files, [
      { index: 0, path: ['sub', 'deeper', 'two.bin'], length: 300_000 },
      { index: 1, path: ['sub', 'one.bin'], length: 40_000 },
      { index: 2, path: ['tiny'], length: 1 },
    ]);

    const text = await runCli(['info', out]);
    assert.equal(text.code, 0);
    assert.match(text.stdout, new RegExp(`info-hash: +${json.infoHash}`));
    // Files are numbered as download --select takes them.
    assert.match(text.stdout, /\n {2}1 +40000 +sub\/one\.bin\n/);
    assert.match(text.stdout, /sub\/deeper\/two\.bin/);

    // An existing output is not overwritten without --force.
    const before = await readFile(out);
    const again = await runCli(['create', join(dir, 'payload'), '-a', 'http://x/', '-o', out]);
    assertOneLineError(again, { command: 'create' });
    assert.deepEqual(await readFile(out), before);
  });

  it('create usage errors and bad input exit 2 with one line', async () => {
    const payload = join(dir, 'payload');
    const out = join(dir, 'never.torrent');
    // A private torrent with no tracker and no web seed has no source (BEP 27: no DHT, no PEX).
    assertOneLineError(await runCli(['create', payload, '--private', '-o', out]), { command: 'create' });
    assertOneLineError(await runCli(['create', payload, '-a', 'http://x/']), { command: 'create' }); // no -o
    assertOneLineError(await runCli(['create', payload, '-a', 'http://x/', '-l', '3K', '-o', out]), {
      command: 'create',
    });
    assertOneLineError(await runCli(['create', payload, '-a', 'http://x/', '-l', 'lots', '-o', out]), {
      command: 'create',
    });
    assertOneLineError(await runCli(['create', payload, '-w', 'ftp://x/', '-o', out]), { command: 'create' });
    await assert.rejects(readFile(out), { code: 'ENOENT' });
  });

  it('create --format hybrid / v2: both info-hashes printed (v2: only its own), the hybrid read back by info', async () => {
    const payload = join(dir, 'payload');
    const hybridOut = join(dir, 'hybrid.torrent');
    const hybrid = await runCli(['create', payload, '--format', 'hybrid', '-l', '16K', '-o', hybridOut]);
    assert.equal(hybrid.code, 0, hybrid.stderr);
    const lines = hybrid.stdout.trim().split('\n');
    assert.match(lines[0]!, /: 3 files, .*, 23 pieces of 16\.0 KiB \(hybrid: v1 and v2\)$/);
    const infoBytes = (file: Buffer) => {
      const info = (bdecode(file) as BencodeDict).get('info') as BencodeDict;
      return file.subarray(info.start, info.end);
    };
    const hybridInfo = infoBytes(await readFile(hybridOut));
    assert.deepEqual(lines.slice(1), [
      `info-hash ${createHash('sha1').update(hybridInfo).digest('hex')}`,
      `info-hash v2 ${createHash('sha256').update(hybridInfo).digest('hex')}`,
    ]);
    const info = await runCli(['info', '--json', hybridOut]);
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).infoHash, lines[1]!.slice('info-hash '.length));

    const v2Out = join(dir, 'v2.torrent');
    const v2 = await runCli(['create', payload, '--format', 'v2', '-l', '16K', '-o', v2Out]);
    assert.equal(v2.code, 0, v2.stderr);
    const v2Info = infoBytes(await readFile(v2Out));
    assert.deepEqual(v2.stdout.trim().split('\n').slice(1), [
      `info-hash v2 ${createHash('sha256').update(v2Info).digest('hex')}`,
    ]);
    assert.match(v2.stdout, /, 23 pieces of 16\.0 KiB \(v2\)\n/);
    assert.equal(v2.stderr, '', 'a folder of several files: nothing to say');

    // A folder holding one file: libtorrent reads the v2 tree as a torrent of that file alone.
    const lone = join(dir, 'lone');
    await mkdir(lone);
    await writeFile(join(lone, 'only.bin'), Buffer.alloc(20_000, 1));
    const loneOut = join(dir, 'lone.torrent');
    const made = await runCli(['create', lone, '--format', 'v2', '-o', loneOut]);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stderr, /the v2 torrent is of only\.bin alone .* seed it with --data .*lone\n$/);
    assert.equal(JSON.parse((await runCli(['info', '--json', loneOut])).stdout).name, 'only.bin');

    // An unknown format, or a piece length v2 cannot have: exit 2, nothing written.
    const never = join(dir, 'never-v2.torrent');
    assertOneLineError(await runCli(['create', payload, '--format', 'v3', '-o', never]), {
      command: 'create',
      pattern: /--format takes v1, v2 or hybrid, not 'v3'/,
    });
    assertOneLineError(await runCli(['create', payload, '--format', 'v2', '-l', '24K', '-o', never]), {
      command: 'create',
      pattern: /not a power of two/,
    });
    await assert.rejects(readFile(never), { code: 'ENOENT' });
  });

  it('create with no tracker and no web seed: a trackerless torrent (found through the DHT)', async () => {
    const out = join(dir, 'trackerless.torrent');
    const r = await runCli(['create', join(dir, 'payload'), '-o', out]);
    assert.equal(r.code, 0, r.stderr);
    const info = await runCli(['info', out, '--json']);
    assert.equal(info.code, 0, info.stderr);
    const j = JSON.parse(info.stdout) as { announceList: unknown[]; urlList: string[]; private: boolean };
    assert.deepEqual([j.announceList, j.urlList, j.private], [[], [], false]);
  });

  it('create --web-seed without a tracker: url-list written, info shows it', async () => {
    const out = join(dir, 'webseed.torrent');
    const r = await runCli([
      'create',
      join(dir, 'payload'),
      '-w',
      'http://127.0.0.1:1/pub/',
      '-w',
      'https://m/x/',
      '-o',
      out,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const info = await runCli(['info', out, '--json']);
    assert.equal(info.code, 0, info.stderr);
    const j = JSON.parse(info.stdout) as { urlList: string[]; announceList: unknown[] };
    assert.deepEqual(j.urlList, ['http://127.0.0.1:1/pub/', 'https://m/x/']);
    assert.deepEqual(j.announceList, []);
  });
});

test('the progress line draws in place on a TTY, throttled, and says nothing elsewhere', () => {
  const writes: string[] = [];
  let clock = 0;
  const tty = { isTTY: true, columns: 80, write: (s: string) => writes.push(s) > 0 };
  const line = createProgressLine(tty, { minIntervalMs: 100, now: () => clock });
  line.update(0, 100, 'start');
  clock = 50;
  line.update(10, 100); // within the interval: skipped
  clock = 150;
  line.update(50, 100, 'half');
  line.update(100, 100, 'done'); // completion always drawn
  line.finish();
  assert.equal(writes.length, 4);
  assert.ok(writes[1]!.startsWith('\r[###############...............]  50.0% half'));
  assert.ok(
    writes.slice(0, 3).every((w) => w.startsWith('\r') && w.endsWith('\x1b[K') && w.length <= 80 + 4),
  );
  assert.equal(writes[3], '\r\x1b[K');

  const quiet: string[] = [];
  const pipe = createProgressLine({ isTTY: false, write: (s: string) => quiet.push(s) > 0 });
  pipe.update(1, 2);
  pipe.finish();
  assert.deepEqual(quiet, []);
});

test('create lists a skipped symbolic link on one line, its control characters shown as ?', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'bitstate-create-skip-'));
  try {
    await writeFile(join(folder, 'data.bin'), randomBytes(1000));
    await symlink('data.bin', join(folder, 'link\x1b]0;TITLE\x07\nFAKE: done'));
    const out = join(folder, '..', `${folder.split('/').at(-1)}.torrent`);
    const r = await runCli(['create', folder, '-o', out, '--announce', 'http://127.0.0.1:1/announce']);
    await rm(out, { force: true });
    assert.equal(r.code, 0, r.stderr);
    const skips = r.stderr.split('\n').filter((l) => l.includes('skipped'));
    assert.equal(skips.length, 1, r.stderr);
    assert.match(skips[0]!, /skipped symbolic link .*link\?\]0;TITLE\?\?FAKE: done$/);
    assert.ok(![...r.stderr].some((c) => c !== '\n' && (c < ' ' || c === '\x7f')), 'no control character');
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});
