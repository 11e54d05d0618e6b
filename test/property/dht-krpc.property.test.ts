/**
 * The KRPC codec (src/dht/krpc.ts): every message we can write reads back the same; any datagram
 * at all — random bytes, a valid one cut or with bytes changed, a huge one — decodes or fails with a
 * DhtError, never another exception; and what one datagram may make us hold is bounded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DhtError } from '../../src/dht/dht-error.js';
import { decodeKrpc, encodeKrpc, type KrpcMessage, MAX_DATAGRAM_BYTES } from '../../src/dht/krpc.js';
import { bencode } from '../../src/metainfo/bencode.js';

const id = fc.uint8Array({ minLength: 20, maxLength: 20 });
const tx = fc.uint8Array({ minLength: 1, maxLength: 4 });
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
const port = fc.integer({ min: 1, max: 65535 });
const peer = fc.record({ host: ipv4, port });
const node = fc.record({ id, host: ipv4, port });

const query = fc.oneof(
  fc.record({ q: fc.constant('ping' as const), id }),
  fc.record({ q: fc.constant('find_node' as const), id, target: id }),
  fc.record({ q: fc.constant('get_peers' as const), id, infoHash: id }),
  fc.record({
    q: fc.constant('announce_peer' as const),
    id,
    infoHash: id,
    port,
    impliedPort: fc.constant(false),
    token: fc.uint8Array({ minLength: 1, maxLength: 20 }),
  }),
);

const message: fc.Arbitrary<KrpcMessage> = fc.oneof(
  fc.record({ y: fc.constant('q' as const), t: tx, query }),
  fc.record({
    y: fc.constant('r' as const),
    t: tx,
    response: fc.record(
      {
        id,
        nodes: fc.array(node, { maxLength: 8 }),
        values: fc.array(peer, { maxLength: 50 }),
        token: fc.uint8Array({ minLength: 1, maxLength: 20 }),
      },
      { requiredKeys: ['id'] },
    ),
  }),
  fc.record({
    y: fc.constant('e' as const),
    t: tx,
    code: fc.constantFrom(201, 202, 203, 204),
    message: fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  }),
);

/** Decodes, or fails with a DhtError: anything else thrown fails the property. */
function decodeOrTypedError(bytes: Uint8Array): KrpcMessage | DhtError {
  try {
    return decodeKrpc(bytes);
  } catch (err) {
    if (err instanceof DhtError) return err;
    throw err;
  }
}

/** Byte strings as arrays (a decoded one is a Buffer view, a written one a Uint8Array). */
function plain(m: unknown): unknown {
  if (m instanceof Uint8Array) return [...m];
  if (Array.isArray(m)) return m.map(plain);
  if (typeof m === 'object' && m !== null)
    return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, plain(v)]));
  return m;
}

test('every message reads back as written', () => {
  fc.assert(
    fc.property(message, (m) => {
      const bytes = encodeKrpc(m);
      assert.ok(bytes.length <= MAX_DATAGRAM_BYTES, `${bytes.length} bytes`);
      assert.deepEqual(plain(decodeKrpc(bytes)), plain(m));
    }),
    { numRuns: 500 },
  );
});

test('random bytes never throw anything but a DhtError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000, size: 'max' }), (b) => {
      decodeOrTypedError(b);
    }),
    { numRuns: 2000 },
  );
});

test('a valid datagram cut short or with bytes changed decodes or is a DhtError', () => {
  fc.assert(
    fc.property(
      message,
      fc.nat(),
      fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }),
      (m, cut, changes) => {
        const bytes = new Uint8Array(encodeKrpc(m));
        for (const [at, v] of changes) bytes[at % bytes.length] = v;
        decodeOrTypedError(bytes);
        decodeOrTypedError(bytes.subarray(0, cut % (bytes.length + 1)));
      },
    ),
    { numRuns: 2000 },
  );
});

test('bencode of the wrong shapes is a DhtError: lists for dictionaries, short ids, odd nodes, a bad port', () => {
  const idOf = new Uint8Array(20);
  const cases: unknown[] = [
    [],
    { t: 'aa', y: 'q', q: 'ping', a: [] },
    { t: 'aa', y: 'q', q: 'ping', a: { id: 'short' } },
    { t: 'aa', y: 'r', r: { id: idOf, nodes: new Uint8Array(27) } },
    { t: 'aa', y: 'r', r: { id: idOf, values: [new Uint8Array(7)] } },
    { t: 'aa', y: 'r', r: { id: idOf, values: 'x' } },
    { t: 'aa', y: 'q', q: 'announce_peer', a: { id: idOf, info_hash: idOf, port: 70000, token: 'x' } },
    { t: 'aa', y: 'q', q: 'announce_peer', a: { id: idOf, info_hash: idOf, port: 0, token: 'x' } },
    { t: 'aa', y: 'e', e: [201] },
    { t: 'aa', y: 'x' },
    { t: new Uint8Array(17), y: 'r', r: { id: idOf } },
  ];
  for (const c of cases) {
    const r = decodeOrTypedError(bencode(c as Parameters<typeof bencode>[0]));
    assert.ok(r instanceof DhtError && r.code === 'malformed', JSON.stringify(plain(c)));
  }
  // An unknown method decodes (we answer 204), and so do unknown keys (libtorrent's v, ip, ro, want).
  const other = decodeKrpc(
    bencode({ t: 'aa', y: 'q', q: 'sample_infohashes', a: { id: idOf, target: idOf } }),
  );
  assert.ok(other.y === 'q' && other.query.q === 'other' && other.query.method === 'sample_infohashes');
  const withExtras = decodeKrpc(
    bencode({
      t: 'aa',
      y: 'q',
      q: 'ping',
      v: 'LT20',
      ro: 1,
      ip: new Uint8Array(6),
      a: { id: idOf, want: ['n4'] },
    }),
  );
  assert.equal(withExtras.y, 'q');
  // implied_port: the port may then be absent or 0.
  const implied = decodeKrpc(
    bencode({
      t: 'aa',
      y: 'q',
      q: 'announce_peer',
      a: { id: idOf, info_hash: idOf, implied_port: 1, port: 0, token: 'x' },
    }),
  );
  assert.ok(implied.y === 'q' && implied.query.q === 'announce_peer' && implied.query.impliedPort);
});

test('a datagram past MAX_DATAGRAM_BYTES is refused unread; a deep or wide one is bounded', () => {
  const big = new Uint8Array(MAX_DATAGRAM_BYTES + 1).fill(0x6c); // 'l' × 2049
  const r = decodeOrTypedError(big);
  assert.ok(r instanceof DhtError && r.code === 'tooLarge' && r.limit === MAX_DATAGRAM_BYTES);
  // 1,000 nested lists (under the size cap): refused by the decoder's depth bound, no stack overflow.
  const deep = Buffer.from(`${'l'.repeat(1000)}${'e'.repeat(1000)}`);
  assert.ok(decodeOrTypedError(deep) instanceof DhtError);
  // 1,000 one-byte integers: more values than MAX_KRPC_TOKENS.
  const wide = Buffer.from(`l${'i0e'.repeat(600)}e`);
  assert.ok(decodeOrTypedError(wide) instanceof DhtError);
});
