/**
 * `parseWire()`: the RxJS operator from a connection's byte chunks to its handshake and messages.
 *
 *   socketBytes$.pipe(parseWire())  // Handshake, then WireMessage, ... ; errors with a WireError
 *
 * A thin shell around `WireDecoder` (one per subscription): bad input from the peer errors the
 * stream with a `WireError`, never throws out of `next()`; the source ending inside a frame errors
 * with `truncated`; unsubscribing releases the decoder's buffers and stops decoding mid-chunk.
 * Chunks must not be reused by the source after it emitted them: piece blocks may be views of them.
 */
// rxjs's own modules, not its index, which loads all of rxjs (~100 ms for every library import).
import { Observable } from 'rxjs/internal/Observable';
import type { OperatorFunction } from 'rxjs/internal/types';
import type { WireItem } from './messages.js';
import { WireDecoder, type WireDecoderOptions } from './wire-decoder.js';

export function parseWire(opts: WireDecoderOptions = {}): OperatorFunction<Uint8Array, WireItem> {
  // Options are ours, not the peer's: check them now, so a bad value throws at the call site.
  new WireDecoder(opts).dispose();
  return (source) =>
    new Observable<WireItem>((subscriber) => {
      let decoder: WireDecoder | undefined = new WireDecoder(opts);
      const emit = (item: WireItem): void => subscriber.next(item);
      const subscription = source.subscribe({
        next(chunk) {
          if (decoder === undefined) return;
          const err = decoder.push(chunk, emit);
          if (err !== undefined) {
            decoder = undefined;
            subscriber.error(err);
          }
        },
        error(err: unknown) {
          decoder?.dispose();
          decoder = undefined;
          subscriber.error(err);
        },
        complete() {
          if (decoder === undefined) return;
          const err = decoder.end();
          decoder = undefined;
          if (err !== undefined) subscriber.error(err);
          else subscriber.complete();
        },
      });
      return () => {
        decoder?.dispose();
        decoder = undefined;
        subscription.unsubscribe();
      };
    });
}
