/**
 * The package's two entries, as a program that installed bitstate imports them (the built dist/,
 * reached by the package's own name through its `exports`): `bitstate/probe` gives the probe, and
 * `bitstate` — the download path — never loads fast-check, whose import costs ~34 ms (docs/probe.md).
 * A module hook in the child records every module resolved from fast-check's folder. Needs the
 * build (`npm test` runs it first), as test/unit/cli/download-cli.test.ts does.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../../helpers/temp-dir.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Imports `specifier` in a fresh node from the package root; the fast-check modules it resolved. */
async function fastCheckModulesLoadedBy(
  dir: string,
  specifier: string,
): Promise<{ loaded: string[]; keys: string[] }> {
  const hooks = join(dir, 'hooks.mjs');
  await writeFile(
    hooks,
    `export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.includes('/node_modules/fast-check/')) process.stderr.write('FC ' + r.url + '\\n'); return r; }\n`,
  );
  const register = join(dir, 'register.mjs');
  await writeFile(
    register,
    `import { register } from 'node:module'; register(${JSON.stringify(`file://${hooks}`)});\n`,
  );
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      register,
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(specifier)}); console.log(Object.keys(m).join(' '));`,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  return {
    loaded: r.stderr.split('\n').filter((l) => l.startsWith('FC ')),
    keys: r.stdout.trim().split(' '),
  };
}

test('bitstate/probe gives the probe; bitstate itself loads no fast-check', async (t) => {
  const dir = await tempDir(t, 'bitstate-entry-');
  const probe = await fastCheckModulesLoadedBy(dir, 'bitstate/probe');
  for (const name of ['probePeer', 'probeScript', 'runProbeScript', 'ConformanceLedger'])
    assert.ok(probe.keys.includes(name), name);
  assert.ok(probe.loaded.length > 0, 'the hook saw fast-check load for the probe entry: it can see it');
  const library = await fastCheckModulesLoadedBy(dir, 'bitstate');
  assert.ok(library.keys.includes('download'));
  assert.deepEqual(library.loaded, []);
});
