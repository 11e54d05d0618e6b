/**
 * Why a uTP connection ended other than by both sides' FIN. The codes are the errno names a TCP
 * socket ends with in the same case, so the layers above (the peer connection, the address book's
 * back-off) read a uTP close as they read a TCP one.
 */
export type UtpErrorCode =
  /** Our SYN was answered by ST_RESET: nothing accepts uTP there. */
  | 'ECONNREFUSED'
  /** The peer sent ST_RESET on an open connection. */
  | 'ECONNRESET'
  /** Our SYN, or a packet in flight, was not acknowledged after every resend. */
  | 'ETIMEDOUT';

export class UtpError extends Error {
  override readonly name = 'UtpError';
  constructor(
    readonly code: UtpErrorCode,
    message: string,
  ) {
    super(message);
  }
}
