/** Why a Message Stream Encryption handshake failed (the connection closes with this code). */
export type MseErrorCode =
  /** The other side's public key is not a valid DH value (0, 1, ≥ P). */
  | 'mseBadKey'
  /** No HASH('req1', S) (responder) or no encrypted VC (initiator) where the pads may end. */
  | 'mseNoSync'
  /** HASH('req2', SKEY) names a torrent that is not ours. */
  | 'mseWrongTorrent'
  /** The decrypted verification constant is not 8 zeros. */
  | 'mseBadVc'
  /** No crypto method both sides allow: offered (or selected) only what our policy refuses. */
  | 'mseNoCommonMethod'
  /** A plain BitTorrent handshake where our policy (`required`) takes only MSE. */
  | 'msePlainRefused'
  /** A pad or the initial payload longer than the spec (512) or MAX_IA_BYTES allows. */
  | 'mseTooLong'
  /** The handshake did not finish within MSE_HANDSHAKE_TIMEOUT_MS. */
  | 'mseTimeout';

export class MseError extends Error {
  override readonly name = 'MseError';
  constructor(
    readonly code: MseErrorCode,
    message: string,
  ) {
    super(message);
  }
}
