/**
 * A terminal for the display tests (src/cli/download-display.ts, seed-many-display.ts): a TTY
 * stderr 400 columns wide that records what is written to it.
 */
export function fakeTerminal(): { err: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const err = {
    isTTY: true,
    columns: 400,
    write(chunk: string) {
      text += chunk;
      return true;
    },
  } as unknown as NodeJS.WriteStream;
  return { err, text: () => text };
}
