/**
 * Local Service Discovery's typed error (BEP 14): a BT-SEARCH announce we cannot read. Never the
 * user's fault: a datagram to the LSD group is anyone's on the network, and one that fails to parse
 * is dropped.
 */
export type LsdErrorCode =
  /** Longer than MAX_LSD_MESSAGE_BYTES. */
  | 'tooLarge'
  /** A byte that is not printable ASCII, tab, CR or LF. */
  | 'notText'
  /** The first line is not `BT-SEARCH <target> HTTP/1.x`. */
  | 'notBtSearch'
  /** No blank line ends the header. */
  | 'unfinished'
  /** More header lines than MAX_LSD_HEADER_LINES, or more Infohash lines than MAX_LSD_INFOHASHES. */
  | 'tooManyLines'
  /** A header line without a colon, or a header that may come once (Port, cookie) twice. */
  | 'malformed'
  /** No Port header, or one that is not a decimal number in 1..65535. */
  | 'badPort'
  /** No Infohash header holds 40 hex digits of a non-zero hash. */
  | 'noInfohash';

export class LsdError extends Error {
  override readonly name = 'LsdError';
  readonly code: LsdErrorCode;
  readonly limit: number | undefined;
  constructor(code: LsdErrorCode, message: string, opts: { limit?: number } = {}) {
    super(message);
    this.code = code;
    this.limit = opts.limit;
  }
}
