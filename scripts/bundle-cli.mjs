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
  // No `keepNames`: it wraps every named closure in `__name()`, an Object.defineProperty each time
  // the closure is created, and xstate creates eight of them per `enqueueActions` call. Without it
  // a 1 GiB download spent ~0.1 s less user time (docs/performance.md, eighth pass). Error names are
  // explicit strings (`override readonly name = 'StorageError'`); a function esbuild renames to
  // avoid a clash in the bundle (`enqueue2`) shows that name only in a stack trace, which the CLI
  // never prints.
  // ws loads these optional native add-ons when they are installed and works without them.
  external: ['bufferutil', 'utf-8-validate'],
  banner: {
    js: "import { createRequire as __bitstateCreateRequire } from 'node:module'; const require = __bitstateCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
