/**
 * A download loads the HTTP clients only for a source that needs them (start-up time,
 * docs/performance.md §6): a torrent with no tracker to ask and no web seed never loads node:http
 * or node:https. Each case runs `download()` in a child process and reads, once the torrent machine
 * runs (its first `progress` event), which of the two that process loaded. (node:dgram, the UDP
 * trackers' and the DHT's, cannot be told apart here: tsx loads it before any test code.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir, within } from '../../helpers/session.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The HTTP clients among the modules loaded by a download of a torrent with `urlList`. */
async function clientsLoaded(t: Parameters<typeof tempDir>[0], urlList: readonly string[]) {
  const dir = await tempDir(t, 'bitstate-lazy-');
  await writeFile(join(dir, 'p.bin'), Buffer.alloc(64 * 1024, 7));
  const script = `
    const { createTorrent } = await import('./src/metainfo/create-torrent.ts');
    const { parseTorrent } = await import('./src/metainfo/parse-torrent.ts');
    const { download } = await import('./src/session/download.ts');
    const bytes = await createTorrent(${JSON.stringify(join(dir, 'p.bin'))}, { urlList: ${JSON.stringify(urlList)} });
    const job = download(parseTorrent(bytes), {
      out: ${JSON.stringify(join(dir, 'out'))}, trackers: false, listen: false, webSeedRetryMs: 600000,
    });
    job.events$.subscribe((e) => {
      if (e.type !== 'progress') return;
      const loaded = process.moduleLoadList.filter((m) => /^NativeModule (http|https)$/.test(m));
      console.log(JSON.stringify(loaded));
      void job.stop();
    });
    await job.done;
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  t.after(() => child.kill('SIGKILL'));
  const code = await within(
    60_000,
    new Promise<number | null>((resolve) => child.on('close', resolve)),
    'download child',
  );
  assert.equal(code, 0, err);
  const line = out.split('\n').find((l) => l.startsWith('['));
  assert.ok(line !== undefined, `no module list in ${JSON.stringify(out)}`);
  return (JSON.parse(line) as string[]).map((m) => m.replace('NativeModule ', '')).sort();
}

test('a torrent with no tracker and no web seed loads no HTTP client', async (t) => {
  assert.deepEqual(await clientsLoaded(t, []), []);
});

test('a torrent with a web seed loads the HTTP clients for it', async (t) => {
  // Port 1 on loopback: nothing answers; the seed fails and waits out its retry.
  assert.deepEqual(await clientsLoaded(t, ['http://127.0.0.1:1/p.bin']), ['http', 'https']);
});
