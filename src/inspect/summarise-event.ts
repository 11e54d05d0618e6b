/**
 * The one summariser for everything that leaves the process for inspection (Stately's inspector,
 * the dashboard, traces): bytes become their length (a 16 KiB block must never be serialised per
 * event — docs/architecture.md, "Decisions already measured"), objects with `toJSON()` give their
 * summary, Maps and Sets their size, class instances (sockets, actor refs) their kind, and depth
 * and array length are capped. Short byte strings (info-hash, peer id: ≤ 20 bytes) keep their hex.
 */

/**
 * Arrays longer than this keep their first items and a count. Large enough for a whole batch of
 * block refs (a `request` command holds at most a pipeline: DEFAULT_PEER_LIMITS.maxPipeline = 250),
 * so a trace shows every request sent.
 */
export const MAX_ARRAY_ITEMS = 256;
/** Nesting deeper than this becomes '…'. */
export const MAX_DEPTH = 4;
/** Byte strings up to this length keep their hex (ids); longer ones only their length. */
export const MAX_HEX_BYTES = 20;

export type Summary = null | boolean | number | string | Summary[] | { [key: string]: Summary };

export function summarise(value: unknown, depth = 0): Summary {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return null;
  }
  if (ArrayBuffer.isView(value)) {
    const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    return bytes.length <= MAX_HEX_BYTES ? { bytes: bytes.length, hex: hex(bytes) } : { bytes: bytes.length };
  }
  if (value instanceof ArrayBuffer) return { bytes: value.byteLength };
  if (depth >= MAX_DEPTH) return '…';
  const o = value as { toJSON?: () => unknown };
  if (typeof o.toJSON === 'function') return summarise(o.toJSON(), depth + 1);
  if (Array.isArray(value)) {
    const items = value.slice(0, MAX_ARRAY_ITEMS).map((v) => summarise(v, depth + 1));
    if (value.length > MAX_ARRAY_ITEMS) items.push(`… ${value.length} items`);
    return items;
  }
  if (value instanceof Map || value instanceof Set) return { size: value.size };
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // Actor refs, sockets, errors and other class instances: their kind, never their insides.
    if (value instanceof Error) return { error: value.message };
    const id = (value as { id?: unknown }).id;
    const kind = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    return typeof id === 'string' ? { [kind]: id } : { object: kind };
  }
  const out: { [key: string]: Summary } = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'function') continue;
    out[k] = summarise(v, depth + 1);
  }
  return out;
}

/** An event as it may leave the process: its type plus its summarised fields. */
export function summariseEvent(event: { type: string }): { type: string; [key: string]: Summary } {
  const s = summarise(event) as { [key: string]: Summary };
  return { ...s, type: event.type };
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}
