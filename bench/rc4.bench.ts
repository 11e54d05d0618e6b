/**
 * Micro-benchmark of RC4's bulk path (src/net/rc4.ts), the cost of MSE with crypto_select RC4: 16 KiB
 * blocks in place (aligned: the word path), into a copy (a served block), and at an odd offset (the
 * byte path). Prints MB/s; not a test. Run: node --import tsx bench/rc4.bench.ts
 */
import { Rc4 } from '../src/net/rc4.js';

const BLOCK = 16 * 1024;
const ROUNDS = 16 * 1024; // 256 MiB per case

function run(
  label: string,
  apply: (rc4: Rc4, src: Uint8Array, dst: Uint8Array) => void,
  offset: number,
): void {
  const backing = new Uint8Array(BLOCK + 8).fill(7);
  const src = backing.subarray(offset, offset + BLOCK);
  const dst = new Uint8Array(BLOCK);
  const rc4 = new Rc4(Uint8Array.from({ length: 20 }, (_, i) => i));
  for (let r = 0; r < 2048; r++) apply(rc4, src, dst); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let r = 0; r < ROUNDS; r++) apply(rc4, src, dst);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${label.padEnd(34)} ${((ROUNDS * BLOCK) / 1e6 / seconds).toFixed(0).padStart(6)} MB/s`);
}

for (let pass = 0; pass < 2; pass++) {
  run('in place, aligned (reads, spans)', (r, s) => r.applyTo(s, s), 0);
  run('into a copy, aligned (served block)', (r, s, d) => r.applyTo(s, d), 0);
  run('in place, odd offset (byte path)', (r, s) => r.applyTo(s, s), 1);
}
