/**
 * Plays one serving script (serving-step.ts) against a target that downloads the torrent, over one
 * TCP connection: the probe dials the target, announces what it has from its piece source
 * (piece-source.ts), and serves as the script says; a DownloaderLedger judges the target.
 *
 *   probe                                         target (downloading, listening)
 *   handshake (BEP 6 + BEP 10 bits)        ──►
 *                                          ◄──    handshake, bitfield / haveNone, extension handshake
 *   bitfield / haveAll (every piece we have but those the script's `have` steps will announce),
 *   extension handshake (reqq)             ──►
 *   … wait up to `interestWaitMs` for `interested` …       (we choke it, as every connection starts)
 *   step 0, step 1, …                      ──►    requests, cancels, haves (judged as they come)
 *   … listen `settleMs` more (a `have` of a piece we corrupted comes once it is hashed), close
 *
 * With `keepAliveEcho` (a target that answers each keep-alive with one, as the test suite's
 * hand-written downloaders do) silence decides nothing: `serve n` and the settle each send a
 * keep-alive and wait for its echo, which TCP orders after everything the target sent in answer
 * to what came before it; `settleMs` is then only the bound on that wait.
 *
 * The probe conforms where the script does not say otherwise: with BEP 6 it rejects each request
 * it will not serve (invalid ones, and those that come while it chokes and are not allowed fast);
 * without it, it drops them, as a choke does (BEP 3). Bounded like the fetching side: connect,
 * handshake, each wait, the whole run; pending requests at most MAX_PENDING_REQUESTS; what the
 * probe writes waits for the socket to drain past SEND_BUFFER_BYTES.
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pieceLengthAt } from '../metainfo/torrent.js';
import type { PeerAddress } from '../net/address.js';
import { BLOCK_LENGTH } from '../wire/limits.js';
import type { WireMessage } from '../wire/messages.js';
import { hasExtensionBit } from '../wire/reserved-bits.js';
import { DownloaderLedger } from './downloader-ledger.js';
import { encodeFramingStep } from './framing-step.js';
import type { PieceSource } from './piece-source.js';
import {
  closeCause,
  OUR_EXTENSION_HANDSHAKE,
  OUR_REQQ,
  type ProbeConnectionOptions,
  type ProbeRunResult,
} from './probe-connection.js';
import { ProbeError } from './probe-error.js';
import { openProbeSocket } from './probe-socket.js';
import { ProbeWire } from './probe-wire.js';
import { isHostileServing, type ServingStep } from './serving-step.js';

export interface ServingConnectionOptions extends ProbeConnectionOptions {
  /** How long the opening waits for the target's `interested` before the steps start anyway (3 s). */
  readonly interestWaitMs?: number;
  /**
   * The target answers each keep-alive with one, after whatever it sends in answer to the messages
   * before it (the test suite's hand-written downloaders do; no client does). Then `serve n` takes
   * the requests pending once a keep-alive it sent has come back, and the settle ends when the
   * keep-alive sent after the last step has come back: the verdict waits for the target's answers
   * instead of deciding on a silence, and `settleMs` only bounds each wait (the target may be
   * stuck in the middle of a frame a hostile step began, and never answer).
   */
  readonly keepAliveEcho?: boolean;
}

/** Bytes queued on the socket before the probe waits for it to drain. */
export const SEND_BUFFER_BYTES = 1 << 20;
/** How long a `serve n` with fewer than n requests pending waits for more, at most… */
const SERVE_WAIT_MS = 200;
/** …and no longer than this after the last request came (the target asks no more for now). */
const SERVE_IDLE_MS = 50;

const DEFAULTS = { connectTimeoutMs: 5_000, interestWaitMs: 3_000, settleMs: 500, runTimeoutMs: 30_000 };

export async function runServingScript(
  source: PieceSource,
  target: PeerAddress,
  script: readonly ServingStep[],
  options: ServingConnectionOptions = {},
): Promise<ProbeRunResult> {
  const o = { ...DEFAULTS, ...options };
  const torrent = source.torrent;
  const started = Date.now();
  const deadline = started + o.runTimeoutMs;
  const swarm = o.swarm;
  const ledger = new DownloaderLedger(torrent, swarm?.copies === undefined ? {} : { copies: swarm.copies });
  const received: Record<string, number> = {};
  let served = 0;
  let corrupted = 0;
  const result = (stepsPlayed: number, closedBy: 'target' | 'probe', at?: number): ProbeRunResult => ({
    role: 'serve',
    findings: ledger.findings,
    violations: ledger.violations,
    stepsPlayed,
    closedBy,
    ...(at === undefined
      ? {}
      : { closedAtStep: at, closedAfter: at < 0 ? 'the opening' : closeCause(script, at, isHostileServing) }),
    received,
    blocksReceived: received.piece ?? 0,
    piecesVerified: 0,
    blocksServed: served,
    blocksCorrupted: corrupted,
    fast: ledger.fast,
    elapsedMs: Date.now() - started,
  });
  let socket: Socket;
  try {
    socket = await openProbeSocket(target, o.connectTimeoutMs);
  } catch (e) {
    if (!(e instanceof ProbeError)) throw e;
    ledger.note('connection.refused', 3, e.message);
    return { ...result(0, 'target', -1), closedAfter: 'the connect' };
  }
  let interested = false;
  /** BEP 6: each request we will not serve gets its reject. */
  const sendRejects = () => {
    for (const p of ledger.takeRefused()) sendMessage({ type: 'reject', ...p });
  };
  const wire = new ProbeWire(socket, deadline, {
    item: (item) => {
      received[item.type] = (received[item.type] ?? 0) + 1;
      if (item.type === 'handshake') ledger.handshake(item);
      else {
        if (item.type === 'interested') interested = true;
        ledger.received(item);
        swarm?.received(item, wire.step);
      }
    },
    wireError: (err) => ledger.wireError(err),
    afterChunk: sendRejects,
  });
  const send = (bytes: Uint8Array) => wire.send(bytes);
  const sendMessage = (m: WireMessage) => wire.sendMessage(m);
  const waitUntil = (ms: number, done: () => boolean) => wire.waitUntil(ms, done);
  /** A target that does not read is not given more than SEND_BUFFER_BYTES to hold for it. */
  async function drained() {
    if (wire.closed || socket.writableLength < SEND_BUFFER_BYTES) return;
    const stop = new AbortController();
    const left = Math.max(0, deadline - Date.now());
    try {
      await Promise.race([
        once(socket, 'drain', { signal: stop.signal }).catch(() => {}),
        wire.whenClosed,
        sleep(left, undefined, { ref: false, signal: stop.signal }).catch(() => {}),
      ]);
    } finally {
      stop.abort();
    }
  }

  /** The pieces this connection has: all the source's, or its share of them in a group. */
  const have = swarm?.pieces ?? source.pieces;
  const announce = (indexes: number[]) => {
    ledger.announce(indexes);
    swarm?.announced(indexes);
  };
  const pieceOf = (pick: number) => have[pick % have.length]!;
  const announcedPick = (pick: number) => {
    const a = ledger.announced();
    return a.length === 0 ? undefined : a[pick % a.length]!;
  };
  /** Keep-alives sent, each of which an echoing target answers with one. */
  let keepAlivesSent = 0;
  /**
   * `keepAliveEcho`: sends a keep-alive and waits (up to `settleMs`) for the target's answers to
   * every one sent so far; the target has then sent all it will in answer to what came before.
   */
  async function roundTrip() {
    sendMessage({ type: 'keepAlive' });
    keepAlivesSent++;
    await waitUntil(o.settleMs, () => (received.keepAlive ?? 0) >= keepAlivesSent);
  }
  /** Waits for `n` requests pending, while the target is still asking (none come while choked). */
  async function requestsFor(n: number) {
    if (o.keepAliveEcho) return roundTrip();
    const end = Date.now() + SERVE_WAIT_MS;
    while (!ledger.choking && ledger.pending().length < n && Date.now() < end) {
      const before = ledger.requests;
      await waitUntil(Math.min(SERVE_IDLE_MS, end - Date.now()), () => ledger.requests !== before);
      if (ledger.requests === before) return;
    }
  }
  let corruptNext = false;
  async function serveBlock(p: { index: number; begin: number; length: number }, length = p.length) {
    const block = new Uint8Array(length);
    block.set(await source.readBlock(p.index, p.begin, Math.min(length, p.length)));
    const corrupt = corruptNext;
    if (corrupt) {
      // One byte in the middle flipped: the piece fails its SHA-1 (BEP 3), the framing is intact.
      block[length >> 1] = block[length >> 1]! ^ 0xff;
      corruptNext = false;
      corrupted++;
    }
    if (length === p.length) ledger.served(p, corrupt);
    served++;
    sendMessage({ type: 'piece', index: p.index, begin: p.begin, block });
    await drained();
  }

  try {
    const h = await wire.exchangeHandshakes(torrent.infoHash, o.connectTimeoutMs);
    if (h === undefined) ledger.note('handshake.none', 3, wire.whyNoHandshake(o.connectTimeoutMs));
    else {
      const withheld = new Set(script.flatMap((s) => (s.kind === 'have' ? [pieceOf(s.pick)] : [])));
      const opening = have.filter((i) => !withheld.has(i));
      if (ledger.fast && opening.length === torrent.pieceCount) sendMessage({ type: 'haveAll' });
      else if (ledger.fast && opening.length === 0) sendMessage({ type: 'haveNone' });
      else if (opening.length > 0)
        sendMessage({ type: 'bitfield', bitfield: bitfieldOf(opening, torrent.pieceCount) });
      announce(opening);
      if (hasExtensionBit(h.reserved)) {
        sendMessage({ type: 'extended', extendedId: 0, payload: OUR_EXTENSION_HANDSHAKE });
        ledger.offeredReqq(OUR_REQQ);
      }
      if (script.length > 0) await waitUntil(o.interestWaitMs, () => interested);
      for (wire.step = 0; wire.step < script.length && !wire.closed && Date.now() < deadline; wire.step++) {
        ledger.step = wire.step;
        await play(script[wire.step]!);
        await new Promise((r) => setImmediate(r));
      }
      ledger.step = script.length;
      // Listened to before the group is told this script is played: the `have` of a piece its
      // last blocks completed comes then, and a connection that lacks the piece must still be
      // waiting for it (probe-swarm.ts).
      if (o.keepAliveEcho) await roundTrip();
      else await waitUntil(o.settleMs, () => false);
      await swarm?.linger(wire);
      if (!wire.closed) ledger.end();
    }
  } finally {
    wire.finish('probe');
  }
  return result(Math.min(Math.max(wire.step, 0), script.length), wire.closedBy, wire.closedAtStep);

  async function play(s: ServingStep): Promise<void> {
    const n = torrent.pieceCount;
    switch (s.kind) {
      case 'unchoke':
        ledger.unchoke();
        return sendMessage({ type: 'unchoke' });
      case 'choke': {
        const rejects = ledger.choke();
        sendMessage({ type: 'choke' });
        for (const p of rejects) sendMessage({ type: 'reject', ...p });
        return;
      }
      case 'serve':
        await requestsFor(s.n);
        for (const p of ledger.takeOldest(s.n)) if (!wire.closed) await serveBlock(p);
        return;
      case 'reject': {
        const p = ledger.fast ? ledger.takeNth(s.nth) : undefined;
        if (p !== undefined) sendMessage({ type: 'reject', ...p });
        return;
      }
      case 'have': {
        const index = pieceOf(s.pick);
        announce([index]);
        return sendMessage({ type: 'have', index });
      }
      case 'allowedFast':
      case 'suggest': {
        const index = ledger.fast ? announcedPick(s.pick) : undefined;
        if (index === undefined) return;
        if (s.kind === 'allowedFast') ledger.allowFast(index);
        return sendMessage({ type: s.kind, index });
      }
      case 'keepAlive':
        keepAlivesSent++;
        return sendMessage({ type: 'keepAlive' });
      case 'wait':
        return waitUntil(s.ms, () => false);
      case 'corruptBlock':
        corruptNext = true;
        return;
      case 'unsolicitedBlock': {
        const index = announcedPick(s.pick);
        if (index === undefined) return;
        const length = Math.min(BLOCK_LENGTH, pieceLengthAt(torrent, index));
        const block = await source.readBlock(index, 0, length);
        served++;
        return sendMessage({ type: 'piece', index, begin: 0, block });
      }
      case 'wrongLengthBlock': {
        await requestsFor(1);
        const [p] = ledger.takeOldest(1);
        if (p === undefined || wire.closed) return;
        return serveBlock(p, s.longer ? p.length + s.by : Math.max(1, p.length - s.by));
      }
      default:
        // The hostile steps both sides share (framing-step.ts).
        return send(encodeFramingStep(s, n));
    }
  }
}

/** BEP 3's bitfield: high bit of byte 0 is piece 0, spare bits clear. */
function bitfieldOf(pieces: readonly number[], count: number): Uint8Array {
  const b = new Uint8Array(Math.ceil(count / 8));
  for (const i of pieces) b[i >> 3]! |= 0x80 >> (i & 7);
  return b;
}
