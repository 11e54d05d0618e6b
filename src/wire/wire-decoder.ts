/**
 * The push decoder of the peer wire protocol: bytes in, handshake and messages out. No RxJS, no
 * I/O; `parseWire()` wraps it as an operator.
 *
 * Framing (BEP 3): a 68-byte handshake, then `<len:4><id:1><payload:len-1>` frames, len 0 being a
 * keep-alive. Memory and time are bounded whatever the chunking:
 * - every input byte is copied at most once (`stats().bytesCopied <= stats().bytesIn`): a frame that
 *   lies whole inside one chunk is decoded in place and its block/bitfield/payload are views into the
 *   chunk; a frame split across chunks is copied once into a buffer of exactly its length,
 *   allocated when its first byte (the id) arrives, after its length was checked;
 * - the frame limit is checked on the 4 length bytes, before anything of that size exists, and the
 *   per-message length on the id byte, before the frame buffer is allocated.
 *
 * A chunk handed to `push` must not be reused by the caller afterwards: emitted messages may view it.
 * Nothing a peer sends makes `push` throw: bad input is returned as a `WireError`, after the messages
 * that preceded it were emitted; the decoder then stays failed.
 */
import {
  HASH_LENGTH,
  HASH_REQUEST_FRAME_LENGTH,
  MAX_BITFIELD_FRAME_LENGTH,
  MAX_FRAME_LENGTH,
  MAX_HASHES_FRAME_LENGTH,
  MAX_PIECE_FRAME_LENGTH,
} from './limits.js';
import {
  HANDSHAKE_LENGTH,
  type HashRange,
  MessageId,
  PROTOCOL_NAME,
  type WireItem,
  type WireMessage,
} from './messages.js';
import { type LengthBound, WireError } from './wire-error.js';

export interface WireDecoderOptions {
  /** Read the 68-byte handshake first (default true). False: the stream starts with frames. */
  readonly expectHandshake?: boolean;
  /** The largest frame accepted (default `MAX_FRAME_LENGTH`); it also caps the per-message limits. */
  readonly maxFrameLength?: number;
  /**
   * Frames split across chunks are assembled in one buffer the decoder keeps and reuses (up to
   * REUSED_FRAME_BYTES; larger ones get their own), instead of a fresh one each: the caller then
   * treats what such a frame's message views like the chunk itself, copying what it keeps before
   * the next `push` (see `reusedFrameBuffer`). For a connection that copies every block anyway.
   */
  readonly reuseFrames?: boolean;
}

/** The reused frame buffer's size: the largest piece frame (a 16 KiB block). */
export const REUSED_FRAME_BYTES = MAX_PIECE_FRAME_LENGTH;

export interface WireDecoderStats {
  /** Bytes pushed. */
  readonly bytesIn: number;
  /** Bytes copied out of pushed chunks into the decoder's own buffers (never more than `bytesIn`). */
  readonly bytesCopied: number;
  /** Handshakes and messages emitted. */
  readonly items: number;
  /** Bytes of the frame buffer held right now (0 between frames). */
  readonly bufferedCapacity: number;
}

export type WireEmit = (item: WireItem) => void;

/** Where the decoder stands: reading the handshake, a length prefix, a frame's id, a frame's body; or done. */
const State = { Handshake: 0, Length: 1, Id: 2, Body: 3, Failed: 4, Disposed: 5 } as const;
type State = (typeof State)[keyof typeof State];

const PSTR = new TextEncoder().encode(PROTOCOL_NAME);

/** The required frame length of each fixed-size message id, -1 for variable or unknown ids. */
const FIXED_LENGTH = new Int32Array(256).fill(-1);
for (const id of [
  MessageId.choke,
  MessageId.unchoke,
  MessageId.interested,
  MessageId.notInterested,
  MessageId.haveAll,
  MessageId.haveNone,
])
  FIXED_LENGTH[id] = 1;
for (const id of [MessageId.have, MessageId.suggest, MessageId.allowedFast]) FIXED_LENGTH[id] = 5;
for (const id of [MessageId.request, MessageId.cancel, MessageId.reject]) FIXED_LENGTH[id] = 13;
FIXED_LENGTH[MessageId.port] = 3;
FIXED_LENGTH[MessageId.hashRequest] = HASH_REQUEST_FRAME_LENGTH;
FIXED_LENGTH[MessageId.hashReject] = HASH_REQUEST_FRAME_LENGTH;

// Messages without a payload are shared, immutable objects: nothing to allocate per message.
const KEEP_ALIVE: WireMessage = Object.freeze({ type: 'keepAlive' });
const CHOKE: WireMessage = Object.freeze({ type: 'choke' });
const UNCHOKE: WireMessage = Object.freeze({ type: 'unchoke' });
const INTERESTED: WireMessage = Object.freeze({ type: 'interested' });
const NOT_INTERESTED: WireMessage = Object.freeze({ type: 'notInterested' });
const HAVE_ALL: WireMessage = Object.freeze({ type: 'haveAll' });
const HAVE_NONE: WireMessage = Object.freeze({ type: 'haveNone' });

export class WireDecoder {
  readonly #maxFrame: number;
  readonly #maxPieceFrame: number;
  readonly #maxBitfieldFrame: number;
  readonly #maxHashesFrame: number;
  #state: State;
  #error: WireError | undefined;
  /** Handshake bytes, or the 4 length bytes when they arrive split. */
  #head: Uint8Array;
  #headHave = 0;
  /** The current frame's length (id + payload) once its prefix was read. */
  #frameLength = 0;
  #frame: Uint8Array | undefined;
  /** With `reuseFrames`: the one buffer split frames are assembled in. */
  readonly #reused: Uint8Array | undefined;
  #frameHave = 0;
  #bytesIn = 0;
  #bytesCopied = 0;
  #items = 0;

  constructor(opts: WireDecoderOptions = {}) {
    const max = opts.maxFrameLength ?? MAX_FRAME_LENGTH;
    if (!Number.isSafeInteger(max) || max < 1 || max > 0xffffffff)
      throw new RangeError(`maxFrameLength ${max} must be an integer from 1 to 2^32-1`);
    this.#maxFrame = max;
    this.#maxPieceFrame = Math.min(max, MAX_PIECE_FRAME_LENGTH);
    this.#maxBitfieldFrame = Math.min(max, MAX_BITFIELD_FRAME_LENGTH);
    this.#maxHashesFrame = Math.min(max, MAX_HASHES_FRAME_LENGTH);
    this.#reused = opts.reuseFrames === true ? new Uint8Array(REUSED_FRAME_BYTES) : undefined;
    const handshake = opts.expectHandshake ?? true;
    this.#state = handshake ? State.Handshake : State.Length;
    this.#head = new Uint8Array(handshake ? HANDSHAKE_LENGTH : 4);
  }

  /** With `reuseFrames`: the memory of the reused frame buffer (messages viewing it are transient). */
  get reusedFrameBuffer(): ArrayBufferLike | undefined {
    return this.#reused?.buffer;
  }

  /**
   * Decodes `chunk`, calling `emit` for each handshake/message completed, in order. Returns the
   * error that ends the stream, if any (again on every later call); `undefined` otherwise.
   */
  push(chunk: Uint8Array, emit: WireEmit): WireError | undefined {
    if (this.#state >= State.Failed) return this.#error;
    this.#bytesIn += chunk.length;
    const end = chunk.length;
    let pos = 0;
    while (pos < end) {
      if (this.#state === State.Length) {
        let len: number;
        if (this.#headHave === 0 && end - pos >= 4) {
          len = readU32(chunk, pos);
          pos += 4;
        } else {
          while (this.#headHave < 4 && pos < end) {
            this.#head[this.#headHave++] = chunk[pos++]!;
            this.#bytesCopied++;
          }
          if (this.#headHave < 4) break;
          this.#headHave = 0;
          len = readU32(this.#head, 0);
        }
        if (len === 0) {
          this.#emit(emit, KEEP_ALIVE);
          if (this.#stopped()) return undefined;
          continue;
        }
        if (len > this.#maxFrame)
          return this.#fail(new WireError('frameTooLong', { received: len, limit: this.#maxFrame }));
        this.#frameLength = len;
        this.#state = State.Id;
        continue;
      }
      if (this.#state === State.Id) {
        const len = this.#frameLength;
        const id = chunk[pos]!;
        const bad = this.#checkLength(id, len);
        if (bad !== undefined) return this.#fail(bad);
        if (end - pos >= len) {
          // The whole frame is in this chunk: decode in place, payloads are views.
          this.#state = State.Length;
          this.#emit(emit, decodeFrame(chunk, pos, len));
          pos += len;
          if (this.#stopped()) return undefined;
          continue;
        }
        const frame =
          this.#reused !== undefined && len <= this.#reused.length
            ? this.#reused.subarray(0, len)
            : new Uint8Array(len);
        frame.set(chunk.subarray(pos, end), 0);
        this.#bytesCopied += end - pos;
        this.#frame = frame;
        this.#frameHave = end - pos;
        this.#state = State.Body;
        break;
      }
      if (this.#state === State.Body) {
        const frame = this.#frame!;
        const n = Math.min(this.#frameLength - this.#frameHave, end - pos);
        // A few bytes at a time (a slow or hostile peer): a plain loop beats creating a subarray.
        if (n < 64) for (let i = 0; i < n; i++) frame[this.#frameHave + i] = chunk[pos + i]!;
        else frame.set(chunk.subarray(pos, pos + n), this.#frameHave);
        this.#bytesCopied += n;
        this.#frameHave += n;
        pos += n;
        if (this.#frameHave < this.#frameLength) break;
        this.#frame = undefined;
        this.#frameHave = 0;
        this.#state = State.Length;
        this.#emit(emit, decodeFrame(frame, 0, frame.length));
        if (this.#stopped()) return undefined;
        continue;
      }
      // State.Handshake: BEP 3's 68 bytes, checked byte by byte so a non-BitTorrent stream fails at once.
      while (this.#headHave < HANDSHAKE_LENGTH && pos < end) {
        const b = chunk[pos++]!;
        const at = this.#headHave++;
        this.#head[at] = b;
        this.#bytesCopied++;
        if (at === 0 ? b !== PSTR.length : at <= PSTR.length && b !== PSTR[at - 1])
          return this.#fail(
            new WireError('badProtocolName', {
              received: this.#head[0]!,
              limit: PSTR.length,
              bound: 'exact',
            }),
          );
      }
      if (this.#headHave < HANDSHAKE_LENGTH) break;
      const hs = this.#head;
      this.#head = new Uint8Array(4);
      this.#headHave = 0;
      this.#state = State.Length;
      this.#emit(emit, {
        type: 'handshake',
        reserved: hs.subarray(20, 28),
        infoHash: hs.subarray(28, 48),
        peerId: hs.subarray(48, 68),
      });
      if (this.#stopped()) return undefined;
    }
    return undefined;
  }

  /**
   * The source ended: returns a `truncated` error when it stopped inside the handshake or a frame,
   * `undefined` at a clean boundary (or the earlier error). Releases the buffers either way.
   */
  end(): WireError | undefined {
    if (this.#state >= State.Failed) return this.#error;
    let err: WireError | undefined;
    if (this.#state === State.Handshake && this.#headHave > 0)
      err = new WireError('truncated', { received: this.#headHave, limit: HANDSHAKE_LENGTH, bound: 'exact' });
    else if (this.#state === State.Length && this.#headHave > 0)
      err = new WireError('truncated', { received: this.#headHave, limit: 4, bound: 'exact' });
    else if (this.#state === State.Id)
      err = new WireError('truncated', { received: 4, limit: 4 + this.#frameLength, bound: 'exact' });
    else if (this.#state === State.Body)
      err = new WireError('truncated', {
        received: 4 + this.#frameHave,
        limit: 4 + this.#frameLength,
        messageId: this.#frame![0],
        bound: 'exact',
      });
    if (err) return this.#fail(err);
    this.dispose();
    return undefined;
  }

  /** Drops the buffers; later pushes do nothing. Safe to call from inside `emit` (decoding stops). */
  dispose(): void {
    if (this.#state !== State.Failed) this.#state = State.Disposed;
    this.#frame = undefined;
    this.#head = new Uint8Array(0);
  }

  stats(): WireDecoderStats {
    return {
      bytesIn: this.#bytesIn,
      bytesCopied: this.#bytesCopied,
      items: this.#items,
      bufferedCapacity: this.#frame?.length ?? 0,
    };
  }

  /** True when `emit` disposed of the decoder (e.g. the subscriber unsubscribed). */
  #stopped(): boolean {
    return this.#state === State.Disposed;
  }

  #emit(emit: WireEmit, item: WireItem): void {
    this.#items++;
    emit(item);
  }

  #fail(err: WireError): WireError {
    this.dispose();
    this.#state = State.Failed;
    this.#error = err;
    return err;
  }

  /** Checks a frame's length against its id's rule (called before the frame is buffered). */
  #checkLength(id: number, len: number): WireError | undefined {
    const fixed = FIXED_LENGTH[id]!;
    if (fixed >= 0) return len === fixed ? undefined : badLength(id, len, fixed, 'exact');
    if (id === MessageId.piece) {
      if (len < 9) return badLength(id, len, 9, 'min');
      if (len > this.#maxPieceFrame) return badLength(id, len, this.#maxPieceFrame, 'max');
    } else if (id === MessageId.bitfield) {
      if (len > this.#maxBitfieldFrame) return badLength(id, len, this.#maxBitfieldFrame, 'max');
    } else if (id === MessageId.extended) {
      if (len < 2) return badLength(id, len, 2, 'min');
    } else if (id === MessageId.hashes) {
      if (len < HASH_REQUEST_FRAME_LENGTH) return badLength(id, len, HASH_REQUEST_FRAME_LENGTH, 'min');
      if (len > this.#maxHashesFrame) return badLength(id, len, this.#maxHashesFrame, 'max');
      if ((len - HASH_REQUEST_FRAME_LENGTH) % HASH_LENGTH !== 0)
        return badLength(id, len, HASH_LENGTH, 'multiple');
    }
    return undefined;
  }
}

function badLength(messageId: number, received: number, limit: number, bound: LengthBound) {
  return new WireError('badMessageLength', { received, limit, messageId, bound });
}

function readU32(b: Uint8Array, at: number): number {
  return b[at]! * 0x1000000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
}

/** BEP 52's 48 bytes at `at`: <pieces root:32><base layer><index><length><proof layers>. */
function hashRange(b: Uint8Array, at: number): HashRange {
  return {
    piecesRoot: b.subarray(at, at + 32),
    baseLayer: readU32(b, at + 32),
    index: readU32(b, at + 36),
    length: readU32(b, at + 40),
    proofLayers: readU32(b, at + 44),
  };
}

/** Decodes one frame `b[at .. at+len)` (id first) whose length was already checked. */
function decodeFrame(b: Uint8Array, at: number, len: number): WireMessage {
  const id = b[at]!;
  switch (id) {
    case MessageId.choke:
      return CHOKE;
    case MessageId.unchoke:
      return UNCHOKE;
    case MessageId.interested:
      return INTERESTED;
    case MessageId.notInterested:
      return NOT_INTERESTED;
    case MessageId.haveAll:
      return HAVE_ALL;
    case MessageId.haveNone:
      return HAVE_NONE;
    case MessageId.have:
      return { type: 'have', index: readU32(b, at + 1) };
    case MessageId.suggest:
      return { type: 'suggest', index: readU32(b, at + 1) };
    case MessageId.allowedFast:
      return { type: 'allowedFast', index: readU32(b, at + 1) };
    case MessageId.request:
      return {
        type: 'request',
        index: readU32(b, at + 1),
        begin: readU32(b, at + 5),
        length: readU32(b, at + 9),
      };
    case MessageId.cancel:
      return {
        type: 'cancel',
        index: readU32(b, at + 1),
        begin: readU32(b, at + 5),
        length: readU32(b, at + 9),
      };
    case MessageId.reject:
      return {
        type: 'reject',
        index: readU32(b, at + 1),
        begin: readU32(b, at + 5),
        length: readU32(b, at + 9),
      };
    case MessageId.port:
      return { type: 'port', port: (b[at + 1]! << 8) | b[at + 2]! };
    case MessageId.bitfield:
      return { type: 'bitfield', bitfield: b.subarray(at + 1, at + len) };
    case MessageId.piece:
      return {
        type: 'piece',
        index: readU32(b, at + 1),
        begin: readU32(b, at + 5),
        block: b.subarray(at + 9, at + len),
      };
    case MessageId.extended:
      return { type: 'extended', extendedId: b[at + 1]!, payload: b.subarray(at + 2, at + len) };
    case MessageId.hashRequest:
      return { type: 'hashRequest', ...hashRange(b, at + 1) };
    case MessageId.hashes:
      return {
        type: 'hashes',
        ...hashRange(b, at + 1),
        hashes: b.subarray(at + HASH_REQUEST_FRAME_LENGTH, at + len),
      };
    case MessageId.hashReject:
      return { type: 'hashReject', ...hashRange(b, at + 1) };
    default:
      // BEP 3: a message id we do not know is ignored; the peer machine decides what that means.
      return { type: 'unknown', id, payload: b.subarray(at + 1, at + len) };
  }
}
