/**
 * Properties of the case-collision renames (src/metainfo/case-collisions.ts), over generated file
 * lists whose names are drawn from a few spellings of a few names (case, composed and decomposed
 * accents, extensions, names that look like renames): afterwards no two files, and no file and a
 * folder, are one on a case-insensitive file system; only the last component of a colliding file
 * changes, and `renamedFrom` says what it was; the first of each name keeps it; a second pass
 * renames nothing; the result depends only on the list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { foldName, resolveCaseCollisions } from '../../src/metainfo/case-collisions.js';
import type { TorrentFile } from '../../src/metainfo/torrent.js';
import { PathSet } from '../../src/metainfo/torrent-path.js';

const component = fc.constantFrom(
  'a',
  'A',
  'b',
  'a.x',
  'A.X',
  'a.1.x',
  'A.1',
  'a.2',
  'caf\u00e9',
  'cafe\u0301',
  'CAF\u00c9',
  '.a',
  '.A',
);

/** File lists parseTorrent would accept: no exact duplicate, no exact file-and-folder (PathSet). */
const files = fc
  .array(
    fc.record({
      path: fc.array(component, { minLength: 1, maxLength: 3 }),
      padding: fc.nat(4).map((n) => n === 0),
    }),
    {
      maxLength: 24,
    },
  )
  .map((raw) => {
    const seen = new PathSet();
    const out: TorrentFile[] = [];
    for (const { path, padding } of raw) {
      if (!padding) {
        try {
          seen.add(path, 'path');
        } catch {
          continue;
        }
      }
      out.push({ path, length: 1, offset: out.length, padding });
    }
    return out;
  });

const fold = (path: readonly string[]) => path.map(foldName).join('/');

test('after renaming, no two files and no file and folder are one on a case-insensitive file system', () => {
  fc.assert(
    fc.property(files, (input) => {
      const output = resolveCaseCollisions(input);
      const written = output.filter((f) => !f.padding);
      const filePaths = written.map((f) => fold(f.path));
      assert.equal(new Set(filePaths).size, filePaths.length, `files: ${filePaths.join(' | ')}`);
      const folders = new Set(
        written.flatMap((f) => f.path.slice(0, -1).map((_, i) => fold(f.path.slice(0, i + 1)))),
      );
      for (const p of filePaths) assert.ok(!folders.has(p), `${p} is a folder too`);
    }),
    { numRuns: 3000 },
  );
});

test('only a colliding file changes, only its name, and renamedFrom keeps what the torrent says', () => {
  fc.assert(
    fc.property(files, (input) => {
      const output = resolveCaseCollisions(input);
      const folders = new Set(
        input
          .filter((f) => !f.padding)
          .flatMap((f) => f.path.slice(0, -1).map((_, i) => fold(f.path.slice(0, i + 1)))),
      );
      const kept = new Set<string>();
      output.forEach((f, i) => {
        const before = input[i]!;
        assert.equal(f.length, before.length);
        assert.equal(f.padding, before.padding);
        if (f.renamedFrom === undefined) {
          assert.deepEqual(f.path, before.path);
          if (!f.padding) kept.add(fold(f.path));
          return;
        }
        assert.deepEqual(f.renamedFrom, before.path);
        assert.deepEqual(f.path.slice(0, -1), before.path.slice(0, -1));
        assert.notEqual(f.path.at(-1), before.path.at(-1));
        // Renamed only for a reason: a file before it kept that name, or a folder has it.
        const p = fold(before.path);
        assert.ok(kept.has(p) || folders.has(p), `${before.path.join('/')} renamed for nothing`);
      });
    }),
    { numRuns: 3000 },
  );
});

test('renaming twice renames nothing more, and the same list always gives the same names', () => {
  fc.assert(
    fc.property(files, (input) => {
      const once = resolveCaseCollisions(input);
      assert.deepEqual(resolveCaseCollisions(input), once);
      for (const [i, f] of resolveCaseCollisions(once).entries()) assert.equal(f, once[i], 'the same file');
    }),
    { numRuns: 1000 },
  );
});
