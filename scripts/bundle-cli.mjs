#!/usr/bin/env node
// Bundles the CLI (bin/bitstate.js → dist/cli/main.js) from tsc's output in dist/src, so that a
// `bitstate` process loads a few files instead of ~180 modules and their packages: spawn → first
// verified piece went from ~180 to ~145 ms (docs/performance.md §6). Run by `npm run build`, after tsc.
//
// - dist/src stays the library (package.json "main"); only the CLI runs from the bundle.
// - Commands, the dashboard and the Stately inspector stay lazy: `splitting` turns each dynamic
//   import into its own chunk, loaded when used.
// - The hash worker is an entry of its own beside the chunks, where hash-pool.ts looks for it
//   (`./hash-worker.js` next to the importing module).
// - Packages written as CommonJS (ws, rxjs) call `require`; the banner gives every chunk a real one.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli');

rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js', 'dist/src/storage/hash-worker.js'],
  entryNames: '[name]',
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // No `keepNames`: it wraps every named function expression in `__name()`, an
  // Object.defineProperty each time such a closure is made. Some are made on every event: xstate's
  // `enqueue` and `check` per `enqueueActions` call and `exec` per action run, and ours (the torrent
  // machine's `toStorage`, the storage actor's `settled`, …). Without it a 1 GiB download took
  // ~0.1 s less CPU (docs/performance.md, eighth pass). Errors carry explicit names
  // (`override readonly name = 'StorageError'`); a function esbuild renames to avoid a clash in the
  // bundle (`enqueue2`) has that `name`, seen only in stack traces (printed with BITSTATE_DEBUG=1).
  // ws loads these optional native add-ons when they are installed and works without them.
  external: ['bufferutil', 'utf-8-validate'],
  banner: {
    js: "import { createRequire as __bitstateCreateRequire } from 'node:module'; const require = __bitstateCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
