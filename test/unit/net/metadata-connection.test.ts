/**
 * The connection a metadata fetch uses, against scripted servers on 127.0.0.1: it closes (with a
 * reason, never an exception) on a frame over METADATA_MAX_FRAME_LENGTH, on a flood of extension
 * messages, on a malformed ut_metadata message, and when the peer never offers ut_metadata.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { bencode } from '../../../src/metainfo/bencode.js';
import { METADATA_MAX_FRAME_LENGTH, openMetadataConnection } from '../../../src/net/metadata-connection.js';
import { encodeHandshake, encodeMessage } from '../../../src/wire/encode-message.js';

const INFO_HASH = new Uint8Array(20).fill(9);
const reserved = Uint8Array.of(0, 0, 0, 0, 0, 0x10, 0, 0);
const offer = encodeMessage({
  type: 'extended',
  extendedId: 0,
  payload: bencode({ m: { ut_metadata: 2 }, metadata_size: 10 }),
});

/** A peer that sends its handshake, then `after` once ours has come; the reason the fetch side closed. */
async function closeReason(after: (socket: Socket) => void, handshakeTimeoutMs = 10_000): Promise<string> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write(encodeHandshake({ reserved, infoHash: INFO_HASH, peerId: new Uint8Array(20) }));
      after(socket);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  try {
    return await new Promise<string>((resolve) => {
      openMetadataConnection(
        { host: '127.0.0.1', port },
        { infoHash: INFO_HASH, peerId: new Uint8Array(20).fill(1), handshakeTimeoutMs },
        { ready: () => {}, message: () => {}, closed: resolve },
      );
    });
  } finally {
    server.close();
  }
}

describe('metadata connection bounds', { timeout: 120_000 }, () => {
  it('closes on a frame longer than METADATA_MAX_FRAME_LENGTH', async () => {
    const prefix = Buffer.alloc(5);
    prefix.writeUInt32BE(METADATA_MAX_FRAME_LENGTH + 1);
    prefix[4] = 20;
    assert.match(await closeReason((s) => s.write(prefix)), /frame of 262146 bytes; the limit is 262145/);
  });

  it('closes on a flood of extension messages', async () => {
    const junk = encodeMessage({ type: 'extended', extendedId: 7, payload: new Uint8Array(1) });
    const flood = Buffer.concat(Array.from({ length: 5000 }, () => junk));
    assert.match(
      await closeReason((s) => s.write(Buffer.concat([offer, flood]))),
      /more than 2000 extension messages/,
    );
  });

  it('closes on a malformed ut_metadata message', async () => {
    const bad = encodeMessage({
      type: 'extended',
      extendedId: 1,
      payload: bencode({ msg_type: 1, piece: 0 }),
    });
    assert.match(await closeReason((s) => s.write(Buffer.concat([offer, bad]))), /total_size is missing/);
  });

  it('closes a peer that never offers ut_metadata', async () => {
    const plain = encodeMessage({ type: 'extended', extendedId: 0, payload: bencode({ m: {} }) });
    assert.equal(await closeReason((s) => s.write(plain)), 'no ut_metadata');
    assert.equal(await closeReason(() => {}, 300), 'no ut_metadata handshake in time');
  });
});
