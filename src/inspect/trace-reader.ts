/**
 * Reads a trace (NDJSON TraceRecords) line by line, checking each: a line longer than
 * MAX_TRACE_LINE bytes is refused as soon as that many bytes of it are read (the file is the
 * user's, and may be anything: a 1 GiB file with no newline once made readline buffer it whole and
 * die with a stack trace), and the first record must be `start`. A file that cannot be opened is a
 * TraceError too. Memory: one read buffer and at most one line.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { TraceError } from './trace-error.js';
import { isTraceRecord, type TraceRecord } from './trace-record.js';

/** No record we write comes near this (contexts and events are summaries). In bytes of UTF-8. */
export const MAX_TRACE_LINE = 1 << 20;

/** Bytes read at a time. */
const READ_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** Why a path given as a trace cannot be read, for the errors that are the caller's to fix. */
const UNREADABLE: Record<string, string> = {
  ENOENT: 'no such file',
  ENOTDIR: 'no such file (a part of the path is not a folder)',
  EISDIR: 'a folder, not a trace file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many levels of symlinks',
  ENAMETOOLONG: 'path too long',
};

function unreadable(path: string, e: unknown): unknown {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const why = code === undefined ? undefined : UNREADABLE[code];
  if (why === undefined) return e;
  return new TraceError('unreadable', `${path}: ${why}`, 0, { cause: e });
}

/**
 * The lines of the file, without their `\n` (or `\r\n`), as readline gave them: a last line without
 * a newline counts, an empty file has none. `lineTooLong` once a line passes MAX_TRACE_LINE bytes.
 */
async function* readLines(path: string): AsyncGenerator<string> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    /** The current line's bytes from earlier reads (copies: the buffer is reused). */
    let parts: Buffer[] = [];
    let partBytes = 0;
    let lineNumber = 1;
    const tooLong = () =>
      new TraceError(
        'lineTooLong',
        `${path}:${lineNumber}: line longer than ${MAX_TRACE_LINE} bytes — is this a bitstate --trace file?`,
        lineNumber,
      );
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await file.read(buffer, 0, READ_BYTES, null));
      } catch (e) {
        throw unreadable(path, e);
      }
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      while (start < chunk.length) {
        const newline = chunk.indexOf(NEWLINE, start);
        const end = newline === -1 ? chunk.length : newline;
        if (partBytes + (end - start) > MAX_TRACE_LINE) throw tooLong();
        if (newline === -1) {
          parts.push(Buffer.from(chunk.subarray(start)));
          partBytes += chunk.length - start;
          break;
        }
        const bytes =
          parts.length === 0
            ? chunk.subarray(start, end)
            : Buffer.concat([...parts, chunk.subarray(start, end)]);
        parts = [];
        partBytes = 0;
        start = newline + 1;
        const line = bytes.toString('utf8');
        yield line.endsWith('\r') ? line.slice(0, -1) : line;
        lineNumber++;
      }
    }
    if (partBytes > 0) {
      const line = Buffer.concat(parts).toString('utf8');
      yield line.endsWith('\r') ? line.slice(0, -1) : line;
    }
  } finally {
    await file.close();
  }
}

export async function* readTrace(path: string): AsyncGenerator<TraceRecord> {
  let n = 0;
  for await (const line of readLines(path)) {
    n++;
    if (line.trim() === '') continue;
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch {
      throw new TraceError('notJson', `${path}:${n}: not JSON — is this a bitstate --trace file?`, n);
    }
    if (!isTraceRecord(x)) throw new TraceError('notARecord', `${path}:${n}: not a trace record`, n);
    if (n === 1 && x.k !== 'start')
      throw new TraceError('noStart', `${path}:1: a trace starts with a start record`, n);
    yield x;
  }
  if (n === 0) throw new TraceError('noStart', `${path}: empty trace`, 0);
}
