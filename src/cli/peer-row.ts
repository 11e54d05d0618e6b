/**
 * One row of `--peers`, the table under the progress bar: address, client, state, rate, requests
 * out, in columns that hold whatever the row carries. A web seed's address is its URL (BEP 19),
 * often 60 characters and more; padded only, it pushed every later column out of line and wrapped
 * the row, and the display, which moves the cursor up one line per row to redraw, then drew over
 * the wrong lines. So a long address loses its middle (the host and the file's name stay, and a
 * URL's scheme goes: the client column says `web seed`), and no row is wider than the terminal.
 */

import type { PeerSummary } from '../session/download-event.js';
import { cells, cutToCells, fitCells, lastCells } from './cell-width.js';
import { formatRate } from './format.js';
import { printable } from './printable.js';

/** The address column's width: an IPv4 `host:port` (21 at most) and a space. */
export const ADDRESS_WIDTH = 22;
const CLIENT_WIDTH = 18;
const STATE_WIDTH = 12;

/** `p` as one row of at most `columns` characters (a terminal's width; its last column left free). */
export function peerRow(p: PeerSummary, columns: number): string {
  // Widths in terminal cells (cell-width.ts): a client name in CJK takes two cells a character.
  const row =
    `  ${fitCells(fitAddress(printable(p.address), ADDRESS_WIDTH), ADDRESS_WIDTH)} ` +
    `${fitCells(printable(p.client), CLIENT_WIDTH)} ` +
    `${fitCells(printable(p.state), STATE_WIDTH)} ` +
    `${formatRate(p.downloadRate).padStart(12)}  q=${p.outstanding}` +
    // uTP (docs/utp.md) when it carries the connection; MSE (docs/encryption.md): `rc4` or
    // `plaintext` when the connection began with it.
    `${p.transport === 'utp' ? ' utp' : ''}` +
    `${p.encryption === 'none' ? '' : ` ${p.encryption}`}`;
  return cutToCells(row, Math.max(20, columns - 1));
}

/**
 * `address` in at most `width` cells: as it is when it fits; an http(s) URL without its
 * scheme (and query); then, if still too long, its start and its end with `…` between — a URL's
 * host and the end of its file's name, an IPv6 address's first groups and its port.
 */
export function fitAddress(address: string, width: number): string {
  let s = address;
  if (cells(s) <= width) return s;
  const url = /^https?:\/\/([^?#]*)/i.exec(s);
  if (url !== null) s = url[1]!;
  if (cells(s) <= width) return s;
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return `${cutToCells(s, head)}…${lastCells(s, tail)}`;
}
