#!/usr/bin/env node
// Runs the test suite with Node's own test runner, TypeScript loaded through tsx.
// Usage: node scripts/test.mjs [layer ...]   (layers: unit property sim interop; default all)
// Node 20's `--test` takes no globs, so the files are found here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const layers = process.argv.slice(2);
const roots = (layers.length > 0 ? layers : ['unit', 'property', 'sim', 'interop']).map((l) =>
  join('test', l),
);

function find(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = roots.flatMap(find);
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
// --test-force-exit (Node 20.14+): a file whose tests have all ended exits, even if a test that
// failed before its cleanup was registered left a socket open (a DHT test did at load 30, and the
// whole run hung on it for good instead of reporting the failure). Each test still stops what it
// starts. Older Node 20 releases do not know the flag, and run without it.
const [major, minor] = process.versions.node.split('.').map(Number);
const forceExit = major > 20 || (major === 20 && minor >= 14) ? ['--test-force-exit'] : [];
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', ...forceExit, '--test-concurrency=2', '--test-reporter=spec', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
