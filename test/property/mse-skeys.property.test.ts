/**
 * The SKEY table of an MSE responder shared by many torrents (src/net/mse-skeys.ts): whatever the
 * torrents and the secret, the marker HASH('req2', SKEY) xor HASH('req3', S) an initiator sends
 * finds exactly its torrent's info-hash, a marker for any other hash finds nothing, and a hash
 * deleted is found no more. Then whole handshakes, initiator (mse-initiator.ts) against a responder
 * holding N torrents' table: the responder names the initiator's torrent and its RC4 streams carry
 * the handshake; an initiator asking for a torrent not in the table is refused (`mseWrongTorrent`).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { torrentMarker } from '../../src/net/mse-crypto.js';
import { MseError } from '../../src/net/mse-error.js';
import { MseInitiator } from '../../src/net/mse-initiator.js';
import { MseResponder } from '../../src/net/mse-responder.js';
import { MseSkeys } from '../../src/net/mse-skeys.js';

const hash20 = fc.uint8Array({ minLength: 20, maxLength: 20 });
const HANDSHAKE = Uint8Array.from({ length: 68 }, (_, i) => (i * 31 + 7) & 255);
const eq = (a: Uint8Array | undefined, b: Uint8Array) =>
  a !== undefined && Buffer.from(a).equals(Buffer.from(b));

test('the marker of any torrent in the table finds that torrent; any other finds none; a deleted one none', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(hash20, {
        minLength: 1,
        maxLength: 300,
        selector: (h) => Buffer.from(h).toString('hex'),
      }),
      fc.uint8Array({ minLength: 96, maxLength: 96 }),
      fc.nat(),
      hash20,
      (hashes, secret, pick, stranger) => {
        const skeys = new MseSkeys(hashes);
        assert.equal(skeys.size, hashes.length);
        const named = hashes[pick % hashes.length]!;
        assert.ok(eq(skeys.find(torrentMarker(secret, named), secret), named), 'its torrent');
        if (!hashes.some((h) => eq(h, stranger)))
          assert.equal(skeys.find(torrentMarker(secret, stranger), secret), undefined, 'not ours');
        skeys.delete(named);
        assert.equal(skeys.find(torrentMarker(secret, named), secret), undefined, 'deleted');
        assert.equal(skeys.size, hashes.length - 1);
      },
    ),
    { numRuns: 200 },
  );
});

/** A whole MSE handshake (one read each way), `asked` named by the initiator, the responder holding `skeys`. */
function handshake(asked: Uint8Array, skeys: MseSkeys) {
  const a = new MseInitiator(asked, 'required');
  const b = new MseResponder(skeys, 'required');
  const toB = Buffer.concat([a.opening(), ...a.setInitialPayload(HANDSHAKE)]);
  const first = b.push(toB);
  const toA = a.push(Buffer.concat(first.send));
  assert.ok(toA.done === undefined || toA.send.length === 0);
  const second = b.push(Buffer.concat(toA.send));
  return { b, done: second.done, a: a.push(Buffer.concat(second.send)).done };
}

test('a responder with N torrents answers a handshake for any of them, with that torrent; for none of them, refuses', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(hash20, {
        minLength: 1,
        maxLength: 200,
        selector: (h) => Buffer.from(h).toString('hex'),
      }),
      fc.nat(),
      hash20,
      (hashes, pick, stranger) => {
        const skeys = new MseSkeys(hashes);
        const asked = hashes[pick % hashes.length]!;
        const { b, done, a } = handshake(asked, skeys);
        assert.ok(eq(b.infoHash, asked), 'the torrent the initiator asked for');
        assert.equal(done?.encryption, 'rc4');
        assert.deepEqual(
          done?.rest,
          HANDSHAKE,
          'its BitTorrent handshake, decrypted with that torrent’s keys',
        );
        assert.equal(a?.encryption, 'rc4');
        if (hashes.some((h) => eq(h, stranger))) return;
        assert.throws(
          () => handshake(stranger, skeys),
          (err: unknown) => err instanceof MseError && err.code === 'mseWrongTorrent',
        );
      },
    ),
    { numRuns: 60 },
  );
});
