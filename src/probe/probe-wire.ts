/**
 * One probe connection's wire, shared by the fetching side (probe-connection.ts) and the serving
 * side (serving-connection.ts): the socket, what the target sends decoded and handed on in order,
 * who closed and at which step, the exchange of handshakes, and waits that end early when
 * something arrives or the connection closes and never run past the run's deadline.
 *
 * Bounded as the connections promise: the wire decoder's frame limits on what comes in, one timer
 * per wait (cleared when the wait ends early), the handshake wait ended by a close (Transmission
 * refuses a second connection from one IP by closing it) or by `timeoutMs`.
 */
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeHandshake, encodeMessage } from '../wire/encode-message.js';
import type { Handshake, WireItem, WireMessage } from '../wire/messages.js';
import { ourReservedBytes } from '../wire/reserved-bits.js';
import { WireDecoder } from '../wire/wire-decoder.js';
import type { WireError } from '../wire/wire-error.js';
import { probePeerId } from './probe-socket.js';

export interface ProbeWireHandlers {
  /** Each handshake or message the target sent, in order. */
  readonly item: (item: WireItem) => void;
  /** Its bytes did not decode: the wire closes after this. */
  readonly wireError: (err: WireError) => void;
  /** After each chunk was decoded without error (top up requests, send rejects…). */
  readonly afterChunk?: () => void;
}

export class ProbeWire {
  readonly socket: Socket;
  readonly #deadline: number;
  #closed = false;
  #closedBy: 'target' | 'probe' = 'probe';
  #closedAtStep: number | undefined;
  /** The script step being played (-1: the opening); a close by the target is dated with it. */
  step = -1;
  #wake: () => void = () => {};
  #onClosed: (v: undefined) => void = () => {};
  readonly #closedPromise = new Promise<undefined>((r) => {
    this.#onClosed = r;
  });
  #theirHandshake: (h: Handshake) => void = () => {};
  readonly #handshake = new Promise<Handshake>((r) => {
    this.#theirHandshake = r;
  });

  constructor(socket: Socket, deadline: number, on: ProbeWireHandlers) {
    this.socket = socket;
    this.#deadline = deadline;
    const decoder = new WireDecoder();
    const onItem = (item: WireItem) => {
      if (item.type === 'handshake') this.#theirHandshake(item);
      on.item(item);
    };
    socket.on('data', (chunk: Buffer) => {
      if (this.#closed) return;
      const err = decoder.push(new Uint8Array(chunk), onItem);
      if (err !== undefined) {
        on.wireError(err);
        this.finish('probe');
      } else on.afterChunk?.();
      this.#wake();
    });
    socket.on('close', () => this.finish('target'));
    socket.on('error', () => this.finish('target'));
  }

  get closed(): boolean {
    return this.#closed;
  }
  get closedBy(): 'target' | 'probe' {
    return this.#closedBy;
  }
  /** The step the target closed at (undefined: it did not close; the probe did). */
  get closedAtStep(): number | undefined {
    return this.#closedAtStep;
  }
  /** The run's deadline has passed: every wait returns at once. */
  get pastDeadline(): boolean {
    return Date.now() >= this.#deadline;
  }
  /** Resolves (with undefined) when the connection closes, whoever closes it. */
  get whenClosed(): Promise<undefined> {
    return this.#closedPromise;
  }

  /** Ends the wait in progress early, so that it checks its condition again (another connection moved). */
  wake(): void {
    this.#wake();
  }

  send(bytes: Uint8Array): void {
    if (!this.#closed) this.socket.write(bytes);
  }

  sendMessage(m: WireMessage): void {
    this.send(encodeMessage(m));
  }

  /** Closes the connection (idempotent); `target` dates the close with the current step. */
  finish(by: 'target' | 'probe'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closedBy = by;
    if (by === 'target') this.#closedAtStep = this.step;
    this.socket.destroy();
    this.#wake();
    this.#onClosed(undefined);
  }

  /** Sends our handshake (BEP 6 and BEP 10 bits) and waits for the target's: undefined if none came. */
  async exchangeHandshakes(infoHash: Uint8Array, timeoutMs: number): Promise<Handshake | undefined> {
    this.send(encodeHandshake({ reserved: ourReservedBytes(), infoHash, peerId: probePeerId() }));
    return Promise.race([this.#handshake, this.#closedPromise, sleep(timeoutMs, undefined, { ref: false })]);
  }

  /** Why `exchangeHandshakes` came back with none, for the `handshake.none` note. */
  whyNoHandshake(timeoutMs: number): string {
    return this.#closed
      ? 'it closed the connection without a handshake'
      : `no handshake within ${timeoutMs} ms`;
  }

  /** Waits up to `ms` (never past the run's deadline) or until `done()` holds or the wire closes. */
  async waitUntil(ms: number, done: () => boolean): Promise<void> {
    const end = Math.min(Date.now() + ms, this.#deadline);
    // One timer per wait, cleared when the wait ends early (not one per chunk that wakes it).
    const stop = new AbortController();
    const timeUp = sleep(Math.max(0, end - Date.now()), undefined, { ref: false, signal: stop.signal }).catch(
      () => {},
    );
    try {
      while (!this.#closed && !done() && Date.now() < end)
        await Promise.race([
          new Promise<void>((r) => {
            this.#wake = r;
          }),
          timeUp,
        ]);
    } finally {
      stop.abort();
    }
  }
}
