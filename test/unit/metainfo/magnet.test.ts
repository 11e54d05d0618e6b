import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { MAX_TRACKERS, MAX_WEB_SEEDS } from '../../../src/metainfo/limits.js';
import { parseMagnet } from '../../../src/metainfo/magnet.js';
import { MetainfoError } from '../../../src/metainfo/metainfo-error.js';

const hash = createHash('sha1').update('bitstate').digest();
const hex = hash.toString('hex');

/** RFC 4648 base32 through a bit string: a different route from the decoder under test. */
function base32(bytes: Uint8Array): string {
  const bits = [...bytes].map((x) => x.toString(2).padStart(8, '0')).join('');
  return bits.replace(/.{5}/g, (g) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[Number.parseInt(g, 2)]!);
}

function rejects(uri: string, field: string | undefined, code = 'bad-magnet'): void {
  assert.throws(
    () => parseMagnet(uri),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError, String(err));
      assert.equal(err.code, code, err.message);
      assert.equal(err.field, field, err.message);
      assert.equal(err.badInput, true);
      return true;
    },
  );
}

test('hex info-hash, name, several trackers and peers', () => {
  const m = parseMagnet(
    `magnet:?xt=urn:btih:${hex.toUpperCase()}&dn=My+File%20%C3%A9&tr=http%3A%2F%2F127.0.0.1%3A6969%2Fannounce` +
      '&tr.1=udp://127.0.0.1:6969&tr=udp://127.0.0.1:6969&x.pe=127.0.0.1:6881&x.pe=[::1]:51413',
  );
  assert.equal(m.infoHashHex, hex);
  assert.deepEqual([...m.infoHash], [...hash]);
  assert.equal(m.name, 'My File é');
  assert.deepEqual(m.trackers, ['http://127.0.0.1:6969/announce', 'udp://127.0.0.1:6969']);
  assert.deepEqual(m.peers, [
    { host: '127.0.0.1', port: 6881 },
    { host: '::1', port: 51413 },
  ]);
});

test('ws= web seeds (BEP 19): decoded, in order, each once, numbered keys too, at most MAX_WEB_SEEDS', () => {
  const m = parseMagnet(
    `magnet:?xt=urn:btih:${hex}&ws=http%3A%2F%2F127.0.0.1%3A8080%2Fa%20b&ws.1=https://h/x/&ws=` +
      '&ws=http://127.0.0.1:8080/a%20b',
  );
  assert.deepEqual(m.webSeeds, ['http://127.0.0.1:8080/a b', 'https://h/x/']);
  assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${hex}`).webSeeds, []);
  const many = Array.from({ length: MAX_WEB_SEEDS + 5 }, (_, i) => `&ws=http://h/${i}`).join('');
  const capped = parseMagnet(`magnet:?xt=urn:btih:${hex}${many}`).webSeeds;
  assert.equal(capped.length, MAX_WEB_SEEDS);
  assert.equal(capped[MAX_WEB_SEEDS - 1], `http://h/${MAX_WEB_SEEDS - 1}`);
});

test('base32 info-hash (upper and lower case), no name, a v2 btmh alongside: a hybrid link of the v1 swarm', () => {
  const b32 = base32(hash);
  assert.equal(b32.length, 32);
  for (const form of [b32, b32.toLowerCase()]) {
    const m = parseMagnet(`magnet:?xt=urn:btmh:1220${'00'.repeat(32)}&xt=urn:btih:${form}`);
    assert.equal(m.infoHashHex, hex);
    assert.equal(m.version, 'hybrid');
    assert.deepEqual(m.infoHashV2, new Uint8Array(32));
    assert.equal(m.name, undefined);
    assert.deepEqual(m.trackers, []);
  }
});

test('a urn:btmh: alone is a v2 magnet: its swarm is the SHA-256 cut to 20 bytes, the whole kept to check', () => {
  const v2 = createHash('sha256').update('bitstate').digest();
  for (const digits of [v2.toString('hex'), v2.toString('hex').toUpperCase()]) {
    const m = parseMagnet(`magnet:?xt=urn:btmh:1220${digits}&x.pe=127.0.0.1:6881&dn=v2`);
    assert.equal(m.version, 'v2');
    assert.deepEqual(Buffer.from(m.infoHashV2!), v2);
    assert.deepEqual(Buffer.from(m.infoHash), v2.subarray(0, 20));
    assert.equal(m.infoHashHex, v2.subarray(0, 20).toString('hex'));
    assert.deepEqual(m.peers, [{ host: '127.0.0.1', port: 6881 }]);
  }
  // Repeated, the same one: one v2 info-hash. A btih alone stays v1.
  assert.equal(
    parseMagnet(`magnet:?xt=urn:btmh:1220${v2.toString('hex')}&xt.1=urn:btmh:1220${v2.toString('hex')}`)
      .version,
    'v2',
  );
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${hex}`).version, 'v1');
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${hex}`).infoHashV2, undefined);
});

test('a malformed urn:btmh: is refused, naming xt: another multihash, a wrong length, not hex, two of them', () => {
  const v2 = 'ab'.repeat(32);
  rejects(`magnet:?xt=urn:btmh:1114${v2}`, 'xt'); // SHA-1 multihash: not BEP 52's
  rejects(`magnet:?xt=urn:btmh:1221${v2}00`, 'xt'); // length byte says 33
  rejects(`magnet:?xt=urn:btmh:1220${v2.slice(2)}`, 'xt'); // 31 bytes
  rejects(`magnet:?xt=urn:btmh:1220${v2}ab`, 'xt'); // 33 bytes
  rejects(`magnet:?xt=urn:btmh:1220${v2.slice(1)}g`, 'xt');
  rejects('magnet:?xt=urn:btmh:', 'xt');
  rejects(`magnet:?xt=urn:btmh:1220${v2}&xt=urn:btmh:1220${'cd'.repeat(32)}`, 'xt');
  rejects(`magnet:?xt=urn:btih:${hex}&xt=urn:btmh:12${v2}`, 'xt');
});

test('rejections name their field', () => {
  rejects('http://example.com/?xt=urn:btih:' + hex, undefined);
  rejects('magnet:?dn=x', 'xt');
  rejects(`magnet:?xt=urn:btih:${hex.slice(1)}`, 'xt');
  rejects(`magnet:?xt=urn:btih:${hex.slice(0, 39)}g`, 'xt');
  rejects(`magnet:?xt=urn:btih:${base32(hash).slice(0, 31)}1`, 'xt');
  rejects(`magnet:?xt=urn:btih:${hex}&xt=urn:btih:${'0'.repeat(40)}`, 'xt');
  rejects(`magnet:?xt=urn:btih:${hex}&dn=%E0%A4%A`, 'dn');
  rejects(`magnet:?xt=urn:btih:${hex}&x.pe=127.0.0.1`, 'x.pe');
  rejects(`magnet:?xt=urn:btih:${hex}&x.pe=127.0.0.1:0`, 'x.pe');
  rejects(`magnet:?xt=urn:btih:${hex}&x.pe=127.0.0.1:65536`, 'x.pe');
  rejects(`magnet:?xt=urn:btih:${hex}&x.pe=::1:80`, 'x.pe');
  rejects(`magnet:?xt=urn:btih:${hex}&tr=${'a'.repeat(70_000)}`, undefined, 'limit-exceeded');
});

test('keeps at most MAX_TRACKERS distinct tr= (each is announced to while fetching)', () => {
  const trs = Array.from({ length: MAX_TRACKERS + 100 }, (_, i) => `&tr=http://127.0.0.1:${1000 + i}/a`);
  const m = parseMagnet(`magnet:?xt=urn:btih:${hex}&tr=http://127.0.0.1:1000/a${trs.join('')}`);
  assert.equal(m.trackers.length, MAX_TRACKERS);
  assert.equal(m.trackers[0], 'http://127.0.0.1:1000/a');
  assert.equal(m.trackers.at(-1), `http://127.0.0.1:${1000 + MAX_TRACKERS - 1}/a`);
});

test('so= (BEP 53, select only): file indexes and inclusive ranges, in order; several so= add up', () => {
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${hex}`).selectOnly, undefined, 'no so=: every file');
  assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${hex}&so=0,2,4-6`).selectOnly, [
    [0, 0],
    [2, 2],
    [4, 6],
  ]);
  // Percent-encoded commas (a link copied through a URL encoder), numbered keys, a second so=.
  assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${hex}&so=7%2C1-1&dn=x&so.1=3-9`).selectOnly, [
    [7, 7],
    [1, 1],
    [3, 9],
  ]);
  assert.deepEqual(parseMagnet(`magnet:?so=12&xt=urn:btih:${hex}`).selectOnly, [[12, 12]]);
});

test('a malformed so= is refused as a bad magnet naming so, not skipped into fetching every file', () => {
  for (const so of [
    '',
    'a',
    '1-',
    '-1',
    '3-1',
    '1,,2',
    '1,',
    ',1',
    '1-2-3',
    '0%202', // a space: --select takes it, libtorrent's so= does not
    '1+2',
    '1%2',
    '1234567890', // past --select's nine digits
  ])
    rejects(`magnet:?xt=urn:btih:${hex}&so=${so}`, 'so');
  // One bad so= among good ones spoils the link.
  rejects(`magnet:?xt=urn:btih:${hex}&so=1&so=x`, 'so');
});

// Case, as libtorrent 2.0.8's parse_magnet_uri reads it (checked with python3-libtorrent:
// `XT=`, `Dn=`, `X.PE=`, `WS=`, `SO=` taken; `xt=URN:BTIH:…` missing info-hash).

test('keys in any case are read, as libtorrent reads them (numbered ones too)', () => {
  const v2 = createHash('sha256').update('bitstate').digest('hex');
  const m = parseMagnet(
    `magnet:?XT=urn:btih:${hex}&Xt.2=urn:btmh:1220${v2}&DN=name&Tr=http://t/a&TR.1=http://t/b` +
      '&X.PE=127.0.0.1:6881&WS=http://w/&So=1,3-4',
  );
  assert.equal(m.infoHashHex, hex);
  assert.equal(m.version, 'hybrid');
  assert.equal(m.name, 'name');
  assert.deepEqual(m.trackers, ['http://t/a', 'http://t/b']);
  assert.deepEqual(m.peers, [{ host: '127.0.0.1', port: 6881 }]);
  assert.deepEqual(m.webSeeds, ['http://w/']);
  assert.deepEqual(m.selectOnly, [
    [1, 1],
    [3, 4],
  ]);
});

test('urn:btih: and urn:btmh: are read in lower case only, as libtorrent compares them', () => {
  for (const urn of ['URN:BTIH:', 'urn:BTIH:', 'Urn:btih:'])
    assert.throws(
      () => parseMagnet(`magnet:?xt=${urn}${hex}`),
      (err: unknown) =>
        err instanceof MetainfoError &&
        err.field === 'xt' &&
        err.message.includes(`"${urn}" is read in lower case only`),
    );
  const v2 = createHash('sha256').update('bitstate').digest('hex');
  rejects(`magnet:?xt=URN:BTMH:1220${v2}`, 'xt');
  // Beside a lower-case one, an upper-case urn is an xt it does not know: ignored.
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${hex}&xt=URN:BTIH:${'0'.repeat(40)}`).infoHashHex, hex);
});
