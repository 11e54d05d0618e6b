/**
 * The start of an outgoing connection under the encryption policy (encryption-policy.ts): which
 * handshake each dial tries — plain, or Message Stream Encryption with our BitTorrent handshake as
 * its initial payload (mse-initiator.ts) — and whether a dial the peer closed unanswered is tried
 * once more the other way. No sockets here: the connection (tcp-connection.ts,
 * metadata-connection.ts) dials, writes what this returns and hands it what it reads until `done`.
 *
 * The retry: a peer that requires encryption closes a plain handshake without a byte (libtorrent
 * pe_forced, Transmission, aria2 --bt-require-crypto), and a peer without MSE closes our Ya. Under
 * `allowed` (plain first) and `preferred` (MSE first), such a close — connected, nothing received —
 * moves to the other handshake, once: attempts are a fixed list of at most two, so it never loops.
 * The address book sees one dial either way, and the last attempt's close is an ordinary close
 * (its back-off and reconnect rules apply).
 */
import { encodeHandshake } from '../wire/encode-message.js';
import type { Handshake } from '../wire/messages.js';
import { type Encryption, type EncryptionPolicy, outgoingAttempts } from './encryption-policy.js';
import type { MseResult } from './mse-crypto.js';
import { MseInitiator } from './mse-initiator.js';

/** An MSE handshake not done this long after the TCP connect fails (`mseTimeout`). */
export const MSE_HANDSHAKE_TIMEOUT_MS = 10_000;

export type PrefaceDone =
  | MseResult
  | { encryption: Extract<Encryption, 'none'>; rest: Uint8Array; ciphers?: undefined };

export class OutgoingPreface {
  readonly #infoHash: Uint8Array;
  readonly #policy: EncryptionPolicy;
  readonly #attempts: readonly ('plain' | 'mse')[];
  #attempt = 0;
  #answered = false;
  #handshake: Omit<Handshake, 'type'> | undefined;
  #initiator: MseInitiator | undefined;

  /** `mseFirst`: this address was last reached over MSE (encryption-policy.ts, outgoingAttempts). */
  constructor(infoHash: Uint8Array, policy: EncryptionPolicy, mseFirst = false) {
    this.#infoHash = infoHash;
    this.#policy = policy;
    this.#attempts = outgoingAttempts(policy, mseFirst);
  }

  /** The handshake this dial tries. */
  get kind(): 'plain' | 'mse' {
    return this.#attempts[this.#attempt]!;
  }

  /**
   * The dial connected: what to write first. MSE: Ya and PadA (and the third message's part, if IA is
   * known and Yb came: never yet). Plain: our handshake if it is known already (a retry, or a caller
   * that gave it before dialling); else the caller sends it when it has it.
   */
  connected(): Uint8Array[] {
    this.#initiator = undefined;
    if (this.kind === 'plain') return this.#handshake === undefined ? [] : [encodeHandshake(this.#handshake)];
    this.#initiator = new MseInitiator(this.#infoHash, this.#policy);
    const first = [this.#initiator.opening()];
    if (this.#handshake !== undefined)
      first.push(...this.#initiator.setInitialPayload(encodeHandshake(this.#handshake)));
    return first;
  }

  /**
   * Our BitTorrent handshake (kept for a retry): under MSE it becomes IA and the bytes to write are
   * returned (`inPreface`); plain, the caller sends it as any message.
   */
  handshake(h: Omit<Handshake, 'type'>): { inPreface: boolean; send: Uint8Array[] } {
    this.#handshake = h;
    const initiator = this.#initiator;
    if (initiator === undefined) return { inPreface: false, send: [] };
    return { inPreface: true, send: initiator.setInitialPayload(encodeHandshake(h)) };
  }

  /** Bytes from the peer: plain, they are the protocol's at once; MSE, the initiator's until done. Throws MseError. */
  push(chunk: Uint8Array): { send: Uint8Array[]; done?: PrefaceDone } {
    this.#answered = true;
    const initiator = this.#initiator;
    if (initiator === undefined) return { send: [], done: { encryption: 'none', rest: chunk } };
    return initiator.push(chunk);
  }

  /** The peer sent something on the current attempt's connection. */
  get answered(): boolean {
    return this.#answered;
  }

  /** A new transport (peer-dial.ts): the attempts start over, our handshake kept. */
  restart(): void {
    this.#attempt = 0;
    this.#answered = false;
    this.#initiator = undefined;
  }

  /**
   * The dial that connected closed: true (and the next attempt set) when the peer sent nothing and
   * the policy has another handshake to try; false when this close is the connection's end.
   */
  retry(): boolean {
    if (this.#answered || this.#attempt + 1 >= this.#attempts.length) return false;
    this.#attempt++;
    return true;
  }
}
