import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSwarm, splitAtDash } from '../../../bench/profile/swarm-args.js';

describe('profiling tools: the swarm after --', () => {
  it('splits the tool’s own options from the swarm at the first --', () => {
    assert.deepEqual(splitAtDash(['--rounds', '3', '--', 't.torrent', '--peer', 'a:1', '--', 'x']), {
      own: ['--rounds', '3'],
      swarm: ['t.torrent', '--peer', 'a:1', '--', 'x'],
    });
    assert.deepEqual(splitAtDash(['--rounds', '3']), { own: ['--rounds', '3'], swarm: [] });
  });

  it('reads TORRENT and every --peer, and names the usage when either is missing', () => {
    assert.deepEqual(parseSwarm(['t.torrent', '--peer', '127.0.0.1:1', '--peer', '127.0.0.1:2'], 'u'), {
      torrent: 't.torrent',
      peers: ['127.0.0.1:1', '127.0.0.1:2'],
    });
    assert.throws(
      () => parseSwarm(['--peer', '127.0.0.1:1'], 'tool.ts -- TORRENT'),
      /usage: tool\.ts -- TORRENT/,
    );
    assert.throws(() => parseSwarm(['t.torrent'], 'tool.ts'), /usage: tool\.ts/);
  });
});
