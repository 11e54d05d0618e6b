/**
 * Properties of the proxy handshakes (src/net/socks5-handshake.ts, socks4a-handshake.ts,
 * http-connect.ts) against generated proxy answers: a good answer cut into any reads gives the same
 * tunnel and hands on exactly the bytes after it; any bytes at all end in a step or a ProxyError,
 * never another exception, and an HTTP head is never read past MAX_CONNECT_HEAD_BYTES.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HttpConnectHandshake, MAX_CONNECT_HEAD_BYTES } from '../../src/net/http-connect.js';
import { ProxyError } from '../../src/net/proxy-error.js';
import type { HandshakeStep, ProxyHandshake } from '../../src/net/proxy-handshake.js';
import { Socks4aHandshake } from '../../src/net/socks4a-handshake.js';
import { Socks5Handshake } from '../../src/net/socks5-handshake.js';

/** `bytes` cut at the given points (sorted, within it) into reads. */
function cut(bytes: Uint8Array, points: number[]): Uint8Array[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    if (p > from) out.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  return out;
}

/** Feeds the reads of each of the proxy's answers in turn; the steps, and the target's bytes. */
function play(h: ProxyHandshake, answers: Uint8Array[][]): { sent: number; rest: number[] } {
  h.start();
  let sent = 0;
  const rest: number[] = [];
  let done = false;
  for (const reads of answers)
    for (const r of reads) {
      if (done) {
        rest.push(...r);
        continue;
      }
      const step: HandshakeStep = h.push(r);
      if (step.kind === 'send') sent++;
      if (step.kind === 'done') {
        done = true;
        rest.push(...step.rest);
      }
    }
  assert.equal(done, true, 'the tunnel came up');
  return { sent, rest };
}

const boundAddress = fc.oneof(
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => [1, ...a]),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => [4, ...a]),
  fc.uint8Array({ minLength: 0, maxLength: 255 }).map((a) => [3, a.length, ...a]),
);
const points = fc.array(fc.nat(400), { maxLength: 8 });
const trailing = fc.uint8Array({ maxLength: 64 });

test('SOCKS5: a good answer in any reads, with or without auth, opens the tunnel and hands on exactly what follows', () => {
  fc.assert(
    fc.property(
      fc.boolean(),
      boundAddress,
      fc.tuple(points, points, points),
      trailing,
      (auth, bound, cuts, after) => {
        const creds = auth ? { user: 'u', password: 'p' } : undefined;
        const h = new Socks5Handshake('10.1.2.3', 6881, creds);
        const reply = Uint8Array.from([5, 0, 0, ...bound, 0x1a, 0xe1, ...after]);
        const answers = [cut(Uint8Array.of(5, auth ? 2 : 0), cuts[0])];
        if (auth) answers.push(cut(Uint8Array.of(1, 0), cuts[1]));
        answers.push(cut(reply, cuts[2]));
        const { sent, rest } = play(h, answers);
        assert.equal(sent, auth ? 2 : 1);
        assert.deepEqual(rest, [...after]);
      },
    ),
  );
});

test('SOCKS4a and HTTP CONNECT: a good answer in any reads opens the tunnel, what follows handed on', () => {
  fc.assert(
    fc.property(points, trailing, fc.string({ maxLength: 200 }), (p, after, header) => {
      const s4 = play(new Socks4aHandshake('name.example', 80), [
        cut(Uint8Array.of(0, 90, 1, 2, 3, 4, 5, 6, ...after), p),
      ]);
      assert.deepEqual(s4.rest, [...after]);
      const safe = header.replace(/[\r\n]/g, '');
      const head = Buffer.from(`HTTP/1.1 200 OK\r\nX: ${safe}\r\n\r\n`, 'latin1');
      const http = play(new HttpConnectHandshake('10.0.0.1', 80), [
        cut(Uint8Array.from([...head, ...after]), p),
      ]);
      assert.deepEqual(http.rest, [...after]);
    }),
  );
});

test('any bytes from the proxy end in a step or a ProxyError, never another exception', () => {
  const make: (() => ProxyHandshake)[] = [
    () => new Socks5Handshake('10.0.0.1', 1),
    () => new Socks5Handshake('n.example', 1, { user: 'u', password: 'p' }),
    () => new Socks4aHandshake('10.0.0.1', 1),
    () => new HttpConnectHandshake('10.0.0.1', 1),
  ];
  fc.assert(
    fc.property(
      fc.nat(make.length - 1),
      fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 12 }),
      (i, reads) => {
        const h = make[i]!();
        h.start();
        try {
          for (const r of reads) if (h.push(r).kind === 'done') break;
        } catch (e) {
          assert.ok(e instanceof ProxyError, `only ProxyErrors, got ${String(e)}`);
        }
      },
    ),
  );
});

test('HTTP CONNECT: a head with no blank line is refused once MAX_CONNECT_HEAD_BYTES are in, never later', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 30 }), (sizes) => {
      const h = new HttpConnectHandshake('10.0.0.1', 1);
      let fed = 0;
      for (const n of sizes) {
        const before = fed;
        fed += n;
        try {
          assert.equal(h.push(new Uint8Array(n).fill(0x41)).kind, 'wait');
          assert.ok(fed < MAX_CONNECT_HEAD_BYTES, 'waits only below the bound');
        } catch (e) {
          assert.ok(e instanceof ProxyError && e.code === 'proxyTooLarge', String(e));
          assert.ok(
            before < MAX_CONNECT_HEAD_BYTES && fed >= MAX_CONNECT_HEAD_BYTES,
            'refused at the read that crossed it',
          );
          return;
        }
      }
    }),
  );
});
