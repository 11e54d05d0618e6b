/**
 * `bitstate info` and magnet links: a .torrent's info prints its magnet link (text and --json), one
 * that names the same torrent; a magnet's info shows the files its so= selects (BEP 53).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { runCli } from '../../helpers/run-cli.js';

const HYBRID = fileURLToPath(
  new URL('../../fixtures/torrents/ok--libtorrent-hybrid-padding.torrent', import.meta.url),
);

test('info on a .torrent prints its magnet link, which names the same torrent', async () => {
  const t = parseTorrent(new Uint8Array(readFileSync(HYBRID)));
  const text = await runCli(['info', HYBRID]);
  assert.equal(text.code, 0, text.stderr);
  const link = /\nmagnet: +(magnet:\?\S+)\n/.exec(text.stdout)?.[1];
  assert.ok(link !== undefined, text.stdout);
  const m = parseMagnet(link);
  assert.deepEqual([m.infoHashHex, m.version, m.name], [t.infoHashHex, 'hybrid', t.name]);
  assert.deepEqual(m.infoHashV2, t.infoHashV2);
  const json = await runCli(['info', '--json', HYBRID]);
  assert.equal(json.code, 0, json.stderr);
  assert.equal((JSON.parse(json.stdout) as { magnet: string }).magnet, link);
});

test('info on a magnet link with so= shows the selected files, as text and as [from, to] ranges', async () => {
  const magnet = `magnet:?xt=urn:btih:${'e'.repeat(40)}&so=0,2,4-6&so=9`;
  const text = await runCli(['info', magnet]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /\nselect only: +0,2,4-6,9 \(BEP 53/);
  const json = await runCli(['info', '--json', magnet]);
  assert.deepEqual((JSON.parse(json.stdout) as { selectOnly: unknown }).selectOnly, [
    [0, 0],
    [2, 2],
    [4, 6],
    [9, 9],
  ]);
  const none = await runCli(['info', '--json', `magnet:?xt=urn:btih:${'e'.repeat(40)}`]);
  assert.equal('selectOnly' in (JSON.parse(none.stdout) as object), false, 'no so=: no selectOnly');
});
