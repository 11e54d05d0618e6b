/**
 * How many terminal cells text takes: the East Asian Wide and Fullwidth characters (Unicode UAX #11:
 * CJK, Hangul, kana, fullwidth forms) and the emoji blocks take two, everything else is counted as
 * one. Counting a zero-width mark as one only makes a row shorter than it may be; counting a wide
 * character as one made it wider than the terminal (a peer's client name is any UTF-8 it sends,
 * BEP 10's `v`), and a wrapped row breaks the redraw, which moves up one line per row.
 */

/** The main W and F ranges of UAX #11 (EastAsianWidth.txt), and the emoji blocks terminals draw wide. */
const WIDE: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f900, 0x1faff],
  [0x20000, 0x2fffd],
  [0x30000, 0x3fffd],
];

/** Cells of one character (a code point). */
export function charCells(c: string): 1 | 2 {
  const cp = c.codePointAt(0) ?? 0;
  if (cp < 0x1100) return 1;
  for (const [from, to] of WIDE) if (cp >= from && cp <= to) return 2;
  return 1;
}

/** Cells of `s`. */
export function cells(s: string): number {
  let n = 0;
  for (const c of s) n += charCells(c);
  return n;
}

/** The longest start of `s` within `width` cells. */
export function cutToCells(s: string, width: number): string {
  let n = 0;
  let out = '';
  for (const c of s) {
    n += charCells(c);
    if (n > width) break;
    out += c;
  }
  return out;
}

/** The longest end of `s` within `width` cells. */
export function lastCells(s: string, width: number): string {
  const chars = [...s];
  let n = 0;
  let at = chars.length;
  while (at > 0 && n + charCells(chars[at - 1]!) <= width) n += charCells(chars[--at]!);
  return chars.slice(at).join('');
}

/** `s` cut to `width` cells, then padded with spaces to exactly `width` (a wide character may leave one). */
export function fitCells(s: string, width: number): string {
  const cut = cutToCells(s, width);
  return cut + ' '.repeat(width - cells(cut));
}
