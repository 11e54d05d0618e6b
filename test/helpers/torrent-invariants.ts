/**
 * What every Torrent parseTorrent accepts must satisfy, whatever bytes it came from (v1, v2, hybrid),
 * and the one other outcome allowed: a MetainfoError. Shared by the metainfo property tests.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MetainfoError } from '../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { pieceHashLength, type Torrent } from '../../src/metainfo/torrent.js';
import { checkPath } from '../../src/metainfo/torrent-path.js';

/** What every accepted Torrent must satisfy, whatever bytes it came from. */
export function assertInvariants(t: Torrent, input: Uint8Array): void {
  // v1 and hybrid: the SHA-1 of the info bytes; v2-only: their SHA-256 cut to 20 bytes (BEP 52).
  const sha256 = createHash('sha256').update(t.infoBytes).digest('hex');
  if (t.version === 'v1') assert.equal(t.infoHashV2, undefined);
  else assert.equal(Buffer.from(t.infoHashV2!).toString('hex'), sha256);
  assert.equal(
    t.infoHashHex,
    t.version === 'v2' ? sha256.slice(0, 40) : createHash('sha1').update(t.infoBytes).digest('hex'),
  );
  assert.equal(Buffer.from(t.infoHash).toString('hex'), t.infoHashHex);
  assert.ok(Buffer.from(input).includes(Buffer.from(t.infoBytes)), 'info bytes are a span of the input');
  assert.equal(t.pieces.length, t.pieceCount * pieceHashLength(t));
  // v2: every data file starts a piece (its padding, implicit, fills the rest of its last one).
  if (t.version === 'v2')
    for (const f of t.files) if (!f.padding && f.length > 0) assert.equal(f.offset % t.pieceLength, 0);
  assert.equal(t.pieceCount, Math.ceil(t.totalLength / t.pieceLength));
  assert.ok(t.totalLength > 0 && Number.isSafeInteger(t.totalLength));
  let offset = 0;
  for (const f of t.files) {
    assert.equal(f.offset, offset);
    assert.ok(Number.isSafeInteger(f.length) && f.length >= 0);
    checkPath(f.path, 'path');
    offset += f.length;
  }
  assert.equal(offset, t.totalLength);
  const real = t.files.filter((f) => !f.padding).map((f) => f.path.join('/'));
  assert.equal(new Set(real).size, real.length, 'no two files on one path');
}

export function acceptOrTyped(bytes: Uint8Array): Torrent | MetainfoError {
  try {
    return parseTorrent(bytes);
  } catch (err) {
    if (err instanceof MetainfoError) return err;
    throw err;
  }
}
