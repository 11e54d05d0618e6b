import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { firstValueFrom, from, lastValueFrom, Subject, take, toArray } from 'rxjs';
import { encodeHandshake, encodeMessage } from '../../../src/wire/encode-message.js';
import type { WireItem } from '../../../src/wire/messages.js';
import { parseWire } from '../../../src/wire/parse-wire.js';
import { WireError } from '../../../src/wire/wire-error.js';
import { concat, hex } from './wire-test-helpers.js';

const HANDSHAKE = encodeHandshake({
  reserved: new Uint8Array(8),
  infoHash: new Uint8Array(20).fill(1),
  peerId: new Uint8Array(20).fill(2),
});

describe('parseWire', () => {
  it('turns chunks into the handshake then messages, across chunk borders', async () => {
    const bytes = concat([
      HANDSHAKE,
      encodeMessage({ type: 'have', index: 3 }),
      encodeMessage({ type: 'unchoke' }),
    ]);
    const chunks = [bytes.slice(0, 10), bytes.slice(10, 70), bytes.slice(70)];
    const items = await lastValueFrom(from(chunks).pipe(parseWire(), toArray()));
    assert.deepEqual(
      items.map((i) => i.type),
      ['handshake', 'have', 'unchoke'],
    );
  });

  it('errors the stream with a WireError on bad input, after the good messages, never throwing from next()', () => {
    const source = new Subject<Uint8Array>();
    const seen: WireItem[] = [];
    let failure: unknown;
    source.pipe(parseWire({ expectHandshake: false })).subscribe({
      next: (i) => seen.push(i),
      error: (e) => {
        failure = e;
      },
    });
    assert.doesNotThrow(() => source.next(hex('00000001 02 ffffffff')));
    assert.deepEqual(
      seen.map((i) => i.type),
      ['interested'],
    );
    assert.ok(failure instanceof WireError);
    assert.equal(failure.code, 'frameTooLong');
    assert.doesNotThrow(() => source.next(hex('00000001 02')));
    assert.equal(seen.length, 1);
  });

  it('errors with truncated when the source completes inside a frame', async () => {
    const run = lastValueFrom(from([hex('00000005 04 00')]).pipe(parseWire({ expectHandshake: false })));
    await assert.rejects(run, (e: unknown) => e instanceof WireError && e.code === 'truncated');
  });

  it('passes the source error through unchanged', async () => {
    const source = new Subject<Uint8Array>();
    const run = lastValueFrom(source.pipe(parseWire()));
    const reset = new Error('ECONNRESET');
    source.error(reset);
    await assert.rejects(run, (e: unknown) => e === reset);
  });

  it('unsubscribes from the source when the consumer leaves mid-chunk', async () => {
    const source = new Subject<Uint8Array>();
    const first = firstValueFrom(source.pipe(parseWire({ expectHandshake: false }), take(1)));
    source.next(hex('00000001 00 00000001 01 00000001 02'));
    assert.deepEqual(await first, { type: 'choke' });
    assert.equal(source.observed, false);
  });

  it('gives each subscription its own decoder', async () => {
    const bytes = concat([HANDSHAKE, hex('00000001 03')]);
    const parsed = from([bytes.slice(0, 40), bytes.slice(40)]).pipe(parseWire());
    const a = await lastValueFrom(parsed.pipe(toArray()));
    const b = await lastValueFrom(parsed.pipe(toArray()));
    assert.deepEqual(
      a.map((i) => i.type),
      ['handshake', 'notInterested'],
    );
    assert.deepEqual(a, b);
  });

  it('checks its options when called', () => {
    assert.throws(() => parseWire({ maxFrameLength: -1 }), RangeError);
  });
});
