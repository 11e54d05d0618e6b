/**
 * The Diffie-Hellman half of Message Stream Encryption: each side's key pair and the shared secret S
 * (768-bit prime P, generator 2, 160-bit private keys as the spec and aria2 use; public keys and S
 * are sent and hashed as exactly 96 big-endian bytes).
 *
 * Cost, measured here (docs/encryption.md): a key pair and a secret together ~0.13 ms of the main
 * thread, once per MSE connection.
 */
import { createDiffieHellman, type DiffieHellman, randomBytes } from 'node:crypto';
import { MseError } from './mse-error.js';

const PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD' +
    'EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
);
/** Ya, Yb and S on the wire: 768 bits. */
export const MSE_KEY_BYTES = 96;

/**
 * One DiffieHellman object for every connection: making one checks the prime, ~19 ms of the main
 * thread (measured), while a key pair from a private key of our own is ~0.05 ms. Each use sets its
 * connection's private key first (the calls are synchronous, so connections never interleave).
 */
let group: DiffieHellman | undefined;
function dhWith(privateKey: Uint8Array): DiffieHellman {
  group ??= createDiffieHellman(PRIME, 2);
  group.setPrivateKey(privateKey);
  return group;
}

/** A big-endian number as exactly `n` bytes (DH values may have leading zeros dropped). */
function fixed(bytes: Uint8Array, n: number): Uint8Array {
  if (bytes.length === n) return bytes;
  const out = new Uint8Array(n);
  out.set(bytes.subarray(Math.max(0, bytes.length - n)), Math.max(0, n - bytes.length));
  return out;
}

/** One side's key pair. */
export class MseKeyPair {
  readonly #privateKey = randomBytes(20);
  /** Our Ya or Yb, 96 bytes. */
  readonly publicKey: Uint8Array;

  constructor() {
    const dh = dhWith(this.#privateKey);
    dh.generateKeys(); // with a private key set: only the public key is computed
    this.publicKey = fixed(dh.getPublicKey(), MSE_KEY_BYTES);
  }

  /** S from the other side's public key (its first 96 bytes); a key out of range is `mseBadKey`. */
  secret(theirs: Uint8Array): Uint8Array {
    try {
      return fixed(dhWith(this.#privateKey).computeSecret(theirs.subarray(0, MSE_KEY_BYTES)), MSE_KEY_BYTES);
    } catch (err) {
      throw new MseError('mseBadKey', `bad MSE public key: ${(err as Error).message}`);
    }
  }
}
