/**
 * The one read buffer every dialled socket of a connection with a block pool reads into (Node's
 * `onread`, tcp-connection.ts), and which bytes a decoded message may only borrow: views of it, or
 * of the wire decoder's reused frame, are overwritten by the next read, so whatever the machines
 * keep of them is copied first.
 */
import type { OnReadOpts } from 'node:net';
import type { WireItem } from '../wire/messages.js';

/**
 * Every dialled socket of a connection with a block pool reads into this one buffer (Node's
 * `onread`), up to 256 KiB at a time instead of a fresh 64 KiB chunk per read. It is shared: a read
 * is decoded at once, and whatever the machines keep of it (blocks, bitfields, payloads) is copied
 * out before the callback returns — nothing may hold a view of it after that.
 */
export const SHARED_READ_BYTES = 256 * 1024;
export const sharedReadBuffer = Buffer.allocUnsafeSlow(SHARED_READ_BYTES);

/**
 * `net.connect`'s options for a socket read into `buffer` (the shared one), each read handed to
 * `onData` as a view of it; none without a buffer (the socket then reads by 'data' or 'readable').
 */
export function readsInto(
  buffer: Uint8Array | undefined,
  onData: (chunk: Uint8Array) => void,
): { onread?: OnReadOpts } {
  if (buffer === undefined) return {};
  return {
    onread: {
      buffer,
      callback: (n: number, buf: Uint8Array) => {
        onData(buf.subarray(0, n));
        return true; // pausing is explicit (socket.pause), as with 'data'
      },
    },
  };
}

/** Bytes that are overwritten by the next read: views of the shared buffer or of `reused`. */
export function isTransient(bytes: Uint8Array, reused: ArrayBufferLike | undefined): boolean {
  return bytes.buffer === sharedReadBuffer.buffer || bytes.buffer === reused;
}

/** `item` with every byte field that is transient copied (rare messages only). */
export function ownBytes(item: WireItem, reused: ArrayBufferLike | undefined): WireItem {
  let copy: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(item))
    if (v instanceof Uint8Array && isTransient(v, reused)) {
      copy ??= { ...item };
      copy[k] = new Uint8Array(v); // not v.slice(): on a Buffer that is a view, not a copy
    }
  return (copy ?? item) as WireItem;
}
