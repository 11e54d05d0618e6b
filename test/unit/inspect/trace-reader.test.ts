/**
 * readTrace on files that are the user's to get wrong: lines split across reads, CRLF, no final
 * newline; a line past MAX_TRACE_LINE (refused while it is read, not after buffering it — a 1 GiB
 * file with no newline made readline die with a stack trace at ~600 MB); a path that is missing or
 * a folder. Each is a TraceError (bad input, exit 2 at the CLI).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { TraceError, type TraceErrorCode } from '../../../src/inspect/trace-error.js';
import { MAX_TRACE_LINE, readTrace } from '../../../src/inspect/trace-reader.js';
import type { TraceRecord } from '../../../src/inspect/trace-record.js';
import { tempDir } from '../../helpers/temp-dir.js';

/** Bytes this process has read through read() calls, any thread (Linux: `rchar` of /proc/self/io). */
function bytesReadByThisProcess(): number {
  const rchar = /^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1];
  assert.ok(rchar !== undefined, '/proc/self/io has rchar');
  return Number(rchar);
}

async function readAll(path: string): Promise<TraceRecord[]> {
  const records: TraceRecord[] = [];
  for await (const r of readTrace(path)) records.push(r);
  return records;
}

const refusedAs = (code: TraceErrorCode, line?: number) => (e: unknown) =>
  e instanceof TraceError && e.code === code && e.badInput && (line === undefined || e.line === line);

const start: TraceRecord = { k: 'start', t: 0, version: 1, at: '2026-01-01T00:00:00.000Z' };

test('records split across reads, CRLF, blank lines and no final newline read as written', async (t) => {
  const dir = await tempDir(t, 'bitstate-trace-reader-');
  const big = { k: 'actor', t: 1, id: 'x:1', name: 'n'.repeat(200_000) } as const; // spans several 64 KiB reads
  const records: TraceRecord[] = [
    start,
    big,
    { k: 'end', t: 2 },
    { k: 'actor', t: 3, id: 'é', name: '日本' },
  ];
  const file = join(dir, 'ok.ndjson');
  const lines = records.map((r) => JSON.stringify(r));
  await writeFile(file, `${lines[0]}\r\n${lines[1]}\n\n${lines[2]}\r\n   \n${lines[3]}`);
  assert.deepEqual(await readAll(file), records);
});

test(`a line of MAX_TRACE_LINE bytes is read; one byte more is refused`, async (t) => {
  const dir = await tempDir(t, 'bitstate-trace-reader-');
  const json = JSON.stringify(start);
  const exact = join(dir, 'exact.ndjson');
  await writeFile(exact, `${json}${' '.repeat(MAX_TRACE_LINE - json.length)}\n`);
  assert.deepEqual(await readAll(exact), [start]);
  const over = join(dir, 'over.ndjson');
  await writeFile(over, `${json}\n${json}${' '.repeat(MAX_TRACE_LINE - json.length + 1)}\n`);
  await assert.rejects(readAll(over), refusedAs('lineTooLong', 2));
});

test('a 1 GiB file with no newline is refused at once, reading about MAX_TRACE_LINE of it', async (t) => {
  const dir = await tempDir(t, 'bitstate-trace-reader-');
  const file = join(dir, 'one-line.ndjson');
  await writeFile(file, '');
  await truncate(file, 1 << 30); // sparse: zeros, no newline
  const read = bytesReadByThisProcess();
  const before = process.memoryUsage().arrayBuffers;
  await assert.rejects(readAll(file), refusedAs('lineTooLong', 1));
  const bytes = bytesReadByThisProcess() - read;
  assert.ok(bytes < 4 * MAX_TRACE_LINE, `${bytes} bytes read`);
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * MAX_TRACE_LINE, 'buffers stay small');
});

test('a missing file or a folder is bad input, named in one line', async (t) => {
  const dir = await tempDir(t, 'bitstate-trace-reader-');
  const missing = join(dir, 'nonexistent.ndjson');
  await assert.rejects(readAll(missing), refusedAs('unreadable', 0));
  await assert.rejects(readAll(missing), { message: `${missing}: no such file` });
  await assert.rejects(readAll(dir), refusedAs('unreadable', 0));
  await assert.rejects(readAll(join(dir, 'nonexistent', 'x')), refusedAs('unreadable'));
});

test('an empty file is not a trace', async (t) => {
  const dir = await tempDir(t, 'bitstate-trace-reader-');
  const empty = join(dir, 'empty.ndjson');
  await writeFile(empty, '');
  await assert.rejects(readAll(empty), refusedAs('noStart', 0));
});
