/**
 * Payload bytes moved over all connections, counted where the bytes are (the connection actor's
 * hooks), so the machines stay free of clocks. Rates are smoothed per second by ProgressMeter.
 */
import type { ConnectionHooks } from '../net/tcp-connection.js';

export class TransferCounter implements ConnectionHooks {
  downloaded = 0;
  uploaded = 0;
  #lastByteAt = performance.now();

  readonly onPayloadReceived = (n: number): void => {
    this.downloaded += n;
    this.#lastByteAt = performance.now();
  };

  readonly onPayloadSent = (n: number): void => {
    this.uploaded += n;
  };

  msSinceLastByte(): number {
    return performance.now() - this.#lastByteAt;
  }
}
