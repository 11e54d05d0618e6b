/**
 * BEP 21 on the wire: libtorrent's upload_only extended message (one byte, 1 or 0) round-trips
 * through our encoder, the wire decoder and the connection's event making into `wire.uploadOnly`;
 * a payload other than one byte is ignored; the message is never dropped as redundant; and our
 * extension handshake's `upload_only` and `m.upload_only` read back as the peer machine's fields.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extensionHandshakePayload } from '../../../machines/peer-extension.js';
import { extensionHandshakeEvent, redundantMessage, wireEvent } from '../../../src/net/wire-events.js';
import { encodeMessage } from '../../../src/wire/encode-message.js';
import type { WireMessage } from '../../../src/wire/messages.js';
import { OUR_UPLOAD_ONLY_ID, uploadOnlyMessage } from '../../../src/wire/upload-only.js';
import { decodeBytes, toHex } from './wire-test-helpers.js';

const enc = (s: string) => new TextEncoder().encode(s);

test('the upload_only message is <len=3><20><id><0|1> and decodes back to wire.uploadOnly', () => {
  for (const uploadOnly of [true, false]) {
    // What we send a libtorrent peer (its id is 3), and what it sends us under our id (3 as well).
    const bytes = encodeMessage(uploadOnlyMessage(OUR_UPLOAD_ONLY_ID, uploadOnly) as WireMessage);
    assert.equal(toHex(bytes), `00000003140${OUR_UPLOAD_ONLY_ID}0${uploadOnly ? 1 : 0}`);
    const { items, error } = decodeBytes(bytes, 1, { expectHandshake: false });
    assert.equal(error, undefined);
    assert.equal(items.length, 1);
    assert.deepEqual(wireEvent(items[0]!), { type: 'wire.uploadOnly', uploadOnly });
  }
  // Any byte but 0 is upload only, as libtorrent reads it.
  const seven = { type: 'extended', extendedId: OUR_UPLOAD_ONLY_ID, payload: Uint8Array.of(7) } as const;
  assert.deepEqual(wireEvent(seven), { type: 'wire.uploadOnly', uploadOnly: true });
});

test('an upload_only message that is not one byte stays the ignored wire.extended', () => {
  for (const payload of [new Uint8Array(0), Uint8Array.of(1, 1)]) {
    const item = { type: 'extended', extendedId: OUR_UPLOAD_ONLY_ID, payload } as const;
    assert.equal(wireEvent(item).type, 'wire.extended');
  }
});

test('an upload_only message after other messages of the same read still reaches the machine', () => {
  const item = uploadOnlyMessage(OUR_UPLOAD_ONLY_ID, true);
  assert.equal(redundantMessage({ type: 'keepAlive' }, item), false);
  assert.equal(redundantMessage(item, item), false);
  // Another extension's id (one we do not read) is still dropped after another message.
  assert.equal(redundantMessage({ type: 'keepAlive' }, uploadOnlyMessage(9, true)), true);
});

test("our extension handshake's upload_only and m.upload_only read back as the peer machine's fields", () => {
  assert.deepEqual(extensionHandshakeEvent(extensionHandshakePayload(250, 6881, undefined, false, true)), {
    type: 'wire.extendedHandshake',
    reqq: 250,
    listenPort: 6881,
    uploadOnly: true,
    uploadOnlyId: OUR_UPLOAD_ONLY_ID,
  });
  assert.deepEqual(extensionHandshakeEvent(extensionHandshakePayload(250)), {
    type: 'wire.extendedHandshake',
    reqq: 250,
    uploadOnlyId: OUR_UPLOAD_ONLY_ID,
  });
  // upload_only 0 says nothing; an id past a byte is none; 0 is kept (the peer takes it no more).
  assert.deepEqual(extensionHandshakeEvent(enc('d1:md11:upload_onlyi0ee11:upload_onlyi0ee')), {
    type: 'wire.extendedHandshake',
    uploadOnlyId: 0,
  });
  assert.deepEqual(extensionHandshakeEvent(enc('d1:md11:upload_onlyi256ee11:upload_onlyi1ee')), {
    type: 'wire.extendedHandshake',
    uploadOnly: true,
  });
  assert.deepEqual(extensionHandshakeEvent(enc('d11:upload_only3:yese')), { type: 'wire.extendedHandshake' });
});
