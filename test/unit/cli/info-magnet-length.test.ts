/**
 * `bitstate info` run as the user runs it (a child process, from source) on a .torrent with 256
 * tracker URLs of 400 characters and 10 web seeds: its magnet link, as text and in `--json`, is one
 * bitstate's own parser reads (at most MAX_MAGNET_LENGTH characters), the first trackers in order,
 * and stderr says how many trackers and web seeds the link leaves out. Before, it printed a
 * ~200,000-character link that `bitstate download` refused.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BencodeDict, type BencodeValue, bdecode } from '../../../src/metainfo/bdecode.js';
import { type BencodeInput, bencode } from '../../../src/metainfo/bencode.js';
import { MAX_TRACKERS } from '../../../src/metainfo/limits.js';
import { MAX_MAGNET_LENGTH, parseMagnet } from '../../../src/metainfo/magnet.js';
import { runCli } from '../../helpers/run-cli.js';

const FIXTURE = new URL('../../fixtures/torrents/ok--mktorrent-tree.torrent', import.meta.url);

/** A decoded value as the encoder takes it (dictionaries as Maps), to be written back the same. */
function encodable(v: BencodeValue): BencodeInput {
  if (v instanceof BencodeDict) return new Map([...v.entries].map(([k, x]) => [k, encodable(x)]));
  return Array.isArray(v) ? v.map(encodable) : v;
}

test('info prints a magnet link bitstate parses back, however many long trackers, and says what it left out', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-magnet-length-'));
  try {
    const trackers = Array.from(
      { length: MAX_TRACKERS },
      (_, i) => `http://t${i}.example/${'a'.repeat(380)}`,
    );
    const torrent = bdecode(new Uint8Array(readFileSync(FIXTURE))) as BencodeDict;
    const file = join(dir, 'many-trackers.torrent');
    await writeFile(
      file,
      bencode({
        announce: trackers[0]!,
        'announce-list': trackers.map((u) => [u]),
        'url-list': Array.from({ length: 10 }, (_, i) => `http://w${i}.example/`),
        info: encodable(torrent.get('info')!),
      }),
    );
    const text = await runCli(['info', file]);
    const json = await runCli(['info', '--json', file]);
    for (const r of [text, json]) assert.equal(r.code, 0, r.stderr);
    const printed = /^magnet: +(\S+)$/m.exec(text.stdout)?.[1];
    assert.ok(printed !== undefined, text.stdout.slice(0, 500));
    assert.equal((JSON.parse(json.stdout) as { magnet: string }).magnet, printed);
    assert.ok(printed.length <= MAX_MAGNET_LENGTH, `${printed.length} characters`);
    const m = parseMagnet(printed);
    assert.ok(m.trackers.length > 0 && m.trackers.length < MAX_TRACKERS, `${m.trackers.length} trackers`);
    assert.deepEqual(m.trackers, trackers.slice(0, m.trackers.length));
    const note =
      `bitstate info: the magnet link leaves out its last ${MAX_TRACKERS - m.trackers.length} tracker URLs ` +
      `and its last 10 web seeds: with them it would be longer than ${MAX_MAGNET_LENGTH} characters, ` +
      'the longest magnet link bitstate reads\n';
    for (const r of [text, json]) assert.equal(r.stderr, note);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
