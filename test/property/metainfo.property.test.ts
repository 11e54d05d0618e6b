/**
 * Properties of the metainfo layer (fast-check): any bencode value round-trips through our encoder
 * and decoder; generated valid torrents parse back to what was generated; mutated torrents (byte
 * flips, truncations, insertions, deletions) are either accepted — consistently, with every
 * invariant of `Torrent` holding — or rejected with a MetainfoError, never another exception;
 * random bytes reach the decoder without escaping as anything but MetainfoError; nesting bombs
 * are rejected at their 101st level. The checked-in seeds in test/fixtures/torrents (v1, hybrid and v2-only) feed
 * the mutations too; v2-metainfo.property.test.ts generates v2-only torrents.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BencodeDict, type BencodeValue, bdecode, MAX_BENCODE_DEPTH } from '../../src/metainfo/bdecode.js';
import { type BencodeInput, bencode } from '../../src/metainfo/bencode.js';
import { MetainfoError } from '../../src/metainfo/metainfo-error.js';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { filePathsArbitrary } from '../helpers/file-paths-arbitrary.js';
import { acceptOrTyped, assertInvariants } from '../helpers/torrent-invariants.js';

const SEEDS = new URL('../fixtures/torrents/', import.meta.url);
const okSeeds = readdirSync(SEEDS)
  .filter((f) => f.startsWith('ok--'))
  .map((f) => new Uint8Array(readFileSync(new URL(f, SEEDS))));

// ---- bencode round trip -------------------------------------------------------------------
const { value: bvalue } = fc.letrec<{ value: BencodeInput }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.uint8Array({ maxLength: 20 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 6 }), tie('value'), { maxKeys: 4 }),
  ),
}));

/** A decoded value back in encoder terms (dict keys latin1 → UTF-8 strings). */
function plain(v: BencodeValue): BencodeInput {
  if (v instanceof BencodeDict)
    return Object.fromEntries(
      [...v.entries].map(([k, x]) => [Buffer.from(k, 'latin1').toString('utf8'), plain(x)]),
    );
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

/** A comparable form: byte strings as hex, dictionaries as entries sorted by key. */
function normalize(v: BencodeInput): unknown {
  if (typeof v === 'bigint' || typeof v === 'number') return BigInt(v);
  if (typeof v === 'string') return Buffer.from(v, 'utf8').toString('hex');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (Array.isArray(v)) return v.map(normalize);
  return Object.entries(v as { [k: string]: BencodeInput })
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(([k, x]) => [k, normalize(x)]);
}

// ---- valid torrents -------------------------------------------------------------------------
const component = fc
  .string({
    unit: fc.constantFrom('a', 'b', 'Z', '0', '.', '-', '_', ' ', 'é', '日', '🙂'),
    minLength: 1,
    maxLength: 8,
  })
  .filter((c) => c !== '.' && c !== '..');

/** Paths where none is another's folder (a/b with a/b/c cannot both be files). */
const filePaths = filePathsArbitrary(component, 8);

interface Generated {
  readonly meta: { [key: string]: BencodeInput | undefined };
  readonly files: { path: string[]; length: number; padding: boolean }[];
  readonly multiFile: boolean;
  readonly pieceLength: number;
}

/** Tracker URLs, now and then one of two repeated ones (a torrent may list a URL twice). */
const tracker = fc.oneof(fc.webUrl(), fc.constantFrom('http://t.example/announce', 'udp://u.example:6969'));

const generated: fc.Arbitrary<Generated> = fc
  .record({
    name: component,
    multiFile: fc.boolean(),
    paths: filePaths,
    lengths: fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 8, maxLength: 8 }),
    paddings: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    piecesWanted: fc.integer({ min: 1, max: 40 }),
    announce: fc.option(fc.webUrl(), { nil: undefined }),
    tiers: fc.option(
      fc.array(fc.array(tracker, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 3 }),
      {
        nil: undefined,
      },
    ),
    comment: fc.option(fc.string({ minLength: 1, maxLength: 30 }), { nil: undefined }),
    createdBy: fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: undefined }),
    creationDate: fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: undefined }),
    isPrivate: fc.option(fc.constantFrom(0, 1), { nil: undefined }),
    urlList: fc.option(fc.array(tracker, { maxLength: 3 }), { nil: undefined }),
    hashSeed: fc.integer(),
  })
  .map((g) => {
    const files = g.multiFile
      ? g.paths.map((path, i) => ({ path, length: g.lengths[i]!, padding: g.paddings[i]! }))
      : [{ path: [g.name], length: g.lengths[0]! + 1, padding: false }];
    if (files.every((f) => f.length === 0)) files[0]!.length = 1;
    const total = files.reduce((n, f) => n + f.length, 0);
    const pieceLength = Math.max(1, Math.ceil(total / g.piecesWanted));
    const pieceCount = Math.ceil(total / pieceLength);
    const pieces = new Uint8Array(pieceCount * 20).map((_, i) => (i * 31 + g.hashSeed) & 0xff);
    const info = {
      name: g.name,
      'piece length': pieceLength,
      pieces,
      private: g.isPrivate,
      ...(g.multiFile
        ? { files: files.map((f) => ({ length: f.length, path: f.path, attr: f.padding ? 'p' : undefined })) }
        : { length: total }),
    };
    const meta = {
      info,
      announce: g.announce,
      'announce-list': g.tiers,
      comment: g.comment,
      'created by': g.createdBy,
      'creation date': g.creationDate,
      'url-list': g.urlList,
    };
    return { meta, files, multiFile: g.multiFile, pieceLength };
  });

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(input: Uint8Array, m: Mutation): Uint8Array {
  const at = input.length === 0 ? 0 : m.at % input.length;
  const out = Buffer.from(input);
  switch (m.kind) {
    case 'flip':
      out[at] = out[at]! ^ m.xor;
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), m.bytes, out.subarray(at)]);
    case 'delete':
      return Buffer.concat([out.subarray(0, at), out.subarray(at + m.count)]);
  }
}

describe('metainfo properties', () => {
  it('any bencode value survives encode → decode', () => {
    fc.assert(
      fc.property(bvalue, (v) => {
        const encoded = bencode(v);
        assert.deepEqual(normalize(plain(bdecode(encoded))), normalize(v));
        assert.deepEqual(bencode(plain(bdecode(encoded))), encoded);
      }),
      { numRuns: 300 },
    );
  });

  it('maxTokens admits a value of exactly that many values (counted from the value itself) and refuses one fewer', () => {
    const count = (v: BencodeValue): number =>
      v instanceof BencodeDict
        ? 1 + [...v.entries.values()].reduce((n, x) => n + 1 + count(x), 0)
        : Array.isArray(v)
          ? 1 + v.reduce((n, x) => n + count(x), 0)
          : 1;
    fc.assert(
      fc.property(bvalue, fc.uint8Array({ maxLength: 4 }), (v, tail) => {
        const encoded = bencode(v);
        const values = count(bdecode(encoded));
        assert.deepEqual(bdecode(encoded, { maxTokens: values }), bdecode(encoded));
        assert.throws(
          () => bdecode(encoded, { maxTokens: values - 1 }),
          (err: unknown) => err instanceof MetainfoError && err.code === 'bencode-tokens',
        );
        // Bytes after the root are neither counted nor decoded when they are allowed.
        const trailing = new Uint8Array([...encoded, ...tail]);
        assert.deepEqual(
          normalize(plain(bdecode(trailing, { maxTokens: values, allowTrailing: true }))),
          normalize(v),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('generated valid torrents parse back to what was generated', () => {
    fc.assert(
      fc.property(generated, (g) => {
        const bytes = bencode(g.meta);
        const t = parseTorrent(bytes);
        assertInvariants(t, bytes);
        const info = g.meta.info as { [k: string]: BencodeInput };
        assert.equal(t.infoHashHex, createHash('sha1').update(bencode(info)).digest('hex'));
        assert.equal(t.name, info.name);
        assert.equal(t.multiFile, g.multiFile);
        assert.equal(t.pieceLength, g.pieceLength);
        assert.deepEqual(t.pieces, info.pieces);
        assert.deepEqual(
          t.files.map((f) => ({ path: f.path, length: f.length, padding: f.padding })),
          g.files,
        );
        assert.equal(t.private, info.private === 1);
        assert.equal(t.comment, g.meta.comment);
        assert.equal(t.createdBy, g.meta['created by']);
        assert.equal(t.creationDate, g.meta['creation date']);
        assert.equal(t.announce, g.meta.announce);
        // Each URL once, in the first tier that has it; a tier left empty is dropped.
        const seen = new Set<string>();
        const once = (url: string) => !seen.has(url) && seen.add(url) !== undefined;
        const tiers = (g.meta['announce-list'] as string[][] | undefined)
          ?.map((tier) => tier.filter(once))
          .filter((tier) => tier.length > 0);
        assert.deepEqual(t.announceList, tiers ?? (g.meta.announce === undefined ? [] : [[g.meta.announce]]));
        assert.deepEqual(t.urlList, [...new Set((g.meta['url-list'] as string[] | undefined) ?? [])]);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated torrents are accepted consistently or rejected with a MetainfoError only', () => {
    const base = fc.oneof(
      generated.map((g) => bencode(g.meta)),
      fc.constantFrom(...okSeeds),
    );
    fc.assert(
      fc.property(base, fc.array(mutation, { minLength: 1, maxLength: 4 }), (bytes, mutations) => {
        const input = mutations.reduce(mutate, bytes);
        const first = acceptOrTyped(input);
        const second = acceptOrTyped(input);
        assert.deepEqual(second, first, 'the same bytes give the same answer');
        if (first instanceof MetainfoError) assert.equal(first.badInput, true);
        else assertInvariants(first, input);
      }),
      { numRuns: 1500 },
    );
  });

  it('random bytes and bencode-like noise never escape as anything but MetainfoError', () => {
    const noise = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc
        .array(fc.constantFrom('i', 'l', 'd', 'e', '0', '1', '2', '9', ':', '-', '4:info', '5:files'), {
          maxLength: 80,
        })
        .map((parts) => new Uint8Array(Buffer.from(parts.join(''), 'latin1'))),
    );
    fc.assert(
      fc.property(noise, (bytes) => {
        for (const f of [bdecode, parseTorrent]) {
          try {
            f(bytes);
          } catch (err) {
            assert.ok(err instanceof MetainfoError, `${f.name} threw ${err}`);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('nesting bombs of any depth are rejected at the byte of their 101st level, whatever follows', () => {
    // Where each repeated unit opens a level (the rest are a key's bytes): 'd4:infol' opens two.
    const opens = { l: [0], 'd1:a': [0], 'd4:infol': [0, 7] } as const;
    fc.assert(
      fc.property(
        fc.integer({ min: MAX_BENCODE_DEPTH + 1, max: 200_000 }),
        fc.constantFrom('l', 'd1:a', 'd4:infol'),
        (depth, open) => {
          const at = opens[open];
          const levelPastLimit =
            Math.floor(MAX_BENCODE_DEPTH / at.length) * open.length + at[MAX_BENCODE_DEPTH % at.length]!;
          const bomb = new Uint8Array(Buffer.from(open.repeat(depth), 'latin1'));
          assert.throws(
            () => parseTorrent(bomb),
            (err: unknown) =>
              err instanceof MetainfoError &&
              err.code === 'bencode-depth' &&
              err.limit === MAX_BENCODE_DEPTH &&
              // The decoder stopped there: the same byte for a bomb of 101 levels or of 200,000.
              err.offset === levelPastLimit,
          );
        },
      ),
      { numRuns: 30 },
    );
  });
});
