/**
 * `bitstate seed` and `bitstate download` find each other by Local Service Discovery (BEP 14)
 * alone: no tracker, no DHT, no --peer, LSD kept on 127.0.0.1 (`--lsd-interface`). The seed starts
 * first; the download's announce at its start reaches it, it dials the download, and the download
 * completes. The flags: --no-lsd with --lsd-interface, and an --lsd-interface that is not an IPv4
 * address, are bad input.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';
import { tempDir, within } from '../../helpers/session.js';

const LOOPBACK_LSD = ['--lsd-interface', '127.0.0.1'];

type Event = { type: string; [k: string]: unknown };

test('two bitstate processes find each other by LSD on 127.0.0.1 and the download completes', async (t) => {
  const dir = await tempDir(t, 'bitstate-lsd-cli-');
  const data = join(dir, 'data');
  await mkdir(data);
  const bytes = randomBytes(300_000); // a random payload: its info-hash is this test's own
  await writeFile(join(data, 'file.bin'), bytes);
  const torrentPath = join(dir, 'file.torrent');
  await writeFile(torrentPath, await createTorrent(join(data, 'file.bin'), { pieceLength: 32768 }));

  const seedEvents: Event[] = [];
  let stopSeed: ((s: NodeJS.Signals) => void) | undefined;
  let seedReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (seedReady = resolve));
  const seeding = runCli(
    ['seed', torrentPath, '--data', data, '--no-tracker', '--port', '0', '--json', ...LOOPBACK_LSD],
    {
      timeoutMs: 90_000,
      onLine: (line, signal) => {
        stopSeed = signal;
        const e = JSON.parse(line) as Event;
        seedEvents.push(e);
        if (e.type === 'lsd.ready') seedReady();
      },
    },
  );
  t.after(async () => {
    stopSeed?.('SIGINT');
    await seeding;
  });
  await within(60_000, ready, 'the seed runs LSD');
  assert.deepEqual(seedEvents.find((e) => e.type === 'lsd.ready')?.interfaces, ['127.0.0.1']);

  const out = join(dir, 'out');
  const got = await runCli(
    [
      'download',
      torrentPath,
      '-o',
      out,
      '--no-tracker',
      '--port',
      '0',
      '--json',
      '--timeout',
      '20',
      ...LOOPBACK_LSD,
    ],
    { timeoutMs: 60_000 },
  );
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(await readFile(join(out, 'file.bin')), bytes);
  const events = got.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Event);
  const port = events.find((e) => e.type === 'listening')?.port;
  // The seed heard the download's announce: its address is the download's listening port.
  assert.ok(
    seedEvents.some((e) => e.type === 'lsd.peer' && e.address === `127.0.0.1:${port}`),
    JSON.stringify(seedEvents.filter((e) => e.type.startsWith('lsd'))),
  );
  stopSeed?.('SIGINT');
  assert.equal((await seeding).code, 0);
});

test('--no-lsd with --lsd-interface, or an --lsd-interface not an IPv4 address, is bad input', async () => {
  assertOneLineError(await runCli(['seed', 'x.torrent', '--no-lsd', '--lsd-interface', '127.0.0.1']), {
    command: 'seed',
    pattern: /--lsd-interface goes without --no-lsd/,
  });
  assertOneLineError(await runCli(['download', 'x.torrent', '--lsd-interface', 'eth0']), {
    command: 'download',
    pattern: /--lsd-interface wants an interface's IPv4 address/,
  });
});
