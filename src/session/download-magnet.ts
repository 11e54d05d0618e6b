/**
 * `downloadMagnet(magnet, options)`: a download that starts from a magnet link. The metadata comes
 * from `<out>/.bitstate/<info-hash>.torrent` when an earlier run saved it, else from the swarm
 * (fetchMetadata, BEP 9; a v2 magnet's piece layers too, BEP 52); once verified it is saved there
 * (written atomically, with the fetched `piece layers`), so a restart with the same magnet goes
 * straight to the resumed download. A hybrid's piece layers are not waited for: its v1 download
 * starts with the metadata and fetches them from its peers as it goes (hybrid-piece-layers.ts),
 * then the .torrent is saved again with them, as a hybrid's .torrent holds them. Then the normal download runs with the
 * Torrent (new connections: the fetch's were closed; the peers it reached dialled first, the way its
 * dials to them came up — MSE or plain, TCP or uTP), and its events follow the fetch's. With the
 * DHT, one node serves both (opened on the port the download will listen on, when free): the
 * download does not bootstrap a second node on a second port, and its `dht.ready` is said once,
 * from here. The files fetched are the caller's `selectFiles`, else the link's `so=` (BEP 53), else
 * every file. A UDP socket and DHT node lent by the caller (downloadMany's host, on its shared port)
 * serve the fetch and the download alike, and are the caller's to close. With LSD (BEP 14), the
 * fetch announces the info-hash on the local network and dials the peers announcing it, on a
 * service the download goes on using (ours, or the caller's when lent): one announce, not a second
 * within the interval; off under a proxy, closed before the download of a private torrent.
 */
import { join, resolve } from 'node:path';
import { Subject } from 'rxjs/internal/Subject';
import type { FetchedLayer } from '../../machines/metadata.machine.js';
import type { Dht } from '../dht/dht.js';
import type { Lsd } from '../lsd/lsd.js';
import { MAX_WEB_SEEDS } from '../metainfo/limits.js';
import type { Magnet } from '../metainfo/magnet.js';
import { readTorrentFile } from '../metainfo/read-torrent-file.js';
import type { Torrent } from '../metainfo/torrent.js';
import {
  isMagnetTorrent,
  torrentFileFromMetadata,
  torrentFromMetadata,
} from '../metainfo/torrent-from-metadata.js';
import { resolveBindAddress } from '../net/bind-address.js';
import { DEFAULT_PORT } from '../net/listen.js';
import { makePeerId } from '../net/peer-id.js';
import { DEFAULT_UTP_MODE } from '../net/utp-mode.js';
import { makeDirectories } from '../storage/layout.js';
import { writeFileAtomic } from '../storage/resume-file.js';
import { makeOutputFolder, STATE_DIR, stateDirOf } from '../storage/store-files.js';
import { type DownloadJob, type DownloadResult, download } from './download.js';
import type { DownloadEvent } from './download-event.js';
import type { DownloadOptions } from './download-options.js';
import { type FetchedMetadata, fetchMetadataAndLayers, MetadataFetchError } from './fetch-metadata.js';
import { selectOnlyFiles } from './magnet-select-only.js';
import { proxiedSession } from './proxy-session.js';
import { openSessionUdp, type SessionUdp } from './session-udp.js';

export interface MagnetOptions extends DownloadOptions {
  /** Give up fetching the metadata after this long (default DEFAULT_METADATA_TIMEOUT_MS). */
  readonly metadataTimeoutMs?: number;
  /**
   * The files to fetch, chosen once the metadata is known (`--select` / `--only`: file-selection.ts);
   * a bad choice (a SelectionError, bad input) rejects `done` after the metadata is saved. Given,
   * it replaces the magnet's `so=` (BEP 53; undefined from it: every file); not given, `so=` chooses
   * (magnet-select-only.ts), refused the same way.
   */
  readonly selectFiles?: (torrent: Torrent) => readonly boolean[] | undefined;
  /**
   * Internal: asked once the torrent is known (fetched, or saved by an earlier run), before its
   * files are opened; a reason not to download it (downloadMany: another torrent of the run has its
   * name, or its info-hash) ends the job `failed` with that reason, no file of the torrent touched.
   */
  readonly admit?: (torrent: Torrent) => string | undefined;
}

/** Where the metadata of `infoHashHex` is kept under `out`. */
export function savedTorrentPath(out: string, infoHashHex: string): string {
  return join(stateDirOf(out), `${infoHashHex}.torrent`);
}

/**
 * A saved torrent's url-list with a later magnet's ws= web seeds: the magnet's first (they are why
 * the user gave it; with a saved list already at MAX_WEB_SEEDS they would otherwise be cut off),
 * then the saved ones, each once, at most MAX_WEB_SEEDS. `saved` itself when nothing is new.
 */
export function mergeWebSeeds(saved: readonly string[], fromMagnet: readonly string[]): readonly string[] {
  if (fromMagnet.every((u) => saved.includes(u))) return saved;
  return [...new Set([...fromMagnet, ...saved])].slice(0, MAX_WEB_SEEDS);
}

/**
 * The torrent saved by an earlier run, when it is there and is this magnet's, with this magnet's
 * ws= web seeds (BEP 19) added to its url-list: the saved one holds the first run's, and a later
 * magnet of the same torrent may name others (each once, at most MAX_WEB_SEEDS). Not saved back:
 * the file stays as the metadata was first saved.
 */
async function savedTorrent(out: string, magnet: Magnet): Promise<Torrent | undefined> {
  try {
    // Read as any .torrent is (bounded by MAX_TORRENT_FILE_BYTES), though we wrote it ourselves.
    // Our own file: a FIFO, a device or a symlink planted there is not read (nor waited on).
    const torrent = await readTorrentFile(savedTorrentPath(out, magnet.infoHashHex), {
      regularFileOnly: true,
    });
    if (!isMagnetTorrent(torrent, magnet)) return undefined;
    const urlList = mergeWebSeeds(torrent.urlList, magnet.webSeeds);
    return urlList === torrent.urlList ? torrent : { ...torrent, urlList };
  } catch {
    return undefined; // missing or spoilt: fetched again
  }
}

export function downloadMagnet(magnet: Magnet, given: MagnetOptions): DownloadJob {
  const events = new Subject<DownloadEvent>();
  // Under a proxy: the fetch and the download through it, UDP off (proxy-session.ts); said once,
  // here (the download is handed the dialer and says nothing).
  const proxied = proxiedSession(
    given,
    (e) => events.next(e),
    [...magnet.trackers, ...(given.extraTrackers ?? [])].filter((url) => /^udp:/i.test(url)).length,
  );
  const options: MagnetOptions = {
    ...proxied.options,
    ...(proxied.dialer === undefined ? {} : { proxyDialer: proxied.dialer }),
  };
  const abort = new AbortController();
  let inner: DownloadJob | undefined;
  let stopReason: string | undefined;
  const peerId = options.peerId ?? makePeerId();
  /** The fetch's DHT node, handed to the download (ours to close, and to report). */
  let dhtNode: Dht | undefined;
  /**
   * The UDP socket that node and the fetch's uTP dials run on, handed to the download (docs/utp.md:
   * one socket for both, at the listening port's number); ours to close after the node.
   */
  let udp: SessionUdp | undefined;
  /**
   * The fetch's Local Service Discovery service (BEP 14), handed to the download (ours to close, and
   * to report); `lsdOff` when it could not start (said once, here: the download tries no other).
   */
  let lsdService: Lsd | undefined;
  let lsdOff = false;
  const utpMode = options.utp ?? DEFAULT_UTP_MODE;
  /** `done` or `stopped` has been said: nothing more. */
  let ended = false;
  events.subscribe((e) => {
    if (e.type === 'done' || e.type === 'stopped') ended = true;
  });
  const run = async (): Promise<DownloadResult> => {
    await Promise.resolve(); // let the caller subscribe first
    if (proxied.udpOff !== undefined) events.next(proxied.udpOff);
    // --bind: checked before anything opens; the download then binds the same address.
    const bind = options.bind === undefined ? undefined : await resolveBindAddress(options.bind);
    const at = bind === undefined ? {} : { host: bind };
    // Under a proxy, the connections to it leave from the bound address (docs/bind.md).
    const dialer = bind === undefined ? proxied.dialer : proxied.dialer?.from(bind);
    let torrent = await savedTorrent(options.out, magnet);
    /**
     * The trackers and web seeds the saved .torrent keeps: the first run's (a saved one is not
     * rewritten with a later magnet's), or this magnet's.
     */
    const savedWith =
      torrent === undefined
        ? { trackers: magnet.trackers, webSeeds: magnet.webSeeds }
        : { trackers: torrent.announceList.flat(), webSeeds: torrent.urlList };
    /** The peers the fetch reached and how (none when the torrent was saved). */
    let dialled: FetchedMetadata['dialled'] = [];
    if (torrent === undefined) {
      const ownDht = options.dht !== undefined && options.dhtNode === undefined;
      if ((ownDht || utpMode !== 'off') && options.udp === undefined)
        // Not listening (the library's listen: false): no port peers know us by, so any port.
        udp = await openSessionUdp(options.listen === false ? 0 : (options.port ?? DEFAULT_PORT), {
          utp: utpMode !== 'off',
          ...at,
        });
      if (options.dht !== undefined && options.dhtNode === undefined) {
        const settings = options.dht;
        // Loaded only when asked for (start-up time, docs/performance.md §6).
        const dht = await import('./dht-announces.js');
        // Without a UDP socket the node opens its own.
        dhtNode = await dht
          .openSessionDht({ ...settings, ...at }, options.port ?? DEFAULT_PORT, udp?.endpoint)
          .catch(() => undefined);
        // Ours: its dht.ready is ours to say, once (the fetch and the download are only lent it).
        const own = dhtNode;
        void own?.ready.then((r) => {
          if (!ended) events.next(dht.dhtReadyEvent(own, r));
        });
      }
      // BEP 14: the info-hash announced on the local network while fetching and the peers that
      // announce it dialled, as libtorrent finds a magnet's peers; the service then lent to the
      // download, which is not announced again within the interval (lsd-schedule.ts). Ours unless
      // lent (downloadMany's host: a hosted session uses the host's or none).
      if (
        options.lsd !== undefined &&
        options.lsdService === undefined &&
        options.listener === undefined &&
        options.listen !== false
      ) {
        const { startLsd } = await import('../lsd/lsd.js');
        const { lsdOffEvent, lsdReadyEvent } = await import('./lsd-announces.js');
        // The port the download will listen at, as known now: the fetch's UDP socket's number
        // (the listener takes it when its TCP port is free there: session-ports.ts); set again
        // once the download listens, if it landed elsewhere.
        const port = udp?.endpoint.port ?? (options.port || DEFAULT_PORT);
        lsdService = await startLsd(options.lsd, { port, listenHost: bind ?? '0.0.0.0' }).catch(
          (err: unknown) => {
            lsdOff = true;
            events.next(lsdOffEvent(err));
            return undefined;
          },
        );
        if (lsdService !== undefined) events.next(lsdReadyEvent(lsdService));
      }
      const lsd = lsdService ?? options.lsdService;
      const node = dhtNode ?? options.dhtNode;
      const fetchUdp = options.udp ?? udp;
      let fetched: FetchedMetadata;
      try {
        fetched = await fetchMetadataAndLayers(magnet, {
          peerId,
          ...(options.peers === undefined ? {} : { peers: options.peers }),
          trackers: options.trackers !== false,
          ...(options.extraTrackers === undefined ? {} : { extraTrackers: options.extraTrackers }),
          ...(bind === undefined ? {} : { localAddress: bind }),
          ...(options.encryption === undefined ? {} : { encryption: options.encryption }),
          ...(options.blocklist === undefined ? {} : { blocklist: options.blocklist }),
          ...(options.dht === undefined ? {} : { dht: { ...options.dht, ...at } }),
          ...(node === undefined ? {} : { dhtNode: node }),
          ...(lsd === undefined ? {} : { lsd }),
          ...(fetchUdp?.utp === undefined ? {} : { utp: fetchUdp.utp, utpMode }),
          ...(dialer === undefined ? {} : { proxy: dialer }),
          ...(options.metadataTimeoutMs === undefined ? {} : { timeoutMs: options.metadataTimeoutMs }),
          signal: abort.signal,
          emit: (e) => events.next(e),
        });
      } catch (err) {
        if (!(err instanceof MetadataFetchError)) throw err;
        const message = err.code === 'stopped' ? (stopReason ?? 'stopped') : err.message;
        events.next({ type: 'stopped', reason: message });
        return {
          result:
            err.code === 'stopped' && (message === 'interrupted' || message === 'stopped')
              ? 'stopped'
              : 'failed',
          message,
        };
      }
      dialled = fetched.dialled;
      const layers = new Map(fetched.pieceLayers.map((l) => [l.piecesRoot, l.layer] as const));
      torrent = torrentFromMetadata(fetched.info, magnet, layers);
      await makeOutputFolder(resolve(options.out));
      await makeDirectories(resolve(options.out), [STATE_DIR]);
      await writeFileAtomic(
        savedTorrentPath(options.out, magnet.infoHashHex),
        torrentFileFromMetadata(fetched.info, magnet, layers),
      );
    }
    if (torrent.private && dhtNode !== undefined) {
      // BEP 27: the download of a private torrent uses no DHT; the fetch's node is done. Closed
      // before the stop check below, so that a stop() during the close is not missed.
      await dhtNode.close();
      dhtNode = undefined;
    }
    if (torrent.private && lsdService !== undefined) {
      // BEP 27 too: no LSD for the download; the fetch's service is done.
      await lsdService.close();
      lsdService = undefined;
    }
    const refused = options.admit?.(torrent);
    if (refused !== undefined) {
      events.next({ type: 'stopped', reason: refused });
      return { result: 'failed', message: refused };
    }
    if (stopReason !== undefined) {
      events.next({ type: 'stopped', reason: stopReason });
      return {
        result: stopReason === 'interrupted' || stopReason === 'stopped' ? 'stopped' : 'failed',
        message: stopReason,
      };
    }
    // The caller's choice (--select / --only) wins over the link's so= (BEP 53).
    const selected =
      options.selectFiles !== undefined
        ? options.selectFiles(torrent)
        : selectOnlyFiles(torrent, magnet.selectOnly);
    // BEP 52: a hybrid without its piece layers fetches them alongside, or hashes them from the
    // data once complete (download.ts); they are saved in the .torrent (the same bytes with `piece
    // layers` added), which a later run (or `bitstate seed` of it) serves them from.
    const info = torrent.infoBytes;
    const onPieceLayers = async (known: readonly FetchedLayer[]): Promise<void> => {
      const layers = new Map(known.map((l) => [l.piecesRoot, l.layer] as const));
      await writeFileAtomic(
        savedTorrentPath(options.out, magnet.infoHashHex),
        torrentFileFromMetadata(info, savedWith, layers),
      );
    };
    // The magnet's x.pe peers are dialled for the data too, after the caller's.
    const { lsd: _lsd, ...withoutLsd } = options;
    inner = download(torrent, {
      ...(lsdOff ? withoutLsd : options),
      ...(bind === undefined ? {} : { bind }),
      ...(dialer === undefined ? {} : { proxyDialer: dialer }),
      onPieceLayers,
      // A btmh-only link's peers know a hybrid by its v2 hash (and answer hash requests there only).
      ...(magnet.version === 'v2' && torrent.version === 'hybrid' ? { peersSwarm: 'v2' as const } : {}),
      peerId,
      peers: [...(options.peers ?? []), ...magnet.peers],
      ...(dialled.length === 0 ? {} : { dialled }),
      ...(selected === undefined ? {} : { selected }),
      ...(dhtNode === undefined ? {} : { dhtNode }),
      ...(udp === undefined ? {} : { udp }),
      ...(lsdService === undefined ? {} : { lsdService }),
    });
    const sub = inner.events$.subscribe((e) => {
      // Our LSD service announces the port the download listens at.
      if (e.type === 'listening') lsdService?.setPort(e.port);
      events.next(e);
    });
    try {
      return await inner.done;
    } finally {
      sub.unsubscribe();
    }
  };
  const done = run().finally(async () => {
    ended = true;
    udp?.utp?.close(); // ours (the download was lent it): its peers told before the DHT's last save
    await dhtNode?.close();
    await lsdService?.close();
    await udp?.close();
    events.complete();
  });
  return {
    events$: events.asObservable(),
    done,
    stop(reason = 'stopped') {
      stopReason = reason;
      // The download's stop resolves when it is done; ours once the fetch's DHT node and UDP
      // socket, which outlive it, are closed too.
      if (inner !== undefined) void inner.stop(reason);
      else abort.abort();
      return done;
    },
  };
}
