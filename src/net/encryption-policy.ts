/**
 * The encryption policy (`--encryption`, the `encryption` library option; docs/encryption.md): when
 * we start Message Stream Encryption, what we offer and what we select. Four modes, compared with
 * libtorrent's settings (out_enc_policy / in_enc_policy, allowed_enc_level, prefer_rc4):
 *
 * | mode      | outgoing                                          | incoming                                         |
 * | plaintext | plain handshake only                              | plain; MSE answered with plaintext, RC4-only refused |
 * | allowed   | plain first; closed unanswered → once MSE (0x03)  | plain; MSE: plaintext if offered, else RC4       |
 * | preferred | MSE (0x03) first; closed unanswered → once plain  | plain; MSE: RC4 if offered, else plaintext       |
 * | required  | MSE offering RC4 only (0x02), no fallback         | MSE with RC4 only; plain and plaintext-only refused |
 *
 * `allowed` is the default: plaintext costs nothing, and a peer that requires encryption is still
 * reached (libtorrent's pe_enabled falls back the other way, MSE first; aria2 too). `preferred` is
 * libtorrent's pe_enabled + allowed_enc_level pe_both + prefer_rc4: we offer both and, as the
 * responder, select RC4; as the initiator the responder chooses (libtorrent by default picks
 * plaintext when offered). `required` is pe_forced + pe_rc4 (Transmission `encryption: 2`, aria2
 * `--bt-require-crypto --bt-min-crypto-level=arc4`).
 */
import type { PeerEncryption } from '../../machines/peer.types.js';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4 } from './mse-crypto.js';

export const ENCRYPTION_POLICIES = ['plaintext', 'allowed', 'preferred', 'required'] as const;
export type EncryptionPolicy = (typeof ENCRYPTION_POLICIES)[number];
export const DEFAULT_ENCRYPTION_POLICY: EncryptionPolicy = 'allowed';

/** What a connection ended up using: MSE with RC4, MSE then plaintext, or no MSE at all. */
export type Encryption = PeerEncryption;

export function isEncryptionPolicy(value: string): value is EncryptionPolicy {
  return (ENCRYPTION_POLICIES as readonly string[]).includes(value);
}

/**
 * The handshakes an outgoing connection tries, in order: at most one retry, never a loop.
 * `mseFirst`: the address book remembers that this address was last reached over MSE
 * (machines/torrent-address-book.ts, libtorrent's pe_support), so `allowed` starts with MSE there
 * and spares the plain connect the peer would close; the other modes are as they are.
 */
export function outgoingAttempts(policy: EncryptionPolicy, mseFirst = false): readonly ('plain' | 'mse')[] {
  switch (policy) {
    case 'plaintext':
      return ['plain'];
    case 'allowed':
      return mseFirst ? ['mse', 'plain'] : ['plain', 'mse'];
    case 'preferred':
      return ['mse', 'plain'];
    case 'required':
      return ['mse'];
  }
}

/** crypto_provide when we initiate MSE. */
export function cryptoProvide(policy: EncryptionPolicy): number {
  if (policy === 'required') return CRYPTO_RC4;
  if (policy === 'plaintext') return CRYPTO_PLAINTEXT; // never used: plaintext never initiates
  return CRYPTO_PLAINTEXT | CRYPTO_RC4;
}

/** Whether we accept what a responder selected (one method, among those we offered). */
export function acceptsSelect(policy: EncryptionPolicy, select: number): boolean {
  return (select === CRYPTO_RC4 || select === CRYPTO_PLAINTEXT) && (cryptoProvide(policy) & select) !== 0;
}

/** crypto_select for an incoming offer, or undefined when nothing offered is allowed. */
export function cryptoSelect(policy: EncryptionPolicy, provide: number): number | undefined {
  const plaintext = (provide & CRYPTO_PLAINTEXT) !== 0;
  const rc4 = (provide & CRYPTO_RC4) !== 0;
  switch (policy) {
    case 'plaintext':
      return plaintext ? CRYPTO_PLAINTEXT : undefined;
    case 'allowed':
      return plaintext ? CRYPTO_PLAINTEXT : rc4 ? CRYPTO_RC4 : undefined;
    case 'preferred':
      return rc4 ? CRYPTO_RC4 : plaintext ? CRYPTO_PLAINTEXT : undefined;
    case 'required':
      return rc4 ? CRYPTO_RC4 : undefined;
  }
}

/** A plain BitTorrent handshake coming in is accepted (all but `required`). */
export function acceptsPlainIncoming(policy: EncryptionPolicy): boolean {
  return policy !== 'required';
}
