/**
 * `bitstate create --format v2|hybrid` (from the build, as a user runs it) against libtorrent 2.0:
 * single files shorter than, equal to and longer than a piece, and a folder of such files with an
 * empty one and names whose order is tricky ("a/z" before "a.txt"). For each torrent:
 *
 * - libtorrent loads it (lt.torrent_info; a wrong `piece layers` entry is refused there) with the
 *   info-hashes we print (v1 and v2 for a hybrid, v2 alone for v2);
 * - libtorrent's own torrent of the same payload and piece length has the same info-hashes: the
 *   same files in the same order, the same padding, the same pieces roots and v1 pieces;
 * - added at the data, libtorrent's hash check finds every piece: the hashes are right;
 * - a hybrid is read back by our own parse, with libtorrent's file list (padding included).
 *
 * Needs python3-libtorrent under /usr/bin/python3 and `npm run build`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseTorrent } from '../../src/metainfo/parse-torrent.js';
import { withDhtOff } from '../helpers/dht-off.js';
import { bitstateBin } from './harness/bitstate.js';
import { SYSTEM_PYTHON } from './harness/info-hash.js';
import { makeTorrentWithLibtorrent } from './harness/libtorrent-create.js';
import { harnessFile } from './harness/paths.js';
import { runProcess } from './harness/processes.js';

const PIECE = 32 * 1024;

interface LibtorrentHashes {
  readonly v1: string | null;
  readonly v2: string | null;
}

interface LibtorrentCheck extends LibtorrentHashes {
  readonly numPieces: number;
  readonly files: readonly { readonly path: string; readonly length: number; readonly padding: boolean }[];
  readonly state: string;
  readonly have: number;
  readonly error: string | null;
}

async function libtorrent<T>(args: readonly string[]): Promise<T> {
  const r = await runProcess(SYSTEM_PYTHON, [harnessFile('libtorrent_torrent_check.py'), ...args], {
    name: `libtorrent ${args[0]}`,
    timeoutMs: 60_000,
  });
  return JSON.parse(r.stdoutTail.trim().split('\n').at(-1)!) as T;
}

/** libtorrent's own torrent of `source`: its info-hashes, in the shape `check` prints them. */
async function libtorrentHashes(
  source: string,
  format: 'v2' | 'hybrid',
  out: string,
): Promise<LibtorrentHashes> {
  const made = await makeTorrentWithLibtorrent({ source, out, pieceLength: PIECE, format });
  return { v1: made.v1 ?? null, v2: made.v2 ?? null };
}

/** `bitstate create` from the build; the info-hashes it prints. */
async function create(source: string, format: string, out: string): Promise<LibtorrentHashes> {
  const r = await runProcess(
    process.execPath,
    [bitstateBin(), ...withDhtOff(['create', source, '--format', format, '-l', '32K', '-o', out])],
    { name: 'bitstate create', timeoutMs: 60_000 },
  );
  const lines = r.stdoutTail.trim().split('\n');
  assert.match(lines[0]!, /^wrote /);
  const v1 = lines.find((l) => /^info-hash [0-9a-f]{40}$/.test(l));
  const v2 = lines.find((l) => /^info-hash v2 [0-9a-f]{64}$/.test(l));
  assert.equal(lines.length, 1 + (v1 === undefined ? 0 : 1) + (v2 === undefined ? 0 : 1), r.stdoutTail);
  return {
    v1: v1 === undefined ? null : v1.slice('info-hash '.length),
    v2: v2 === undefined ? null : v2.slice('info-hash v2 '.length),
  };
}

let dir = '';
const sources: Record<string, string> = {};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-create-v2-'));
  await mkdir(join(dir, 'single'));
  for (const [name, size] of [
    ['short.bin', 1000],
    ['exact.bin', PIECE],
    ['long.bin', 3 * PIECE + 12_345],
  ] as const) {
    sources[name] = join(dir, 'single', name);
    await writeFile(sources[name], randomBytes(size));
  }
  // Mode 0644 (no executable bit: libtorrent would write attr "x" and another info-hash).
  const tree = join(dir, 'tree');
  sources.tree = tree;
  await mkdir(join(tree, 'a'), { recursive: true });
  await mkdir(join(tree, 'sub', 'deeper'), { recursive: true });
  for (const [path, size] of [
    ['a.txt', 10],
    ['a/z', PIECE],
    ['a/long.bin', 100_000],
    ['empty', 0],
    ['sub/deeper/data.bin', 50_000],
    ['é – ünïcode.txt', 300],
    ['zz.last', 7],
  ] as const)
    await writeFile(join(tree, path), randomBytes(size), { mode: 0o644 });
});
after(() => rm(dir, { recursive: true, force: true }));

for (const format of ['v2', 'hybrid'] as const) {
  describe(`bitstate create --format ${format}`, () => {
    for (const target of ['short.bin', 'exact.bin', 'long.bin', 'tree']) {
      it(`${target}: libtorrent loads it with our info-hashes, makes the same, and its hash check passes`, async () => {
        const source = sources[target]!;
        const out = join(dir, `${format}-${target}.torrent`);
        const printed = await create(source, format, out);
        const check = await libtorrent<LibtorrentCheck>(['check', out, dirname(source)]);
        assert.deepEqual({ v1: check.v1, v2: check.v2 }, printed, 'the info-hashes we print');
        assert.equal(printed.v1 === null, format === 'v2', 'a v1 info-hash only for a hybrid');
        assert.deepEqual(
          await libtorrentHashes(source, format, join(dir, `libtorrent-${format}-${target}.torrent`)),
          printed,
          "libtorrent's own torrent of the same payload",
        );
        assert.deepEqual(
          { state: check.state, have: check.have, error: check.error },
          { state: 'seeding', have: check.numPieces, error: null },
          'every piece passes libtorrent’s hash check',
        );
        if (target === 'tree')
          assert.ok(
            check.files.some((f) => f.padding),
            'files off a piece boundary are padded',
          );
        if (format === 'hybrid') {
          const ours = parseTorrent(await readFile(out));
          assert.equal(ours.version, 'hybrid');
          assert.equal(ours.infoHashHex, printed.v1);
          assert.equal(Buffer.from(ours.infoHashV2!).toString('hex'), printed.v2);
          assert.equal(ours.pieceCount, check.numPieces);
          assert.deepEqual(
            ours.files.map((f) => ({
              path: (ours.multiFile ? [ours.name, ...f.path] : f.path).join('/'),
              length: f.length,
              padding: f.padding,
            })),
            check.files,
          );
        }
      });
    }
  });
}
