/**
 * `bitstate replay` as the user runs it (a child process, from source) on files that are not good
 * traces: one line on stderr, exit 2, no stack trace; and names from the trace printed without
 * their control characters.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOneLineError, runCli } from '../../helpers/run-cli.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bitstate-replay-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('bitstate replay', { concurrency: true }, () => {
  it('a missing file: one line, exit 2', async () => {
    const missing = join(dir, 'nonexistent.ndjson');
    assertOneLineError(await runCli(['replay', missing]), {
      pattern: /^bitstate replay: .*nonexistent\.ndjson: no such file$/,
    });
  });

  it('a folder: one line, exit 2', async () => {
    assertOneLineError(await runCli(['replay', dir]), {
      pattern: /^bitstate replay: .*: a folder, not a trace file$/,
    });
  });

  it('a 64 MiB file with no newline: one line, exit 2, at once', async () => {
    const file = join(dir, 'one-line.ndjson');
    await writeFile(file, '');
    await truncate(file, 64 << 20);
    assertOneLineError(await runCli(['replay', file, '-q']), {
      pattern: /^bitstate replay: .*one-line\.ndjson:1: line longer than 1048576 bytes/,
    });
  });

  it('state changes named with control characters are printed with ? for them', async () => {
    const file = join(dir, 'escapes.ndjson');
    const records = [
      { k: 'start', t: 0, version: 1, at: '2026-01-01T00:00:00.000Z' },
      { k: 'actor', t: 0, id: 'p', name: 'peer:\x1b]0;TITLE\x07', machine: 'peer' },
      { k: 'state', t: 1, id: 'p', value: 'idle', status: 'active', event: 'xstate.init' },
      { k: 'state', t: 2, id: 'p', value: { 'x\x1b[2J': 'y\n' }, status: 'active', event: 'wire.\x1b[31m' },
      { k: 'end', t: 3 },
    ];
    await writeFile(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    const r = await runCli(['replay', file, '--speed', 'max']);
    assert.equal(r.code, 0, r.stderr);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for them is the point
    assert.doesNotMatch(r.stdout.replaceAll('\n', ''), /[\u0000-\u001f\u007f-\u009f]/);
    assert.match(r.stdout, /peer:\?\]0;TITLE\? {2}idle → x\?\[2J\.y\? {2}\(wire\.\?\[31m\)/);
  });
});
