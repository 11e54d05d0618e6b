/**
 * The guard that keeps tests on 127.0.0.1 now that the CLI turns the DHT on by default with the
 * public routers, and Local Service Discovery (BEP 14) on every interface but loopback: a CLI run
 * through the test helpers never bootstraps from a non-loopback router and never multicasts LSD
 * announces on an interface but 127.0.0.1. Each argument list is read by the CLI's own flag reader
 * (swarmOptions), as the CLI would read it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SWARM_FLAGS, swarmOptions } from '../../../src/cli/swarm-flags.js';
import { isLoopback } from '../../../src/dht/dht.js';
import { withDhtOff } from '../../helpers/dht-off.js';
import { bitstateDownloadArgs } from '../../interop/harness/bitstate.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The routers the CLI would bootstrap from with these arguments (none when the DHT is off). */
function routersOf(args: readonly string[]): string[] {
  const { values } = parseArgs({
    args: [...args],
    options: SWARM_FLAGS,
    strict: false,
    allowPositionals: true,
  });
  return (swarmOptions(values as Parameters<typeof swarmOptions>[0]).dht?.bootstrap ?? []).map(
    (r) => `${r.host}:${r.port}`,
  );
}

/**
 * The interfaces the CLI would run LSD on with these arguments: none when it is off, `every` for its
 * default (every IPv4 interface but loopback).
 */
function lsdInterfacesOf(args: readonly string[]): readonly string[] | 'every' {
  const { values } = parseArgs({
    args: [...args],
    options: SWARM_FLAGS,
    strict: false,
    allowPositionals: true,
  });
  const lsd = swarmOptions(values as Parameters<typeof swarmOptions>[0]).lsd;
  return lsd === undefined ? [] : (lsd.interfaces ?? 'every');
}

function assertLoopbackOnly(args: readonly string[]): void {
  for (const r of routersOf(args))
    assert.ok(isLoopback(r.slice(0, r.lastIndexOf(':'))), `${args.join(' ')} would bootstrap from ${r}`);
  const lsd = lsdInterfacesOf(args);
  assert.ok(lsd !== 'every', `${args.join(' ')} would multicast LSD announces on every interface`);
  for (const i of lsd) assert.ok(isLoopback(i), `${args.join(' ')} would multicast LSD announces on ${i}`);
}

test('the CLI alone would bootstrap from the public routers (so the guard below means something)', () => {
  assert.ok(routersOf(['download', 'x.torrent']).includes('router.bittorrent.com:6881'));
  assert.deepEqual(routersOf(['download', 'x.torrent', '--no-dht']), []);
});

test('the CLI alone would run LSD on every interface (so the guard below means something)', () => {
  assert.equal(lsdInterfacesOf(['download', 'x.torrent']), 'every');
  assert.deepEqual(lsdInterfacesOf(['seed', 'x.torrent', '--no-lsd']), []);
  assert.deepEqual(lsdInterfacesOf(['seed', 'x.torrent', '--lsd-interface', '127.0.0.1']), ['127.0.0.1']);
});

test('runCli and the interop harness pass --no-lsd unless a test names the loopback interface', () => {
  for (const args of [
    ['download', 'x.torrent', '--no-tracker'],
    ['seed', 'x.torrent', '--data', 'd'],
    ['download', 'x.torrent', '--dht-bootstrap', '127.0.0.1:7000'],
    ['download', 'x.torrent', '--', '--not-a-flag'],
  ]) {
    assertLoopbackOnly(withDhtOff(args));
    assert.ok(withDhtOff(args).includes('--no-lsd'));
  }
  const own = withDhtOff(['seed', 'x.torrent', '--lsd-interface', '127.0.0.1']);
  assert.deepEqual(lsdInterfacesOf(own), ['127.0.0.1']);
  assert.ok(!own.includes('--no-lsd'));
  assert.ok(own.includes('--no-dht'));
  // A test naming another interface is refused by the helper itself, whatever its arguments.
  for (const other of [
    ['seed', 'x', '--lsd-interface', '192.0.2.2'],
    ['download', 'x', '--lsd-interface', '127.0.0.1', '--lsd-interface', '10.0.0.7'],
    ['download', 'x', '--lsd-interface=192.0.2.2'],
  ])
    assert.throws(() => withDhtOff(other), /LSD on 127\.0\.0\.1 only/, other.join(' '));
  assert.deepEqual(lsdInterfacesOf(withDhtOff(['seed', 'x', '--lsd-interface=127.0.0.1'])), ['127.0.0.1']);
  // What is no address the CLI refuses as bad input (exit 2) before it opens anything.
  assert.throws(() => lsdInterfacesOf(withDhtOff(['download', 'x', '--lsd-interface', 'eth0'])), /IPv4/);
  assert.deepEqual(withDhtOff(['info', 'x.torrent']), ['info', 'x.torrent']);
});

test('runCli and the interop harness pass --no-dht unless a test names loopback routers', () => {
  for (const args of [
    ['download', 'x.torrent', '--no-tracker'],
    ['download', 'magnet:?xt=urn:btih:0000000000000000000000000000000000000000', '-o', 'out'],
    ['seed', 'x.torrent', '--data', 'd'],
    ['download', '--out', 'o', '--json'],
  ]) {
    assertLoopbackOnly(withDhtOff(args));
    assert.ok(withDhtOff(args).includes('--no-dht'));
  }
  assertLoopbackOnly(bitstateDownloadArgs({ torrent: 't', out: 'o', peers: ['127.0.0.1:1'] }));
  const own = withDhtOff(['download', 'm', '--dht-bootstrap', '127.0.0.1:7000']);
  assert.deepEqual(routersOf(own), ['127.0.0.1:7000']);
  assert.ok(!own.includes('--no-dht'));
  // Other commands take no DHT flags.
  assert.deepEqual(withDhtOff(['info', 'x.torrent']), ['info', 'x.torrent']);
});

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* sourceFiles(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

test('every spawn of the CLI in test/ and bench/ goes through withDhtOff, dhtOffArgs or a helper that does', () => {
  const helpers =
    /withDhtOff|dhtOffArgs|bitstateDownloadArgs|startBitstateDownload|startBitstateSeeder|runBitstateDownload|runCli|bitstateDownloadCommand/;
  const offenders: string[] = [];
  for (const file of [...sourceFiles(join(ROOT, 'test')), ...sourceFiles(join(ROOT, 'bench'))]) {
    const text = readFileSync(file, 'utf8');
    const spawnsCli =
      /bitstate\.js|cli\/main\.ts/.test(text) && /\b(spawn|startProcess|runProcess|measure)\(/.test(text);
    if (spawnsCli && !helpers.test(text)) offenders.push(relative(ROOT, file));
  }
  assert.deepEqual(offenders, []);
});

/**
 * A file that uses a helper once may still spawn the CLI bare elsewhere (three interop tests did:
 * a `seed` beside startBitstateDownload, which bootstrapped from the public routers). So each
 * argument list that starts with the CLI's path and runs `download` or `seed` must itself pass
 * through withDhtOff or dhtOffArgs.
 */
const CLI_PATH = /\[\s*(?:bitstateBin\(\)|BIN|bin|join\([^\]]*?'bitstate\.js'\))\s*,/g;

/** Argument lists (`[` to its matching `]`) that start with the CLI's path and run download or seed bare. */
function bareCliSpawns(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(CLI_PATH)) {
    let depth = 0;
    let end = m.index;
    for (; end < text.length; end++) {
      if (text[end] === '[') depth++;
      else if (text[end] === ']' && --depth === 0) break;
    }
    const list = text.slice(m.index, end + 1);
    if (/'(?:download|seed)'/.test(list) && !/withDhtOff|dhtOffArgs/.test(list)) out.push(list.slice(0, 80));
  }
  return out;
}

test("no argument list in test/ or bench/ runs the CLI's download or seed without --no-dht and --no-lsd", () => {
  assert.deepEqual(bareCliSpawns("[bitstateBin(), 'seed', torrent, '--port', '0']").length, 1);
  assert.deepEqual(bareCliSpawns("[bitstateBin(), ...withDhtOff(['seed', torrent])]"), []);
  assert.deepEqual(bareCliSpawns("[bitstateBin(), 'replay', trace]"), []);
  const offenders: string[] = [];
  for (const file of [...sourceFiles(join(ROOT, 'test')), ...sourceFiles(join(ROOT, 'bench'))])
    if (file !== fileURLToPath(import.meta.url))
      for (const spawn of bareCliSpawns(readFileSync(file, 'utf8')))
        offenders.push(`${relative(ROOT, file)}: ${spawn}`);
  assert.deepEqual(offenders, []);
});
