import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * keepYoungGenerationSmall (src/cli/young-generation.ts) in a fresh Node process each time, since
 * V8 flags are process-wide: the same allocation pattern (garbage with a little that survives a
 * few scavenges, as a download makes) grows the young generation without it and not with it.
 */
const moduleUrl = new URL('../../../src/cli/young-generation.ts', import.meta.url).href;
const script = (small: boolean) => `
  import { getHeapSpaceStatistics } from 'node:v8';
  ${small ? `const { keepYoungGenerationSmall } = await import(${JSON.stringify(moduleUrl)}); keepYoungGenerationSmall();` : ''}
  const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
  const initial = newSpace();
  const keep = [];
  let max = 0;
  for (let i = 0; i < 400000; i++) {
    const o = { a: i, b: new Array(8).fill(i) };
    if (i % 10 === 0) keep.push(o);
    if (keep.length > 2000) keep.splice(0, 1000);
    if (i % 1000 === 0) max = Math.max(max, newSpace());
  }
  console.log(JSON.stringify({ initial, max }));
`;

function youngGeneration(small: boolean): { initial: number; max: number } {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script(small)],
    {
      encoding: 'utf8',
      timeout: 30_000,
    },
  );
  return JSON.parse(out) as { initial: number; max: number };
}

test('the CLI keeps the young generation at its initial size; left alone, V8 grows it', () => {
  const grown = youngGeneration(false);
  assert.ok(grown.max > grown.initial, `without the flag it grows: ${JSON.stringify(grown)}`);
  const small = youngGeneration(true);
  assert.equal(small.max, small.initial, `with it, it stays: ${JSON.stringify(small)}`);
});
