import { Bitfield } from '../../../src/picker/bitfield.js';
import type { PiecePicker } from '../../../src/picker/piece-picker.js';

/** "1101" → a bitfield with pieces 0, 1 and 3 (libtorrent-style string state). */
export function bits(s: string): Bitfield {
  const b = new Bitfield(s.length);
  for (let i = 0; i < s.length; i++) if (s[i] === '1') b.set(i);
  return b;
}

/** Block states of one piece as a string: `.` missing, `r` requested, `x` received. */
export function blocksOf(p: PiecePicker, index: number): string {
  let s = '';
  for (let b = 0; b < p.geometry.blockCount(index); b++) {
    const st = p.blockStateOf(index, b);
    s += st === 'missing' ? '.' : st === 'requested' ? 'r' : 'x';
  }
  return s;
}

/** "index:block" labels of refs, for readable assertions. */
export function labels(p: PiecePicker, refs: readonly { index: number; begin: number }[]): string[] {
  return refs.map((r) => `${r.index}:${r.begin / p.geometry.blockLength}`);
}
