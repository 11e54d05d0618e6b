/**
 * announce_peer tokens (BEP 5): get_peers answers with a token tied to the asker's IP; only an
 * announce_peer from that IP with that token is stored. The token is SHA-1(secret ‖ ip), cut to
 * TOKEN_BYTES; the secret changes every TOKEN_ROTATE_MS and the previous one is still accepted, so
 * a token is good for 5 to 10 minutes (BEP 5: "up to ten minutes").
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_ROTATE_MS = 5 * 60_000;
export const TOKEN_BYTES = 8;

export class TokenSecrets {
  #current: Uint8Array = randomBytes(16);
  #previous: Uint8Array = randomBytes(16);
  #rotatedAt: number;
  constructor(now: number) {
    this.#rotatedAt = now;
  }

  #rotate(now: number): void {
    // After a long sleep both secrets are stale: two rotations.
    while (now - this.#rotatedAt >= TOKEN_ROTATE_MS) {
      this.#previous = this.#current;
      this.#current = randomBytes(16);
      this.#rotatedAt += TOKEN_ROTATE_MS;
      if (now - this.#rotatedAt >= 2 * TOKEN_ROTATE_MS) this.#rotatedAt = now - TOKEN_ROTATE_MS;
    }
  }

  tokenFor(ip: string, now: number): Uint8Array {
    this.#rotate(now);
    return make(this.#current, ip);
  }

  isValid(token: Uint8Array, ip: string, now: number): boolean {
    this.#rotate(now);
    return equal(token, make(this.#current, ip)) || equal(token, make(this.#previous, ip));
  }
}

function make(secret: Uint8Array, ip: string): Uint8Array {
  return new Uint8Array(createHash('sha1').update(secret).update(ip).digest().subarray(0, TOKEN_BYTES));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
