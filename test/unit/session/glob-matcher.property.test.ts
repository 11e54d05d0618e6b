/**
 * The glob matcher agrees with the regular expression --only used before it (kept here as the
 * oracle: it backtracks exponentially on hostile names, but is exact and fast on small inputs).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { GlobMatcher } from '../../../src/session/glob-matcher.js';

/** The former globToRegExp of src/session/file-selection.ts, verbatim. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let k = 0; k < glob.length; k++) {
    const c = glob[k]!;
    if (c === '*') {
      if (glob[k + 1] === '*') {
        k++;
        if (glob[k + 1] === '/') {
          k++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

/** Few characters, so that random paths often meet the glob's literals; `\n` and a surrogate half for the odd unit. */
const char = fc.constantFrom('a', 'b', '-', '/', '.', '[', '\\', '\n', '\ud83c');
const globChar = fc.oneof(char, fc.constantFrom('*', '*', '?', '**', '**/'));
const glob = fc.array(globChar, { maxLength: 8 }).map((parts) => parts.join(''));
const text = fc.array(char, { maxLength: 14 }).map((parts) => parts.join(''));

/** A path made from the glob (each wildcard replaced by some text), so that many cases match. */
const globAndInstance = glob.chain((g) =>
  fc
    .array(text, { minLength: g.length, maxLength: g.length })
    .map(
      (fills) =>
        [
          g,
          g.replace(/\*\*\/|\*\*|\*|\?/g, (w) =>
            w === '?' ? (fills.pop() ?? '').slice(0, 1) : (fills.pop() ?? ''),
          ),
        ] as const,
    ),
);

const agrees = (g: string, t: string) => {
  assert.equal(
    new GlobMatcher(g).test(t),
    globToRegExp(g).test(t),
    `glob ${JSON.stringify(g)} on ${JSON.stringify(t)}`,
  );
};

test('GlobMatcher matches exactly what the old regex matched: random globs, random paths', () => {
  fc.assert(
    fc.property(glob, text, (g, t) => agrees(g, t)),
    { numRuns: 5000 },
  );
});

test('GlobMatcher matches exactly what the old regex matched: paths made from the glob', () => {
  let matched = 0;
  fc.assert(
    fc.property(globAndInstance, ([g, t]) => {
      agrees(g, t);
      if (globToRegExp(g).test(t)) matched++;
    }),
    { numRuns: 5000 },
  );
  assert.ok(matched > 1000, `${matched} of 5000 matched: the cases that match are tested too`);
});

test('one matcher tests many paths (its buffers are reused)', () => {
  fc.assert(
    fc.property(glob, fc.array(text, { maxLength: 10 }), (g, ts) => {
      const m = new GlobMatcher(g);
      const re = globToRegExp(g);
      for (const t of ts) assert.equal(m.test(t), re.test(t));
    }),
    { numRuns: 1000 },
  );
});
