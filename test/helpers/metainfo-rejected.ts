/**
 * What a refused torrent must give: a MetainfoError with this `code`, naming this `field` (and,
 * when given, a message that matches), never another kind of error.
 */
import assert from 'node:assert/strict';
import { MetainfoError } from '../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';

export function rejected(bytes: Uint8Array, code: string, field: string, message?: RegExp): void {
  assert.throws(
    () => parseTorrent(bytes),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError, String(err));
      assert.equal(err.code, code, err.message);
      assert.equal(err.field, field, err.message);
      if (message !== undefined) assert.match(err.message, message);
      return true;
    },
  );
}
