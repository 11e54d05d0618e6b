/**
 * fast-check: distinct file paths of 1–3 components drawn from `component`, none another's folder
 * (a/b and a/b/c cannot both be files) — what a torrent's file list may hold.
 */
import fc from 'fast-check';

export function filePathsArbitrary(component: fc.Arbitrary<string>, maxFiles: number) {
  return fc
    .uniqueArray(fc.array(component, { minLength: 1, maxLength: 3 }), {
      minLength: 1,
      maxLength: maxFiles,
      selector: (p) => p.join('/'),
    })
    .filter((paths) => {
      const joined = paths.map((p) => p.join('/'));
      return !joined.some((a) => joined.some((b) => b.startsWith(`${a}/`)));
    });
}
