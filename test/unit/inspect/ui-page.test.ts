/**
 * The dashboard page's own script, run in node:vm against a stub document: what a trace or a peer
 * puts in the view reaches the page's HTML escaped (a trace file opened with `replay --ui` is
 * anyone's).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runInNewContext } from 'node:vm';
import { dashboardPage } from '../../../src/inspect/ui-page.js';

/** An element that records what the script writes into it. */
function element(): Record<string, unknown> {
  return {
    innerHTML: '',
    textContent: '',
    style: {},
    dataset: {},
    width: 0,
    height: 0,
    classList: { toggle() {} },
    addEventListener() {},
    appendChild() {},
    querySelectorAll: () => [],
    getContext: () => ({ fillRect() {} }),
  };
}

test("the peers table escapes a peer's id, address, client, state and numbers from the view", () => {
  const html = dashboardPage('t', true);
  const script = html.slice(html.indexOf('<script>') + '<script>'.length, html.indexOf('</script>'));
  const elements = new Map<string, Record<string, unknown>>();
  const document = {
    getElementById: (id: string) => {
      if (!elements.has(id)) elements.set(id, element());
      return elements.get(id);
    },
    querySelectorAll: () => [],
    createElement: () => element(),
  };
  const sandbox: Record<string, unknown> = { document, fetch: () => new Promise(() => {}) };
  runInNewContext(`${script}\nglobalThis.render = render;`, sandbox);
  const evil = '"><img src=x onerror=alert(1)>';
  (sandbox.render as (v: unknown) => void)({
    t: 0,
    rate: 0,
    progress: { verified: 0, pieceCount: 1 },
    pieces: ['.'],
    torrent: null,
    peers: [
      {
        id: evil,
        address: evil,
        client: evil,
        state: evil,
        closed: evil,
        outstanding: evil,
        rate: 0,
        amInterested: false,
        amChoking: true,
        peerInterested: false,
        peerChoking: true,
      },
    ],
    charts: {},
    others: [],
  });
  const table = String(elements.get('peers')?.innerHTML);
  assert.match(table, /^<tr class="peer/);
  assert.doesNotMatch(table, /<img/, table);
  assert.equal(table.split('&lt;img').length - 1, 6, 'all six fields shown, escaped');
});
