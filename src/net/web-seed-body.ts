/**
 * The body of one web seed range GET (BEP 19) streamed into its run's blocks (web-seed-blocks.ts):
 * exactly `length` bytes, never more held than one partial block. Paused while the disk is behind
 * (the read gate, as a peer's socket is) or the download limit is spent; no byte for `timeoutMs`
 * while not paused by us fails it, as do more bytes than asked or fewer before the end.
 */
import type { IncomingMessage } from 'node:http';
import type { ReadGate } from '../storage/write-backlog.js';
import type { ReadBatches } from './read-batches.js';
import type { TokenBucket } from './token-bucket.js';
import type { WebSeedBlocks } from './web-seed-blocks.js';
import { WebSeedError } from './web-seed-error.js';

/** What every body of one web seed connection shares. */
export interface BodyContext {
  readonly timeoutMs: number;
  readonly batches: ReadBatches;
  readonly readGate: ReadGate | undefined;
  readonly downloadLimit: TokenBucket | undefined;
  readonly onPayloadReceived: ((bytes: number) => void) | undefined;
  /** The connection closed: a chunk that still arrives ends the body. */
  readonly closed: () => boolean;
}

/** Resolves once `length` bytes of `res` went into `into`; rejects (a WebSeedError) otherwise. */
export function streamBody(
  res: IncomingMessage,
  length: number,
  url: string,
  into: WebSeedBlocks,
  ctx: BodyContext,
): Promise<void> {
  const { timeoutMs, batches, readGate, downloadLimit, onPayloadReceived } = ctx;
  return new Promise<void>((resolve, reject) => {
    let received = 0;
    let timer: NodeJS.Timeout | undefined;
    const waits = new Set<NodeJS.Timeout>();
    /** Reasons the response is paused now (the disk is behind, the rate limit is spent). */
    let held = 0;
    const stop = (err?: Error) => {
      clearTimeout(timer);
      for (const w of waits) clearTimeout(w);
      res.removeAllListeners('data');
      if (err === undefined) resolve();
      else {
        res.destroy();
        reject(err);
      }
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () => stop(new WebSeedError('timeout', `web seed ${url}: body stalled ${timeoutMs} ms`, { url })),
        timeoutMs,
      );
    };
    // Paused by us, not by the server: the idle timer waits too.
    const hold = () => {
      if (held++ === 0) {
        res.pause();
        clearTimeout(timer);
      }
    };
    const release = () => {
      if (--held > 0 || ctx.closed()) return;
      arm();
      res.resume();
    };
    arm();
    res.on('data', (chunk: Buffer) => {
      if (ctx.closed()) return stop(new Error('closed'));
      received += chunk.length;
      if (received > length)
        return stop(
          new WebSeedError('badLength', `web seed ${url}: sent more than the ${length} bytes asked`, { url }),
        );
      into.push(chunk);
      onPayloadReceived?.(chunk.length);
      batches.endOfRead();
      if (readGate !== undefined && !readGate.open) {
        hold();
        readGate.whenOpen(release);
      }
      const wait = downloadLimit?.takeDebt(chunk.length) ?? 0;
      if (wait > 0) {
        hold();
        const w = setTimeout(() => {
          waits.delete(w);
          release();
        }, wait);
        waits.add(w);
      }
      if (held === 0) arm();
    });
    res.on('end', () => {
      if (received === length) stop();
      else
        stop(
          new WebSeedError('badLength', `web seed ${url}: ${received} of ${length} bytes, then the end`, {
            url,
          }),
        );
    });
    res.on('error', (e) =>
      stop(
        e instanceof WebSeedError
          ? e
          : new WebSeedError('network', `web seed ${url}: ${e.message}`, { url, cause: e }),
      ),
    );
    res.on('close', () => {
      if (received < length)
        stop(
          new WebSeedError('network', `web seed ${url}: closed after ${received} of ${length} bytes`, {
            url,
          }),
        );
    });
  });
}
