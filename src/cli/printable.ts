/**
 * Text from outside (a torrent's name and file names, a tracker's messages, a peer's client name, a
 * trace file, an error that quotes any of them) made safe for a terminal. A control character in
 * it could move the cursor, clear the screen, retitle the window or start a forged line ("FAKE:
 * done: 100%"), so each C0 control (newline and ESC included), DEL and each C1 control (U+0080 to
 * U+009F: 8-bit CSI/OSC, which some terminals obey in UTF-8 too) becomes `?`. Everything the CLI
 * prints on a terminal that it did not write itself goes through here.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `s` with every control character replaced by `?`. */
export function printable(s: string): string {
  return s.replace(CONTROL, '?');
}

/**
 * One JSON text for an NDJSON line. JSON.stringify already escapes C0 controls (`\u001b`, `\n`) but
 * leaves DEL and the C1 controls raw; those are escaped too (`\u009b`), so the line reads as the
 * same value and `--json` on a terminal cannot drive it either. (Outside strings JSON text is
 * ASCII, so only string contents change.)
 */
export function printableJson(value: object): string {
  return JSON.stringify(value).replace(
    /[\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
