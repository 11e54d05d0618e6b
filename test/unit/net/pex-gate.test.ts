/** The connection decodes one ut_pex message in PEX_DECODE_INTERVAL_MS (src/net/pex-gate.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PEX_MIN_INTERVAL_MS } from '../../../machines/torrent-pex.js';
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

test('the gate never drops a message the torrent machine would take', () => {
  assert.ok(PEX_DECODE_INTERVAL_MS < PEX_MIN_INTERVAL_MS);
});
