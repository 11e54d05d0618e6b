/**
 * Why a connection through a proxy (SOCKS5 RFC 1928/1929, SOCKS4a, HTTP CONNECT RFC 9110 §9.3.6)
 * failed. The dial closes with this error; its `code` is the peer's close reason.
 */
export type ProxyErrorCode =
  /** The proxy could not be reached (refused, reset, unknown host), or it did not answer in time. */
  | 'proxyUnreachable'
  /** The proxy refused our user name and password, or wants credentials we do not have. */
  | 'proxyAuth'
  /** The proxy reached out and the target refused, or its rules forbid it (SOCKS5 2, 5; HTTP 403). */
  | 'proxyRefused'
  /** The proxy could not reach the target (SOCKS5 1, 3, 4, 6; HTTP 5xx). */
  | 'proxyTargetUnreachable'
  /** The proxy does not do what we asked (SOCKS5 7, 8; an IPv6 target through SOCKS4a). */
  | 'proxyUnsupported'
  /** Not the proxy's protocol: a wrong version byte, an unknown address type, a malformed status line. */
  | 'proxyProtocol'
  /** A reply longer than the protocol allows (an HTTP head over MAX_CONNECT_HEAD_BYTES). */
  | 'proxyTooLarge'
  /** The proxy closed the connection before its reply was complete. */
  | 'proxyClosed';

export class ProxyError extends Error {
  override readonly name = 'ProxyError';
  constructor(
    readonly code: ProxyErrorCode,
    message: string,
  ) {
    super(message);
  }
}
