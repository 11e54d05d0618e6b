/** `--utp MODE` (src/net/utp-mode.ts): what each mode dials first, and which words are modes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dialTransports, isUtpMode, UTP_MODES } from '../../../src/net/utp-mode.js';

test('each mode dials in its order; an address last reached over uTP starts there unless uTP is off', () => {
  assert.deepEqual(dialTransports('on', false), ['tcp', 'utp']);
  assert.deepEqual(dialTransports('on', true), ['utp', 'tcp']);
  assert.deepEqual(dialTransports('prefer', false), ['utp', 'tcp']);
  assert.deepEqual(dialTransports('prefer', true), ['utp', 'tcp']);
  assert.deepEqual(dialTransports('off', false), ['tcp']);
  assert.deepEqual(dialTransports('off', true), ['tcp']);
});

test('the modes are off, on and prefer; nothing else is one', () => {
  assert.deepEqual([...UTP_MODES], ['off', 'on', 'prefer']);
  for (const m of UTP_MODES) assert.equal(isUtpMode(m), true);
  for (const m of ['', 'ON', 'only', 'tcp', 'utp']) assert.equal(isUtpMode(m), false);
});
