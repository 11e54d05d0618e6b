/**
 * The `--only` glob matcher: `*` any run of characters within a folder, `?` one character but `/`,
 * `**` any run across folders, `**\/` zero or more whole folders, everything else itself (`[`, `\`
 * and `{` included: there are no classes, escapes or alternatives). The path must match whole.
 *
 * File names come from the torrent, so the matcher must not be a backtracking regular expression:
 * `[^/]*-[^/]*-[^/]*…` against a 239-byte `a-a-…-a` tries every way to split it (50 files took 30 s
 * for five stars, each further star ~20× more). The simple two-pointer wildcard algorithm, which
 * only ever goes back to the last star, is wrong once stars differ in what they cross: `**c*d`
 * matches `cx/cd`, but a last-star-only matcher lets `*` take `x`, stops at `/` and fails. So the
 * glob is run as a set of states, as an NFA is (Thompson): after each character of the path, the
 * set of glob positions that the path so far can end at. Each character costs at most one visit
 * of each state, so a match is O(path length × glob length) with nothing to go back to, whatever
 * the names — at most 4,096 × the glob for a path of MAX_PATH_BYTES.
 */

/** One state: what it consumes, and where it may go without consuming. */
type Node =
  /** exactly this UTF-16 code unit, then the next state */
  | { readonly kind: 'char'; readonly code: number }
  /** any one code unit but `/`, then the next state */
  | { readonly kind: 'one' }
  /** any code unit (`/` only if `crossesFolders`), staying here; or on to the next state for free */
  | { readonly kind: 'star'; readonly crossesFolders: boolean }
  /** nothing: on to the next state, or over the `skip` states after it, for free (`**\/` may be empty) */
  | { readonly kind: 'optional'; readonly skip: number };

const SLASH = 0x2f;

/** The states of `glob`, read as the regex translation before this matcher read it (so `***` is `**` then `*`). */
function compile(glob: string): Node[] {
  const nodes: Node[] = [];
  for (let k = 0; k < glob.length; k++) {
    const code = glob.charCodeAt(k);
    if (code === 0x2a /* * */) {
      if (glob.charCodeAt(k + 1) === 0x2a) {
        k++;
        if (glob.charCodeAt(k + 1) === SLASH) {
          k++;
          // `**/` = (any run, then `/`) or nothing
          nodes.push(
            { kind: 'optional', skip: 2 },
            { kind: 'star', crossesFolders: true },
            { kind: 'char', code: SLASH },
          );
        } else nodes.push({ kind: 'star', crossesFolders: true });
      } else nodes.push({ kind: 'star', crossesFolders: false });
    } else if (code === 0x3f /* ? */) nodes.push({ kind: 'one' });
    else nodes.push({ kind: 'char', code });
  }
  return nodes;
}

export class GlobMatcher {
  private readonly nodes: Node[];
  /** `active[i]` = 1 when state i is reachable; `nodes.length` is the accepting state. */
  private active: Uint8Array;
  private next: Uint8Array;
  /** State visits so far, over every `test`: the work done, for tests that bound it. */
  steps = 0;

  constructor(readonly glob: string) {
    this.nodes = compile(glob);
    this.active = new Uint8Array(this.nodes.length + 1);
    this.next = new Uint8Array(this.nodes.length + 1);
  }

  /** Whether the whole of `text` matches the glob. */
  test(text: string): boolean {
    const n = this.nodes.length;
    this.active.fill(0);
    this.active[0] = 1;
    this.close(this.active);
    for (let p = 0; p < text.length; p++) {
      const c = text.charCodeAt(p);
      const next = this.next;
      next.fill(0);
      for (let i = 0; i < n; i++) {
        if (this.active[i] === 0) continue;
        this.steps++;
        const node = this.nodes[i]!;
        if (node.kind === 'char') {
          if (node.code === c) next[i + 1] = 1;
        } else if (node.kind === 'one') {
          if (c !== SLASH) next[i + 1] = 1;
        } else if (node.kind === 'star') {
          if (node.crossesFolders || c !== SLASH) next[i] = 1;
        }
      }
      this.close(next);
      this.next = this.active;
      this.active = next;
      if (this.active.indexOf(1) === -1) return false;
    }
    return this.active[n] === 1;
  }

  /** Adds the states reachable for free. Free moves only go forward, so one pass in order suffices. */
  private close(set: Uint8Array): void {
    const n = this.nodes.length;
    for (let i = 0; i < n; i++) {
      if (set[i] === 0) continue;
      const node = this.nodes[i]!;
      if (node.kind === 'star') set[i + 1] = 1;
      else if (node.kind === 'optional') {
        set[i + 1] = 1;
        set[i + 1 + node.skip] = 1;
      }
    }
  }
}
