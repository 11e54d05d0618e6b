/** The connection decodes one ut_pex message in PEX_DECODE_INTERVAL_MS (src/net/pex-gate.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PEX_INTERVAL_MS } from '../../../machines/torrent-pex.js';
import { PEX_DECODE_INTERVAL_MS, PexGate } from '../../../src/net/pex-gate.js';

test('one ut_pex message is decoded per interval; the rest are dropped undecoded', () => {
  let now = 1_000;
  const gate = new PexGate(() => now);
  assert.equal(gate.take(), true);
  for (let i = 0; i < 1000; i++) assert.equal(gate.take(), false);
  now += PEX_DECODE_INTERVAL_MS - 1;
  assert.equal(gate.take(), false);
  now += 1;
  assert.equal(gate.take(), true);
});

test("a peer keeping the convention loses no message to the gate: libtorrent's, Transmission's, ours", () => {
  // libtorrent: its first at the first second tick, then every 60 s; Transmission: right after the
  // extension handshake, then every 90 s; bitstate: the first 5 s tick, then every minute. Each
  // read up to 5 s late (a rate-limited connection).
  for (const [first, every] of [
    [1_000, 60_000],
    [0, 90_000],
    [5_000, PEX_INTERVAL_MS],
  ]) {
    let now = 0;
    const gate = new PexGate(() => now);
    for (let i = 0; i < 20; i++) {
      now = first! + i * every! + (i % 2) * 5_000;
      assert.equal(gate.take(), true, `message ${i} at ${now} ms (every ${every} ms)`);
    }
  }
});
