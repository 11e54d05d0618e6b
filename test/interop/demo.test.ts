/**
 * The README's first command: `bitstate demo` (and `bitstate download` with no torrent) makes a
 * payload, starts `bitstate seed` children on 127.0.0.1 and downloads from them for real. Checked
 * through the built CLI's NDJSON: every piece verified, `done` last, exit 0, and the download's
 * bytes equal to the seeders' payload (--keep leaves both in its work folder).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { withDhtOff } from '../helpers/dht-off.js';
import { compareTrees } from './harness/payload.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'bitstate.js');

interface Event {
  type: string;
  [k: string]: unknown;
}

function runJson(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; events: Event[]; stderr: string }> {
  const child = spawn(process.execPath, [BIN, ...withDhtOff(args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
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
      const events = stdout
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Event);
      resolve({ code, events, stderr });
    });
  });
}

it('bitstate demo downloads the local swarm byte-exact', async (t) => {
  const r = await runJson(['demo', '--size', '6M', '--seeders', '2', '--keep', '--json'], 60_000);
  const meta = r.events.find((e) => e.type === 'metadata');
  // --keep leaves <work>/seed/<name> (the seeders' payload) beside <work>/download/<name>.
  const work = meta === undefined ? undefined : join(String(meta.out), '..', '..');
  t.after(() => (work === undefined ? undefined : rm(work, { recursive: true, force: true })));
  assertDownloaded(r, meta);
  const cmp = await compareTrees(join(work!, 'seed', String(meta!.name)), String(meta!.out));
  assert.ok(cmp.equal, JSON.stringify(cmp.mismatches));
  assert.ok(cmp.bytes > 6_000_000, `${cmp.bytes} bytes compared`);
});

it('bitstate demo --encryption required: the seeders and the download speak RC4 only', async (t) => {
  const r = await runJson(
    ['demo', '--size', '3M', '--seeders', '2', '--keep', '--json', '--encryption', 'required'],
    60_000,
  );
  const meta = r.events.find((e) => e.type === 'metadata');
  const work = meta === undefined ? undefined : join(String(meta.out), '..', '..');
  t.after(() => (work === undefined ? undefined : rm(work, { recursive: true, force: true })));
  assertDownloaded(r, meta);
  const used = r.events.filter((e) => e.type === 'peer.connected').map((e) => e.encryption);
  assert.deepEqual(used, ['rc4', 'rc4'], 'one RC4 connection to each seeder');
  const cmp = await compareTrees(join(work!, 'seed', String(meta!.name)), String(meta!.out));
  assert.ok(cmp.equal, JSON.stringify(cmp.mismatches));
});

it('bitstate demo --utp prefer: every connection is uTP, the download byte-exact', async (t) => {
  const r = await runJson(
    ['demo', '--size', '3M', '--seeders', '2', '--keep', '--json', '--utp', 'prefer'],
    60_000,
  );
  const meta = r.events.find((e) => e.type === 'metadata');
  const work = meta === undefined ? undefined : join(String(meta.out), '..', '..');
  t.after(() => (work === undefined ? undefined : rm(work, { recursive: true, force: true })));
  assertDownloaded(r, meta);
  const used = r.events.filter((e) => e.type === 'peer.connected').map((e) => e.transport);
  assert.deepEqual(used, ['utp', 'utp'], 'one uTP connection to each seeder');
  const cmp = await compareTrees(join(work!, 'seed', String(meta!.name)), String(meta!.out));
  assert.ok(cmp.equal, JSON.stringify(cmp.mismatches));
});

it('bitstate demo --encryption with a bad mode: one line, exit 2', async () => {
  const r = await runJson(['demo', '--encryption', 'rc4'], 20_000);
  assert.equal(r.code, 2);
  assert.deepEqual(r.events, []);
  assert.match(
    r.stderr,
    /^bitstate demo: --encryption wants one of plaintext, allowed, preferred, required, got "rc4"\n$/,
  );
});

it('bitstate download with no torrent runs the demo (64 MiB, 3 seeders) into --out', async (t) => {
  const out = await mkdtemp(join(tmpdir(), 'bitstate-demo-test-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const r = await runJson(['download', '--out', out, '--json'], 90_000);
  const meta = r.events.find((e) => e.type === 'metadata');
  assertDownloaded(r, meta);
  // Every piece passed its SHA-1 check; the files are there at the torrent's total size.
  let bytes = 0;
  for (const f of await readdir(String(meta!.out), { recursive: true, withFileTypes: true }))
    if (f.isFile()) bytes += (await stat(join(f.parentPath, f.name))).size;
  assert.equal(bytes, meta!.totalLength);
});

function assertDownloaded(
  r: { code: number | null; events: Event[]; stderr: string },
  meta: Event | undefined,
) {
  assert.equal(r.code, 0, r.stderr);
  assert.ok(meta !== undefined, 'a metadata event');
  const verified = new Set(r.events.filter((e) => e.type === 'piece.verified').map((e) => e.index));
  assert.equal(verified.size, meta.pieceCount, 'every piece verified');
  assert.ok(
    r.events.some((e) => e.type === 'peer.connected'),
    'connected to the local seeders',
  );
  assert.equal(r.events.at(-1)?.type, 'done', 'done is the last event');
}
