/**
 * Micro-benchmark of the wire decoder: 16 KiB piece messages arriving in 64 KiB chunks (how a TCP
 * socket tends to deliver a fast peer), plus the worst case of 1-byte chunks for scale.
 * Prints MB/s; not a test. Run: node --import tsx bench/wire-decode.bench.ts
 */
import { encodeMessage } from '../src/wire/encode-message.js';
import { BLOCK_LENGTH } from '../src/wire/limits.js';
import type { WireItem } from '../src/wire/messages.js';
import { WireDecoder } from '../src/wire/wire-decoder.js';

function stream(pieces: number): Uint8Array {
  const one = encodeMessage({
    type: 'piece',
    index: 0,
    begin: 0,
    block: new Uint8Array(BLOCK_LENGTH).fill(7),
  });
  const out = new Uint8Array(one.length * pieces);
  for (let i = 0; i < pieces; i++) out.set(one, i * one.length);
  return out;
}

function chunked(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

function run(label: string, chunks: Uint8Array[], totalBytes: number, rounds: number): void {
  let blocks = 0;
  const emit = (item: WireItem): void => {
    if (item.type === 'piece') blocks++;
  };
  // Warm up the JIT, then measure.
  for (let r = 0; r < 3; r++)
    for (const c of chunks) new WireDecoder({ expectHandshake: false }).push(c, emit);
  blocks = 0;
  let copied = 0;
  const start = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) {
    const d = new WireDecoder({ expectHandshake: false });
    for (const c of chunks) d.push(c, emit);
    copied += d.stats().bytesCopied;
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const mb = (totalBytes * rounds) / 1e6;
  console.log(
    `${label}: ${(mb / seconds).toFixed(0)} MB/s (${blocks} blocks, ${mb.toFixed(0)} MB in ${seconds.toFixed(3)} s, ` +
      `${((100 * copied) / (totalBytes * rounds)).toFixed(1)}% of bytes copied)`,
  );
}

const big = stream(1024); // 16 MiB of piece messages
run('16 KiB pieces in 64 KiB chunks', chunked(big, 64 * 1024), big.length, 100);
run('16 KiB pieces in 1460-byte chunks (one TCP segment)', chunked(big, 1460), big.length, 20);
const small = stream(16); // 256 KiB
run('16 KiB pieces in 1-byte chunks', chunked(small, 1), small.length, 2);
