/**
 * RC4 (src/net/rc4.ts): the published test vectors, and the word-at-a-time bulk path equal to the
 * byte path whatever the lengths, offsets (aligned or not) and the chunks a stream is cut into.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rc4 } from '../../../src/net/rc4.js';

test('RC4 matches the published test vectors', () => {
  const vector = (key: string, text: string) =>
    Buffer.from(new Rc4(Buffer.from(key)).apply(Buffer.from(text))).toString('hex');
  assert.equal(vector('Key', 'Plaintext'), 'bbf316e8d940af0ad3');
  assert.equal(vector('Wiki', 'pedia'), '1021bf0420');
  assert.equal(vector('Secret', 'Attack at dawn'), '45a01f645fc35b383552544b9bf5');
});

/** RC4 one byte at a time, as the algorithm is written: the reference for the bulk path. */
function reference(key: Uint8Array, data: Uint8Array): Uint8Array {
  const s = Uint8Array.from({ length: 256 }, (_, i) => i);
  for (let i = 0, j = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) & 255;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = new Uint8Array(data.length);
  for (let k = 0, i = 0, j = 0; k < data.length; k++) {
    i = (i + 1) & 255;
    j = (j + s[i]!) & 255;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = data[k]! ^ s[(s[i]! + s[j]!) & 255]!;
  }
  return out;
}

test('in place, into another array, aligned or not, in any chunks: the same keystream', () => {
  const key = Uint8Array.from({ length: 20 }, (_, i) => i * 13 + 5);
  const data = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 7919) & 255);
  const want = reference(key, data);
  for (const offset of [0, 1, 2, 3, 4]) {
    for (const cuts of [[], [1], [3, 17, 4096], [16, 33, 65_000], [7, 8, 9, 10, 11, 12]]) {
      const backing = new Uint8Array(data.length + 8);
      const inPlace = backing.subarray(offset, offset + data.length);
      inPlace.set(data);
      const copy = new Uint8Array(data.length);
      const a = new Rc4(key);
      const b = new Rc4(key);
      let from = 0;
      for (const to of [...cuts, data.length]) {
        a.applyTo(inPlace.subarray(from, to), inPlace.subarray(from, to));
        b.applyTo(data.subarray(from, to), copy.subarray(from, to));
        from = to;
      }
      assert.deepEqual(inPlace, want, `in place, offset ${offset}, cuts ${cuts}`);
      assert.deepEqual(copy, want, `copied, offset ${offset}, cuts ${cuts}`);
    }
  }
});
