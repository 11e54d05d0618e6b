/**
 * When to use uTP (BEP 29) beside TCP (docs/utp.md):
 * - `off`: neither accept nor dial uTP;
 * - `on` (default): accept uTP; dial TCP, and uTP when the TCP dial fails (refused, timed out) — an
 *   address reached that way is dialled over uTP first next time (the address book's `utpFirst`);
 * - `prefer`: dial uTP first, TCP when uTP fails, as libtorrent does.
 * Either way a dial tries each transport at most once.
 */
import type { PeerTransport } from './peer-stream.js';

export const UTP_MODES = ['off', 'on', 'prefer'] as const;
export type UtpMode = (typeof UTP_MODES)[number];
export const DEFAULT_UTP_MODE: UtpMode = 'on';

export function isUtpMode(s: string): s is UtpMode {
  return (UTP_MODES as readonly string[]).includes(s);
}

/** The transports a dial tries, in order. */
export function dialTransports(mode: UtpMode, utpFirst: boolean): readonly PeerTransport[] {
  if (mode === 'off') return ['tcp'];
  return mode === 'prefer' || utpFirst ? ['utp', 'tcp'] : ['tcp', 'utp'];
}
