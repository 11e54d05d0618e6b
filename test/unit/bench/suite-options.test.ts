import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BenchUsageError, parseSize } from '../../../bench/bench-options.js';
import { scalePeers } from '../../../bench/suite/part-scale.js';
import { PARTS, parseSuiteOptions } from '../../../bench/suite/suite-options.js';

describe('bench suite options', () => {
  it('sizes: powers of 1024, MiB/MB spellings, bytes; junk is a usage error', () => {
    assert.equal(parseSize('1G'), 2 ** 30);
    assert.equal(parseSize('256K'), 256 * 1024);
    assert.equal(parseSize('8GiB'), 8 * 2 ** 30);
    assert.equal(parseSize('1.5M'), 1.5 * 2 ** 20);
    assert.equal(parseSize('1000'), 1000);
    assert.throws(() => parseSize('1T'), BenchUsageError);
    assert.throws(() => parseSize('0'), BenchUsageError);
    assert.throws(() => parseSize('-1G'), BenchUsageError);
  });

  it('defaults are the full sizes of issue #8; --quick shrinks what is not given', () => {
    const full = parseSuiteOptions([]);
    assert.notEqual(full, 'help');
    if (full === 'help') return;
    assert.deepEqual(full.parts, PARTS);
    assert.equal(full.size, 2 ** 30);
    assert.equal(full.bigSize, 8 * 2 ** 30);
    assert.equal(full.rounds, 3);
    assert.equal(full.connections, 500);
    assert.equal(full.manyPieces, 100_000);
    assert.equal(full.split, true, 'table 1s by default');
    const shared = parseSuiteOptions(['--shared-only']);
    assert.equal(shared !== 'help' && shared.split, false);
    const quick = parseSuiteOptions(['--quick', '--rounds', '2']);
    if (quick === 'help') return assert.fail('help');
    assert.equal(quick.size, 64 * 2 ** 20);
    assert.equal(quick.rounds, 2);
  });

  it('parts run in the suite order whatever order they are named in', () => {
    const o = parseSuiteOptions(['--parts', 'seeding,limits']);
    if (o === 'help') return assert.fail('help');
    assert.deepEqual(o.parts, ['limits', 'seeding']);
  });

  it('rejects unknown parts, a big size under the size, and non-integers', () => {
    assert.throws(() => parseSuiteOptions(['--parts', 'speed']), BenchUsageError);
    assert.throws(() => parseSuiteOptions(['--size', '2G', '--big-size', '1G']), BenchUsageError);
    assert.throws(() => parseSuiteOptions(['--rounds', '1.5']), BenchUsageError);
    assert.throws(() => parseSuiteOptions(['--bogus']), BenchUsageError);
    assert.equal(parseSuiteOptions(['-h']), 'help');
  });

  it('scale peers: distinct loopback addresses, spread over the seeders in turn', () => {
    const peers = scalePeers([7001, 7002], 500);
    assert.equal(peers.length, 500);
    assert.equal(new Set(peers).size, 500);
    assert.equal(peers[0], '127.0.0.2:7001');
    assert.equal(peers[1], '127.0.0.2:7002');
    assert.equal(peers[499], '127.0.0.251:7002');
    assert.throws(() => scalePeers([7001], 300));
  });
});
