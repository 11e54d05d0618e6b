#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.0) downloader that reports what a super-seed (BEP 16) showed it.

For test/interop/super-seed-libtorrent.test.ts. Run it with /usr/bin/python3 (the python3 first on
PATH may lack the libtorrent module). TCP only, no DHT/LSD/UPnP/PEX peers but the ones named,
everything on 127.0.0.1; listens on --port so other downloaders can dial it.

  --seed P     the seed's HOST:PORT, dialled at once (again every 0.5 s while no connection is up)
  --peer P     another downloader's HOST:PORT, dialled the same way once this process gets SIGUSR1
               (repeatable): the test links the downloaders only when each has seen the seed
  --client V   the `v` of the seed's extension handshake: its peer info is the seed's once shown

Prints one JSON object per line:
  {"event": "listening", "port": P}
  {"event": "seedSeen", "numPieces": n, "seed": b}
      the first look at the seed's peer info after its handshake: how many pieces libtorrent
      believes the seed has, and whether it takes it for a seed
  {"event": "done", "seedPieces": [i, ...], "mostShownAhead": n}
      every piece downloaded and checked: the pieces any block of which came from the seed
      (libtorrent's block_finished alerts), and the most pieces the seed had shown that this
      downloader lacked, at any look
and goes on serving its pieces (to the other downloaders) until SIGTERM / SIGINT (exit 0);
{"event": "timeout", ...} (exit 3) past --timeout.
"""

import argparse
import json
import signal
import sys
import time

import libtorrent as lt


def emit(obj):
    print(json.dumps(obj), flush=True)


def endpoint(text):
    host, _, port = text.rpartition(":")
    return (host, int(port))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--torrent", required=True)
    p.add_argument("--save-path", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--seed", required=True)
    p.add_argument("--peer", action="append", default=[])
    p.add_argument("--client", required=True)
    p.add_argument("--timeout", type=float, default=60)
    args = p.parse_args()
    seed = endpoint(args.seed)
    others = [endpoint(x) for x in args.peer]

    stopping = []
    linked = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    signal.signal(signal.SIGUSR1, lambda *_: linked.append(True))

    session = lt.session(
        {
            "listen_interfaces": f"127.0.0.1:{args.port}",
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "allow_multiple_connections_per_ip": True,
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "alert_mask": lt.alert_category.block_progress,
        }
    )
    info = lt.torrent_info(args.torrent)
    atp = lt.add_torrent_params()
    atp.ti = info
    atp.save_path = args.save_path
    handle = session.add_torrent(atp)
    emit({"event": "listening", "port": args.port})

    deadline = time.monotonic() + args.timeout
    seen = False
    done = False
    seed_pieces = set()
    most_ahead = 0
    last_connect = 0.0
    dialled_others = False
    while not stopping:
        if time.monotonic() > deadline:
            emit({"event": "timeout", "progress": handle.status().progress, "seen": seen})
            return 3
        # The seed's pieces first, then ours: libtorrent's network thread runs on between the two
        # reads. Ours read first could miss pieces completed in between, whose haves had already
        # made the seed show the next (seen: 3 ahead at load 12, 2 with this order). A piece once
        # ours stays ours: this order misses only a piece shown ahead that we completed in between.
        peers = handle.get_peer_info()
        status = handle.status()
        # After the status: a block's alert is posted before its piece can be ours, so when the
        # status says seeding every block's alert is in.
        for a in session.pop_alerts():
            if isinstance(a, lt.block_finished_alert) and tuple(a.endpoint) == seed:
                seed_pieces.add(a.piece_index)
        connected = {tuple(i.ip) for i in peers}
        for i in peers:
            if tuple(i.ip) != seed:
                continue
            client = i.client.decode("utf-8", "replace") if isinstance(i.client, bytes) else i.client
            if client != args.client:
                continue  # its extension handshake not read yet
            if not seen:
                seen = True
                emit({"event": "seedSeen", "numPieces": i.num_pieces, "seed": bool(i.flags & lt.peer_info.seed)})
            if not done:
                ours = status.pieces
                ahead = sum(1 for k, has in enumerate(i.pieces) if has and not (k < len(ours) and ours[k]))
                most_ahead = max(most_ahead, ahead)
        if not done and status.is_seeding:
            done = True
            emit({"event": "done", "seedPieces": sorted(seed_pieces), "mostShownAhead": most_ahead})
        if linked and not dialled_others:
            dialled_others = True
            last_connect = 0.0  # dial them now, not at the next half second
        if time.monotonic() - last_connect > 0.5:
            for ep in [seed, *others] if dialled_others else [seed]:
                if ep not in connected:
                    handle.connect_peer(ep)
            last_connect = time.monotonic()
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main())
