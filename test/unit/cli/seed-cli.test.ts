/**
 * `bitstate seed` run as a user runs it — the built CLI (`bin/bitstate.js` → dist/, made by
 * `npm run build`) in a child process: a bad `--encryption` is one line on stderr with exit 2,
 * before any data is checked or any socket opened. 127.0.0.1 only; every child is killed after a
 * hard bound.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTorrent } from '../../../src/metainfo/create-torrent.js';
import { withDhtOff } from '../../helpers/dht-off.js';
import { tempDir } from '../../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'bitstate.js');

function bitstate(
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...withDhtOff(args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BITSTATE_DEBUG: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('seed --encryption with a bad mode: one line, exit 2, nothing served', async (t) => {
  const dir = await tempDir(t, 'bitstate-seed-cli-');
  const data = join(dir, 'data');
  await mkdir(data);
  await writeFile(join(data, 's.bin'), Buffer.alloc(40_000, 7));
  const torrent = join(dir, 's.torrent');
  await writeFile(torrent, await createTorrent(join(data, 's.bin'), { pieceLength: 16384 }));
  for (const bad of ['rc4', '', 'Required']) {
    const r = await bitstate([
      'seed',
      torrent,
      '--data',
      data,
      '--no-tracker',
      '--port',
      '0',
      '--encryption',
      bad,
    ]);
    const lines = r.stderr.split('\n').filter((l) => l.length > 0);
    assert.equal(r.code, 2, `exit 2 for ${JSON.stringify(bad)}; stderr: ${r.stderr}`);
    assert.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
    assert.match(
      lines[0]!,
      /^bitstate seed: --encryption wants one of plaintext, allowed, preferred, required/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stdout, '');
  }
});
