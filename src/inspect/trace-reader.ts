/**
 * Reads a trace (NDJSON TraceRecords) line by line, checking each: a line longer than
 * MAX_TRACE_LINE is refused before it is parsed, and the first record must be `start`.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { TraceError } from './trace-error.js';
import { isTraceRecord, type TraceRecord } from './trace-record.js';

/** No record we write comes near this (contexts and events are summaries). */
export const MAX_TRACE_LINE = 1 << 20;

export async function* readTrace(path: string): AsyncGenerator<TraceRecord> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    if (line.length > MAX_TRACE_LINE)
      throw new TraceError(
        'lineTooLong',
        `${path}:${n}: line of ${line.length} characters (limit ${MAX_TRACE_LINE})`,
        n,
      );
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
