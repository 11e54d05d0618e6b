/**
 * Replays the checked-in hostile streams of test/fixtures/wire (see seeds.json for each verdict),
 * whole and in 1-byte chunks: the verdict must not depend on the chunking. A new limit gets a seed.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WireError } from '../../../src/wire/wire-error.js';
import { decodeBytes, hex } from './wire-test-helpers.js';

interface Seed {
  readonly file: string;
  readonly expectHandshake: boolean;
  readonly items: readonly string[];
  readonly error: string | null;
}

const dir = new URL('../../fixtures/wire/', import.meta.url);
const seeds = JSON.parse(readFileSync(new URL('seeds.json', dir), 'utf8')) as Seed[];

describe('wire fuzz seeds', () => {
  it('has seeds', () => assert.ok(seeds.length >= 10));
  for (const seed of seeds) {
    it(`${seed.file}: ${seed.error ?? 'decodes'}`, () => {
      const bytes = hex(readFileSync(new URL(seed.file, dir), 'utf8'));
      for (const chunkSize of [bytes.length || 1, 1, 7]) {
        const out = decodeBytes(bytes, chunkSize, { expectHandshake: seed.expectHandshake });
        assert.deepEqual(
          out.items.map((i) => i.type),
          seed.items,
          `items with ${chunkSize}-byte chunks`,
        );
        if (seed.error === null) assert.equal(out.error, undefined);
        else {
          assert.ok(out.error instanceof WireError);
          assert.equal(out.error.code, seed.error, `error with ${chunkSize}-byte chunks`);
        }
      }
    });
  }
});
