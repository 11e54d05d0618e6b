/**
 * Our peer id (BEP 20 Azureus style): `-BS0100-` (client BS, version 0.1.0.0) then 12 random
 * printable bytes, so other clients' peer lists show "bitstate" and a tracker can tell sessions apart.
 */
import { randomBytes } from 'node:crypto';

export const PEER_ID_PREFIX = '-BS0100-';
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function makePeerId(): Uint8Array {
  const id = new Uint8Array(20);
  id.set(Buffer.from(PEER_ID_PREFIX, 'latin1'));
  const rnd = randomBytes(12);
  for (let i = 0; i < 12; i++) id[8 + i] = ALPHABET.charCodeAt(rnd[i]! % ALPHABET.length);
  return id;
}

/** A client name from a peer id: Azureus style `-XX1234-` or the raw printable prefix. */
export function describePeerId(id: Uint8Array): string {
  const s = Buffer.from(id).toString('latin1');
  const az = /^-([A-Za-z~]{2})(\w{4})-/.exec(s);
  if (az) {
    const names: Record<string, string> = {
      BS: 'bitstate',
      LT: 'libtorrent',
      lt: 'libTorrent (rakshasa)',
      TR: 'Transmission',
      qB: 'qBittorrent',
      DE: 'Deluge',
      AZ: 'Vuze',
      UT: 'µTorrent',
      WW: 'WebTorrent',
      RQ: 'rqbit',
    };
    return `${names[az[1]!] ?? az[1]} ${az[2]}`;
  }
  if (s.startsWith('A2-')) return `aria2 ${s.slice(3, 9)}`;
  return s.replace(/[^\x20-\x7e]/g, '.').slice(0, 8);
}
