/**
 * Model-based test of the peer machine (fc.commands): random sequences of socket events, wire
 * messages, supervisor commands and clock advances, checked against a small model of what the
 * machine may send in each state — nothing before connect, only the handshake before the remote
 * handshake, requests only while interested and unchoked and only for pieces the peer has, never
 * more outstanding than the cap, never anything after close.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { CloseReasonName } from '../../machines/peer.types.js';
import type { WireItem } from '../../src/wire/messages.js';
import { INFO_HASH, type PeerHarness, startPeer, THEIR_ID } from '../unit/machines/peer-harness.js';

const PIECES = 12;
const BLOCK = 64;
const CAP = 4;
const TIMEOUTS = {
  connect: 4_000,
  handshake: 4_000,
  keepAlive: 3_000,
  idle: 20_000,
  request: 5_000,
  tick: 1_000,
};
const TIMEOUT_REASONS: CloseReasonName[] = [
  'connectTimeout',
  'handshakeTimeout',
  'keepAliveTimeout',
  'requestTimeout',
];

interface Model {
  connected: boolean;
  handshaken: boolean;
  closed: boolean;
  messageSeen: boolean;
  interested: boolean;
  peerChoking: boolean;
  peerHas: Set<number>;
  outstanding: Map<string, { index: number; begin: number }>;
}

interface Real {
  h: PeerHarness;
  seen: number;
}

/** The wire items sent since the last look. */
function newSends(r: Real): WireItem[] {
  const all = r.h.sent();
  const fresh = all.slice(r.seen);
  r.seen = all.length;
  return fresh;
}

type Cmd = fc.Command<Model, Real>;

function check(m: Model, r: Real, sent: WireItem[]): void {
  if (m.closed) {
    assert.deepEqual(sent, [], 'nothing is sent after close');
    assert.equal(r.h.isClosed(), true);
    return;
  }
  assert.equal(r.h.isClosed(), false, `closed unexpectedly: ${JSON.stringify(r.h.output())}`);
  for (const s of sent) {
    if (!m.connected) assert.fail(`sent ${s.type} before connecting`);
    if (!m.handshaken && s.type !== 'handshake') assert.fail(`sent ${s.type} before the remote handshake`);
  }
  assert.ok(m.outstanding.size <= CAP, 'outstanding within the cap');
}

const simple =
  (
    name: string,
    ok: (m: Model) => boolean,
    act: (m: Model, r: Real) => void,
    expect?: (m: Model, sent: WireItem[]) => void,
  ): (() => Cmd) =>
  () => ({
    check: (m) => !m.closed && ok(m),
    run: (m, r) => {
      act(m, r);
      const sent = newSends(r);
      expect?.(m, sent);
      check(m, r, sent);
    },
    toString: () => name,
  });

const connect = simple(
  'connect',
  (m) => !m.connected,
  (m, r) => {
    r.h.deliver({ type: 'socket.connected' });
    m.connected = true;
  },
  (_, sent) =>
    assert.deepEqual(
      sent.map((s) => s.type),
      ['handshake'],
    ),
);

const handshake = simple(
  'handshake',
  (m) => m.connected && !m.handshaken,
  (m, r) => {
    r.h.deliver({
      type: 'wire.handshake',
      infoHash: INFO_HASH,
      peerId: THEIR_ID,
      reserved: new Uint8Array(8),
    });
    m.handshaken = true;
  },
);

const choke = simple(
  'choke',
  (m) => m.handshaken,
  (m, r) => {
    r.h.deliver({ type: 'wire.choke' });
    m.messageSeen = true;
    m.peerChoking = true;
    m.outstanding.clear();
  },
);

const unchoke = simple(
  'unchoke',
  (m) => m.handshaken,
  (m, r) => {
    r.h.deliver({ type: 'wire.unchoke' });
    m.messageSeen = true;
    m.peerChoking = false;
  },
);

const interested = simple(
  'cmd.interested',
  (m) => m.handshaken,
  (m, r) => {
    r.h.command({ type: 'cmd.interested' });
    const was = m.interested;
    m.interested = true;
    return was;
  },
  (m, sent) => assert.ok(sent.every((s) => s.type === 'interested') && sent.length <= 1 && m.interested),
);

const notInterested = simple(
  'cmd.notInterested',
  (m) => m.handshaken,
  (m, r) => {
    r.h.command({ type: 'cmd.notInterested' });
    m.interested = false;
  },
);

const bitfieldCmd = fc.array(fc.boolean(), { minLength: PIECES, maxLength: PIECES }).map(
  (bits): Cmd => ({
    check: (m) => !m.closed && m.handshaken && !m.messageSeen,
    run: (m, r) => {
      const bytes = new Uint8Array(Math.ceil(PIECES / 8));
      bits.forEach((b, i) => {
        if (b) bytes[i >> 3]! |= 0x80 >> (i & 7);
      });
      r.h.deliver({ type: 'wire.bitfield', bitfield: bytes });
      m.messageSeen = true;
      for (const [i, b] of bits.entries()) if (b) m.peerHas.add(i);
      check(m, r, newSends(r));
    },
    toString: () => `bitfield ${bits.map((b) => (b ? 1 : 0)).join('')}`,
  }),
);

const haveCmd = fc.integer({ min: 0, max: PIECES - 1 }).map(
  (index): Cmd => ({
    check: (m) => !m.closed && m.handshaken,
    run: (m, r) => {
      r.h.deliver({ type: 'wire.have', index });
      m.messageSeen = true;
      m.peerHas.add(index);
      check(m, r, newSends(r));
    },
    toString: () => `have ${index}`,
  }),
);

const requestCmd = fc
  .array(
    fc.record({ index: fc.integer({ min: 0, max: PIECES - 1 }), block: fc.integer({ min: 0, max: 2 }) }),
    { minLength: 1, maxLength: 6 },
  )
  .map(
    (blocks): Cmd => ({
      check: (m) => !m.closed && m.handshaken,
      run: (m, r) => {
        const refs = blocks.map((b) => ({ index: b.index, begin: b.block * BLOCK, length: BLOCK }));
        r.h.command({ type: 'cmd.request', blocks: refs });
        const expected: string[] = [];
        for (const b of refs) {
          const k = `${b.index}:${b.begin}`;
          if (
            !m.interested ||
            m.peerChoking ||
            m.outstanding.size >= CAP ||
            !m.peerHas.has(b.index) ||
            m.outstanding.has(k)
          )
            continue;
          m.outstanding.set(k, b);
          expected.push(k);
        }
        const sent = newSends(r);
        assert.deepEqual(
          sent.flatMap((s) => (s.type === 'request' ? [`${s.index}:${s.begin}`] : [])),
          expected,
        );
        check(m, r, sent);
      },
      toString: () => `cmd.request ${blocks.map((b) => `${b.index}:${b.block}`).join(',')}`,
    }),
  );

const pieceCmd = fc.nat().map(
  (n): Cmd => ({
    check: (m) => !m.closed && m.outstanding.size > 0,
    run: (m, r) => {
      const [k, b] = [...m.outstanding.entries()][n % m.outstanding.size]!;
      r.h.deliver({ type: 'wire.piece', index: b.index, begin: b.begin, block: new Uint8Array(BLOCK) });
      m.outstanding.delete(k);
      m.messageSeen = true;
      check(m, r, newSends(r));
    },
    toString: () => `piece #${n}`,
  }),
);

const cancelCmd = fc.nat().map(
  (n): Cmd => ({
    check: (m) => !m.closed && m.outstanding.size > 0,
    run: (m, r) => {
      const [k, b] = [...m.outstanding.entries()][n % m.outstanding.size]!;
      r.h.command({ type: 'cmd.cancel', blocks: [{ ...b, length: BLOCK }] });
      m.outstanding.delete(k);
      const sent = newSends(r);
      assert.deepEqual(
        sent.map((s) => s.type),
        ['cancel'],
      );
      check(m, r, sent);
    },
    toString: () => `cmd.cancel #${n}`,
  }),
);

const advanceCmd = fc.integer({ min: 100, max: 7_000 }).map(
  (ms): Cmd => ({
    check: (m) => !m.closed,
    run: (m, r) => {
      const hadOutstanding = m.outstanding.size > 0;
      r.h.advance(ms);
      const sent = newSends(r);
      assert.ok(
        sent.every((s) => s.type === 'keepAlive'),
        'only keep-alives fall out of the clock',
      );
      if (r.h.isClosed()) {
        const reason = r.h.output()!.reason;
        assert.ok(TIMEOUT_REASONS.includes(reason), reason);
        if (reason === 'requestTimeout') assert.ok(hadOutstanding);
        m.closed = true;
        return;
      }
      // The connection is alive: the peer says so, as a real one would.
      if (m.handshaken) r.h.deliver({ type: 'wire.keepAlive' });
      check(m, r, sent);
    },
    toString: () => `advance ${ms} ms`,
  }),
);

/**
 * BEP 10's handshake, with any `p` at all: nothing is sent back, nothing closes, nothing is
 * reported for a peer we dialled (where it listens we know already).
 */
const extendedCmd = fc.option(fc.integer({ min: -70_000, max: 140_000 }), { nil: undefined }).map(
  (listenPort): Cmd => ({
    check: (m) => !m.closed && m.handshaken,
    run: (m, r) => {
      const reports = r.h.reports.length;
      r.h.deliver(
        listenPort === undefined
          ? { type: 'wire.extendedHandshake' }
          : { type: 'wire.extendedHandshake', listenPort },
      );
      m.messageSeen = true;
      const sent = newSends(r);
      assert.deepEqual(sent, []);
      assert.deepEqual(
        r.h.reports.slice(reports).filter((x) => x.type === 'peer.listening'),
        [],
      );
      check(m, r, sent);
    },
    toString: () => `extended handshake (p ${listenPort})`,
  }),
);

const closeCmd = fc.constantFrom<'socket' | 'banned' | 'violation'>('socket', 'banned', 'violation').map(
  (how): Cmd => ({
    check: (m) => !m.closed && (how !== 'violation' || m.handshaken),
    run: (m, r) => {
      if (how === 'socket') r.h.deliver({ type: 'socket.closed' });
      else if (how === 'banned') r.h.command({ type: 'cmd.close', reason: { reason: 'banned' } });
      else r.h.deliver({ type: 'wire.have', index: PIECES });
      m.closed = true;
      const expected = { socket: 'socketClosed', banned: 'banned', violation: 'haveOutOfRange' }[how];
      assert.equal(r.h.output()?.reason, expected);
      // After close: the supervisor's stragglers and time change nothing.
      r.h.command({ type: 'cmd.have', index: 0 });
      r.h.advance(10_000);
      check(m, r, newSends(r));
    },
    toString: () => `close (${how})`,
  }),
);

test('the peer machine sends only what its state allows (model-based)', () => {
  const commands = fc.commands(
    // Repeats weigh the choice: the interesting states lie behind connect, handshake and interest.
    [
      fc.constant(connect()),
      fc.constant(connect()),
      fc.constant(handshake()),
      fc.constant(handshake()),
      fc.constant(choke()),
      fc.constant(unchoke()),
      fc.constant(unchoke()),
      fc.constant(interested()),
      fc.constant(interested()),
      fc.constant(notInterested()),
      bitfieldCmd,
      bitfieldCmd,
      haveCmd,
      haveCmd,
      requestCmd,
      requestCmd,
      requestCmd,
      pieceCmd,
      pieceCmd,
      cancelCmd,
      extendedCmd,
      advanceCmd,
      closeCmd,
    ],
    { maxCommands: 60, size: 'max' },
  );
  fc.assert(
    fc.property(commands, (cmds) => {
      const h = startPeer({
        pieceCount: PIECES,
        pieceLength: 3 * BLOCK,
        totalLength: PIECES * 3 * BLOCK,
        timeouts: TIMEOUTS,
        limits: { maxPipeline: CAP, initialPipeline: CAP, blockLength: BLOCK },
      });
      const model: Model = {
        connected: false,
        handshaken: false,
        closed: false,
        messageSeen: false,
        interested: false,
        peerChoking: true,
        peerHas: new Set(),
        outstanding: new Map(),
      };
      try {
        fc.modelRun(() => ({ model, real: { h, seen: 0 } }), cmds);
      } finally {
        h.stop();
      }
    }),
    { numRuns: 300 },
  );
});

test("an incoming peer's p is reported once per extension handshake, exactly when it is a port", () => {
  fc.assert(
    fc.property(
      fc.array(fc.option(fc.integer({ min: -70_000, max: 140_000 }), { nil: undefined }), {
        minLength: 1,
        maxLength: 6,
      }),
      (ports) => {
        const h = startPeer({ direction: 'incoming', key: 'x:50123', address: 'x:50123' });
        try {
          h.handshake();
          for (const listenPort of ports)
            h.deliver(
              listenPort === undefined
                ? { type: 'wire.extendedHandshake' }
                : { type: 'wire.extendedHandshake', listenPort },
            );
          assert.equal(h.isClosed(), false);
          assert.deepEqual(
            h.reports.flatMap((x) => (x.type === 'peer.listening' ? [x.port] : [])),
            ports.filter((p): p is number => p !== undefined && p >= 1 && p <= 65535),
          );
        } finally {
          h.stop();
        }
      },
    ),
  );
});
