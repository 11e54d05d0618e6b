/**
 * The program reading the CLI's output goes away (`bitstate seed --json | head -1`): the next
 * write to stdout fails with EPIPE. A long command stops cleanly, as on Ctrl-C (seed: exit 0); any
 * other exits with 141 (128 + SIGPIPE); neither prints a stack trace. The built CLI, as a user
 * runs it (`npm test` builds first).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { parseTorrent } from '../../../src/metainfo/parse-torrent.js';
import { withDhtOff } from '../../helpers/dht-off.js';
import { startFlawedPeer } from '../../helpers/flawed-peer.js';
import { randomFileTorrent, tempDir, within } from '../../helpers/session.js';

const BIN = fileURLToPath(new URL('../../../bin/bitstate.js', import.meta.url));

/** Runs the CLI, closes our end of its stdout after its first line, and waits for its exit. */
async function readOneLineThenLeave(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...withDhtOff(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  child.stdout.once('data', () => child.stdout.destroy());
  try {
    return { code: await within(60_000, exited, `${args[0]} after its reader left`), stderr };
  } finally {
    child.kill('SIGKILL');
  }
}

async function torrentFile(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t, 'bitstate-epipe-');
  const { data } = await randomFileTorrent(dir, { size: 100_000 });
  const bytes = await createTorrent(join(data, 'file.bin'), { pieceLength: 32768 });
  const file = join(dir, 'e.torrent');
  await writeFile(file, bytes);
  return { file, data, torrent: parseTorrent(bytes), payload: await readFile(join(data, 'file.bin')) };
}

test('seed --json whose reader leaves stops cleanly: exit 0, no stack trace', async (t) => {
  const { file, data } = await torrentFile(t);
  const r = await readOneLineThenLeave([
    'seed',
    file,
    '--data',
    data,
    '--port',
    '0',
    '--no-tracker',
    '--json',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
});

test('probe --json whose reader leaves exits 141, no stack trace', async (t) => {
  const { file, torrent, payload } = await torrentFile(t);
  const peer = await startFlawedPeer({ torrent, payload, flaw: 'none' });
  t.after(() => peer.close());
  const r = await readOneLineThenLeave([
    'probe',
    file,
    '--peer',
    `127.0.0.1:${peer.port}`,
    '--runs',
    '100000',
    '--json',
  ]);
  assert.equal(r.code, 141, r.stderr);
  assert.doesNotMatch(r.stderr, /EPIPE|\n\s+at /);
});
