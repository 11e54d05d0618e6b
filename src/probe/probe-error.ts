/**
 * The probe's one error class: the target could not be probed at all (never a finding about its
 * behaviour — those are the ledger's). `badInput` marks what the user got wrong (exit 2).
 */
export type ProbeErrorCode =
  /** No TCP connection to the target within the connect timeout, or refused. */
  | 'unreachable'
  /** Connected, but the target sent no BitTorrent handshake in time (it may not have the torrent). */
  | 'noHandshake'
  /** A replay path (`--path`) given without the seed it belongs to, or not fast-check's `a:b:c` form. */
  | 'badReplay'
  /** `connections` not a whole number from 1 to 64. */
  | 'badConnections'
  /** `--data`: a file of the torrent missing from the folder, or not of its torrent size. */
  | 'noData'
  /** `--data`: the files are there, but no piece matches its SHA-1 (another torrent's data). */
  | 'badData';

export class ProbeError extends Error {
  override readonly name = 'ProbeError';
  readonly code: ProbeErrorCode;
  readonly badInput: boolean;

  constructor(code: ProbeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.badInput =
      code === 'badReplay' || code === 'badConnections' || code === 'noData' || code === 'badData';
  }
}
