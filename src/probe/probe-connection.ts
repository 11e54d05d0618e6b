/**
 * Plays one probe script against a target peer over one TCP connection, and hands everything the
 * target sends to a ConformanceLedger (conformance-ledger.ts).
 *
 *   probe                                   target
 *   handshake (BEP 6 + BEP 10 bits)  ──►
 *                                    ◄──    handshake, bitfield / haveAll, extension handshake …
 *   haveNone (BEP 6), extension handshake, interested
 *   … wait up to `unchokeWaitMs` for an unchoke …
 *   step 0, step 1, …  (probe-step.ts)  ──►  (answers judged as they come)
 *   … wait up to `drainMs` for the blocks still asked for, listen `settleMs` more, then close
 *
 * Everything is bounded: the connect, the handshake, each wait, the whole run (`runTimeoutMs`);
 * what the target sends goes through the wire decoder's frame limits, and only the blocks of at
 * most MAX_ASSEMBLED_PIECES pieces are kept (for their SHA-1). Requests stay within the target's
 * BEP 10 `reqq` (Transmission drops what is past it) and `maxOutstanding`.
 */
import type { Socket } from 'node:net';
import { bencode } from '../metainfo/bencode.js';
import { pieceLengthAt } from '../metainfo/torrent.js';
import type { PeerAddress } from '../net/address.js';
import { BLOCK_LENGTH } from '../wire/limits.js';
import type { WireMessage } from '../wire/messages.js';
import { hasExtensionBit } from '../wire/reserved-bits.js';
import { ConformanceLedger, type Finding, type LedgerTorrent } from './conformance-ledger.js';
import { encodeFramingStep } from './framing-step.js';
import { ProbeError } from './probe-error.js';
import { openProbeSocket } from './probe-socket.js';
import { describeStep, isHostile, type ProbeStep } from './probe-step.js';
import type { SwarmHooks } from './probe-swarm.js';
import { ProbeWire } from './probe-wire.js';

export interface ProbeConnectionOptions {
  /** Bound on the TCP connect and on the target's handshake (default 5 s). */
  readonly connectTimeoutMs?: number;
  /** How long the opening waits for an unchoke before the steps start anyway (default 3 s). */
  readonly unchokeWaitMs?: number;
  /** After the last step: how long the blocks still asked for may take (default 2 s). */
  readonly drainMs?: number;
  /**
   * Then how long the target is still listened to (default 100 ms): what it sends right after the
   * last block it owed (an extra block, a late bitfield) is judged too, not cut off by the close.
   */
  readonly settleMs?: number;
  /** Bound on the whole run (default 30 s): past it the connection is closed where it stands. */
  readonly runTimeoutMs?: number;
  /** Requests in flight at most, whatever the target's reqq (default 250). */
  readonly maxOutstanding?: number;
  /** One of several connections at once (probe-swarm.ts): what it sees is told to the group. */
  readonly swarm?: SwarmHooks;
}

export interface ProbeRunResult {
  /** What the probe did: fetched from a target that seeds, or served one that downloads (`--data`). */
  readonly role: 'fetch' | 'serve';
  readonly findings: readonly Finding[];
  readonly violations: number;
  /** Steps played (a step that had nothing to act on, e.g. a cancel with no request out, counts). */
  readonly stepsPlayed: number;
  /** Who closed the connection; `target` at `closedAtStep` (-1: during the opening). */
  readonly closedBy: 'target' | 'probe';
  readonly closedAtStep?: number;
  /** The step the target closed after, in words, when it did. */
  readonly closedAfter?: string;
  /** Messages received, by type. */
  readonly received: Readonly<Record<string, number>>;
  readonly blocksReceived: number;
  readonly piecesVerified: number;
  /** Blocks the probe served (serving only), and of those, corrupted on purpose. */
  readonly blocksServed: number;
  readonly blocksCorrupted: number;
  /** Both ends set the BEP 6 / BEP 10 bits. */
  readonly fast: boolean;
  readonly elapsedMs: number;
}

const DEFAULTS = {
  connectTimeoutMs: 5_000,
  unchokeWaitMs: 3_000,
  drainMs: 2_000,
  settleMs: 100,
  runTimeoutMs: 30_000,
  maxOutstanding: 250,
};

/** The BEP 10 handshake we send: no extension offered (`m` empty), our request queue. */
export const OUR_REQQ = 250;
export const OUR_EXTENSION_HANDSHAKE = bencode({ m: {}, v: 'bitstate probe', reqq: OUR_REQQ });

export async function runProbeScript(
  torrent: LedgerTorrent,
  target: PeerAddress,
  script: readonly ProbeStep[],
  options: ProbeConnectionOptions = {},
): Promise<ProbeRunResult> {
  const o = { ...DEFAULTS, ...options };
  const started = Date.now();
  const deadline = started + o.runTimeoutMs;
  const ledger = new ConformanceLedger(torrent);
  const received: Record<string, number> = {};
  let socket: Socket;
  try {
    socket = await openProbeSocket(target, o.connectTimeoutMs);
  } catch (e) {
    // A target that stops taking our connections (it banned the probe's address after a hostile
    // run, say) is within its rights: a note, and the run ends here.
    if (!(e instanceof ProbeError)) throw e;
    ledger.note('connection.refused', 3, e.message);
    return result(
      ledger,
      { stepsPlayed: 0, closedBy: 'target', closedAtStep: -1, closedAfter: 'the connect' },
      {},
      started,
    );
  }
  /** Blocks of `requestPiece` steps not yet asked for (room in the target's queue first). */
  const queued: [number, number, number][] = [];
  const wire = new ProbeWire(socket, deadline, {
    item: (item) => {
      received[item.type] = (received[item.type] ?? 0) + 1;
      if (item.type === 'handshake') ledger.handshake(item);
      else {
        ledger.received(item);
        o.swarm?.received(item, wire.step);
      }
    },
    wireError: (err) => ledger.wireError(err),
    afterChunk: () => topUp(),
  });
  const sendMessage = (m: WireMessage) => wire.sendMessage(m);
  const room = () => Math.min(o.maxOutstanding, ledger.reqq ?? o.maxOutstanding) - ledger.outstandingRequests;
  function request(index: number, begin: number, length: number) {
    ledger.requested(index, begin, length);
    sendMessage({ type: 'request', index, begin, length });
  }
  function topUp() {
    while (queued.length > 0 && room() > 0 && !wire.closed) {
      const [index, begin, length] = queued.shift()!;
      request(index, begin, length);
    }
  }

  try {
    const h = await wire.exchangeHandshakes(torrent.infoHash, o.connectTimeoutMs);
    if (h === undefined) ledger.note('handshake.none', 3, wire.whyNoHandshake(o.connectTimeoutMs));
    else {
      if (ledger.fast) sendMessage({ type: 'haveNone' });
      if (hasExtensionBit(h.reserved))
        sendMessage({ type: 'extended', extendedId: 0, payload: OUR_EXTENSION_HANDSHAKE });
      sendMessage({ type: 'interested' });
      await wire.waitUntil(o.unchokeWaitMs, () => !ledger.choking);
      for (wire.step = 0; wire.step < script.length && !wire.closed && Date.now() < deadline; wire.step++) {
        ledger.step = wire.step;
        await play(script[wire.step]!);
        // Let what the target sent in answer be read before the next step.
        await new Promise((r) => setImmediate(r));
      }
      ledger.step = script.length;
      await wire.waitUntil(o.drainMs, () => ledger.outstandingRequests === 0 && queued.length === 0);
      await o.swarm?.linger(wire);
      await wire.waitUntil(o.settleMs, () => false);
      if (!wire.closed) ledger.end();
    }
  } finally {
    wire.finish('probe');
  }

  async function play(s: ProbeStep): Promise<void> {
    const haves = ledger.haves();
    const pieceOf = (pick: number) => (haves.length === 0 ? undefined : haves[pick % haves.length]!);
    const n = torrent.pieceCount;
    switch (s.kind) {
      case 'interested':
      case 'notInterested':
      case 'keepAlive':
        return sendMessage({ type: s.kind });
      case 'request': {
        const index = pieceOf(s.pick);
        if (index === undefined || room() <= 0) return;
        const plen = pieceLengthAt(torrent, index);
        const begin = (s.block % Math.ceil(plen / BLOCK_LENGTH)) * BLOCK_LENGTH;
        return request(index, begin, Math.min(BLOCK_LENGTH, plen - begin));
      }
      case 'requestPiece': {
        const index = pieceOf(s.pick);
        if (index === undefined) return;
        ledger.assemble(index);
        const plen = pieceLengthAt(torrent, index);
        for (let begin = 0; begin < plen; begin += BLOCK_LENGTH)
          queued.push([index, begin, Math.min(BLOCK_LENGTH, plen - begin)]);
        return topUp();
      }
      case 'cancel': {
        const out = ledger.outstanding();
        if (out.length === 0) return;
        const [index, begin, length] = out[s.nth % out.length]!;
        ledger.cancelled(index, begin);
        return sendMessage({ type: 'cancel', index, begin, length });
      }
      case 'wait':
        return wire.waitUntil(s.ms, () => false);
      case 'extendedHandshake':
        return sendMessage({ type: 'extended', extendedId: 0, payload: OUR_EXTENSION_HANDSHAKE });
      case 'requestTooLong': {
        const index = pieceOf(s.pick) ?? s.pick % n;
        ledger.requested(index, 0, s.length, true);
        return sendMessage({ type: 'request', index, begin: 0, length: s.length });
      }
      case 'requestOutOfRange': {
        // Even picks: a piece past the last; odd: a block that runs `overshoot` bytes past its piece.
        const index = s.pick % 2 === 0 ? n + ((s.pick >> 1) % 16) : (pieceOf(s.pick) ?? 0);
        const plen = index < n ? pieceLengthAt(torrent, index) : BLOCK_LENGTH;
        const begin = index < n ? Math.max(0, plen - BLOCK_LENGTH) + s.overshoot : 0;
        ledger.requested(index, begin, BLOCK_LENGTH, true);
        return sendMessage({ type: 'request', index, begin, length: BLOCK_LENGTH });
      }
      case 'unsolicitedPiece':
        return sendMessage({
          type: 'piece',
          index: s.pick % n,
          begin: 0,
          block: new Uint8Array(BLOCK_LENGTH),
        });
      default:
        // The hostile steps both sides share (framing-step.ts).
        return wire.send(encodeFramingStep(s, n));
    }
  }

  const at = wire.closedAtStep;
  const closedAfter = at === undefined ? undefined : closeCause(script, at, isHostile);
  const stepsPlayed = Math.min(Math.max(wire.step, 0), script.length);
  return result(
    ledger,
    { stepsPlayed, closedBy: wire.closedBy, closedAtStep: at, closedAfter },
    received,
    started,
  );
}

function result(
  ledger: ConformanceLedger,
  close: {
    stepsPlayed: number;
    closedBy: 'target' | 'probe';
    closedAtStep: number | undefined;
    closedAfter: string | undefined;
  },
  received: Record<string, number>,
  started: number,
): ProbeRunResult {
  return {
    role: 'fetch',
    findings: ledger.findings,
    violations: ledger.violations,
    stepsPlayed: close.stepsPlayed,
    closedBy: close.closedBy,
    ...(close.closedAtStep === undefined ? {} : { closedAtStep: close.closedAtStep }),
    ...(close.closedAfter === undefined ? {} : { closedAfter: close.closedAfter }),
    received,
    blocksReceived: ledger.blocksReceived,
    piecesVerified: ledger.piecesVerified,
    blocksServed: 0,
    blocksCorrupted: 0,
    fast: ledger.fast,
    elapsedMs: Date.now() - started,
  };
}

/**
 * What the target closed after, in words: the last hostile step played before the close (what it
 * most likely answered), else the step being played, else the opening. (Both sides' scripts.)
 */
export function closeCause<S extends { readonly kind: string }>(
  script: readonly S[],
  at: number,
  hostile: (s: S) => boolean,
): string {
  const upTo = Math.min(at, script.length - 1);
  for (let i = upTo; i >= 0; i--) if (hostile(script[i]!)) return `step ${i}: ${describeStep(script[i]!)}`;
  return upTo < 0 ? 'the opening' : `step ${upTo}: ${describeStep(script[upTo]!)}`;
}
