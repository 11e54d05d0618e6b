/**
 * A swarm of bitstate processes on 127.0.0.1 (issue #5): one `bitstate seed` capped at 1 MiB/s and
 * three `bitstate download` leechers that know each other. The payload (6 MiB) cannot come from
 * the seeder alone in the time the leechers take, so they must trade: each leecher's NDJSON
 * `uploaded` counter must be above zero, and every copy equals the source. Each leecher's BEP 10
 * handshake tells the seeder where it listens (`p`).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { withDhtOff } from '../helpers/dht-off.js';
import { type BitstateRun, bitstateBin, startBitstateDownload } from './harness/bitstate.js';
import { makeTorrent } from './harness/mktorrent.js';
import { compareTrees, writeSingleFilePayload } from './harness/payload.js';
import { getFreePorts } from './harness/ports.js';
import { type ManagedProcess, startProcess } from './harness/processes.js';

test('three leechers and a rate-capped seeder: everyone finishes, every leecher uploads', {
  timeout: 90_000,
}, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bitstate-swarm-'));
  let seeder: ManagedProcess | undefined;
  const leechers: BitstateRun[] = [];
  try {
    const payload = await writeSingleFilePayload({
      dir: join(dir, 'seed'),
      name: 'swarm.bin',
      size: 6 << 20,
      seed: 77,
    });
    const torrent = await makeTorrent({
      source: payload.root,
      out: join(dir, 'swarm.torrent'),
      pieceLength: 64 * 1024,
    });
    seeder = startProcess(
      process.execPath,
      [
        bitstateBin(),
        ...withDhtOff([
          'seed',
          torrent,
          '--data',
          join(dir, 'seed'),
          '--port',
          '0',
          '--no-tracker',
          '--json',
          '--max-up',
          '1M',
        ]),
      ],
      { name: 'bitstate seed', timeoutMs: 80_000 },
    );
    const line = await seeder.waitForLine(/"type":"listening"/, 20_000);
    const seedPort = (JSON.parse(line) as { port: number }).port;
    const heardListening = new Set<string>();
    seeder.onLine((l) => {
      if (l.includes('"type":"peer.listening"'))
        heardListening.add((JSON.parse(l) as { listenAddress: string }).listenAddress);
    });
    const ports = await getFreePorts(3);
    for (const [i, port] of ports.entries()) {
      leechers.push(
        startBitstateDownload({
          torrent,
          out: join(dir, `leech${i}`),
          port,
          noTracker: true,
          peers: [`127.0.0.1:${seedPort}`, ...ports.filter((p) => p !== port).map((p) => `127.0.0.1:${p}`)],
          timeoutMs: 75_000,
        }),
      );
    }
    const exits = await Promise.all(leechers.map((l) => l.exited));
    for (const [i, l] of leechers.entries()) {
      assert.equal(exits[i]?.code, 0, l.describe());
      const last = [...l.events].reverse().find((e) => e.type === 'progress');
      assert.ok(
        typeof last?.uploaded === 'number' && last.uploaded > 0,
        `leecher ${i} uploaded nothing: ${l.describe()}`,
      );
      const cmp = await compareTrees(payload.root, join(dir, `leech${i}`, 'swarm.bin'));
      assert.ok(cmp.equal, JSON.stringify(cmp));
    }
    // BEP 10 `p` both ways: each leecher told the seeder (which it dialled) the port it listens on.
    assert.deepEqual([...heardListening].sort(), ports.map((p) => `127.0.0.1:${p}`).sort());
  } finally {
    await Promise.all(leechers.map((l) => l.stop()));
    await seeder?.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
