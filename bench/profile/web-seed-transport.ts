/**
 * The two ways to have several range GETs in flight per web seed (BEP 19), measured on their own
 * against the benchmark's server (bench/profile/web-seed-server.ts, each connection limited to
 * RATE bytes a second): K GETs pipelined on one keep-alive connection (libtorrent's way: HTTP/1.1
 * pipelining, sent back to back, answered in order), or K connections with one GET at a time each
 * (aria2's -x/-s, and bitstate's since web-seed-connection.ts). SIZE bytes in 1 MiB ranges; prints
 * MB/s for each. A bench tool: the pipelined client reads only what this server sends (a status
 * line, headers with Content-Length, the body), nothing more of HTTP.
 *
 *   node --import tsx bench/profile/web-seed-transport.ts URL/payload.bin [--k 4] [--size 67108864]
 */
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { k: { type: 'string', default: '4' }, size: { type: 'string', default: String(64 * 2 ** 20) } },
});
const url = new URL(positionals[0] ?? '');
const k = Number(values.k);
const size = Number(values.size);
const RANGE = 2 ** 20;
const ranges = Array.from({ length: Math.ceil(size / RANGE) }, (_, i) => [
  i * RANGE,
  Math.min(size, (i + 1) * RANGE) - 1,
]);

/** K GETs at a time written back to back on one socket; the responses counted off in order. */
async function pipelined(): Promise<number> {
  const socket = connect(Number(url.port), url.hostname);
  await new Promise((r) => socket.once('connect', r));
  let next = 0;
  const ask = () => {
    const [a, b] = ranges[next++]!;
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nRange: bytes=${a}-${b}\r\n\r\n`);
  };
  for (let i = 0; i < k && next < ranges.length; i++) ask();
  let buffered = Buffer.alloc(0);
  let bodyLeft = 0;
  let done = 0;
  let bytes = 0;
  return new Promise((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, buffered.length);
          bodyLeft -= take;
          bytes += take;
          buffered = buffered.subarray(take);
          if (bodyLeft > 0) return;
          done++;
          if (next < ranges.length) ask();
          if (done === ranges.length) {
            socket.destroy();
            return resolve(bytes);
          }
        }
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffered.subarray(0, end).toString('latin1');
        bodyLeft = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        buffered = buffered.subarray(end + 4);
      }
    });
  });
}

/** K connections, each with one GET at a time (node:http, keep-alive). */
async function parallel(): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: k });
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < ranges.length) {
      const [a, b] = ranges[next++]!;
      await new Promise<void>((resolve, reject) => {
        request(url, { agent, headers: { range: `bytes=${a}-${b}` } }, (res) => {
          res.on('data', (c: Buffer) => {
            bytes += c.length;
          });
          res.on('end', resolve);
        })
          .on('error', reject)
          .end();
      });
    }
  };
  await Promise.all(Array.from({ length: k }, worker));
  agent.destroy();
  return bytes;
}

for (const [name, run] of [
  [`${k} GETs pipelined on 1 connection`, pipelined],
  [`${k} connections, 1 GET each at a time`, parallel],
] as const) {
  const t0 = performance.now();
  const bytes = await run();
  const s = (performance.now() - t0) / 1000;
  process.stdout.write(
    `${name}: ${(bytes / 1e6 / s).toFixed(1)} MB/s (${(bytes / 2 ** 20).toFixed(0)} MiB in ${s.toFixed(2)} s)\n`,
  );
}
