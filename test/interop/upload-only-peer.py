#!/usr/bin/python3
"""A libtorrent (python3-libtorrent 2.0) peer that dials one peer and reports what BEP 21 did.

For test/interop/upload-only-libtorrent.test.ts. Run it with /usr/bin/python3 (the python3 first on
PATH may lack the libtorrent module). TCP only, no DHT/LSD/UPnP, everything on 127.0.0.1.

  --only N     libtorrent wants only file N (priorities 0 for the others): with that file in
               --save-path it is a partial seed, finished, and says upload_only itself.
  --peer P     the HOST:PORT to dial (again every 0.5 s while no connection is up: libtorrent
               silently drops a connect to a peer it already knows).
  --client V   the `v` of the peer's extension handshake: once libtorrent's peer info shows it,
               the handshake has been read.
  --until-upload-only
               (without --only) a peer not upload only at its handshake is watched until it
               becomes so on the same connection: it told libtorrent with the upload_only message.

Prints one JSON object per line and exits 0 on the first of:
  {"event": "peer", "uploadOnly": b, "seed": b}    the peer's extension handshake has been read
                                                   and the connection is up (without --only: a
                                                   downloader, at 20 kB/s so the connection lasts;
                                                   with --until-upload-only, once it is upload only,
                                                   "atHandshake": what it was at the handshake)
  {"event": "disconnected", "error": "...", "sawHandshake": b}
                                                   the connection to --peer closed (with --only;
                                                   with --until-upload-only after the handshake,
                                                   "atHandshake" for "sawHandshake")
and {"event": "timeout", ...} (exit 3) past --timeout.
"""

import argparse
import json
import sys
import time

import libtorrent as lt


def emit(obj):
    print(json.dumps(obj), flush=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--torrent", required=True)
    p.add_argument("--save-path", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--peer", required=True)
    p.add_argument("--client", required=True)
    p.add_argument("--only", type=int)
    p.add_argument("--until-upload-only", action="store_true")
    p.add_argument("--timeout", type=float, default=30)
    args = p.parse_args()
    host, _, port = args.peer.rpartition(":")
    peer = (host, int(port))

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
            "alert_mask": lt.alert.category_t.connect_notification
            | lt.alert.category_t.error_notification
            | lt.alert.category_t.status_notification,
        }
    )
    if args.only is None:
        # A downloader reads at most 20 kB/s, so a.bin (256 KiB) takes it seconds and the connection
        # is still up when the next look at the peer list comes: libtorrent closes an upload-only
        # peer it wants nothing more from. Loopback peers are in libtorrent's local class, which
        # rate limits skip: every address goes in the global class.
        session.apply_settings({"download_rate_limit": 20_000})
        everyone = lt.ip_filter()
        everyone.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        session.set_peer_class_filter(everyone)
    info = lt.torrent_info(args.torrent)
    atp = lt.add_torrent_params()
    atp.ti = info
    atp.save_path = args.save_path
    if args.only is not None:
        atp.file_priorities = [1 if i == args.only else 0 for i in range(info.num_files())]
    handle = session.add_torrent(atp)

    deadline = time.monotonic() + args.timeout
    saw_handshake = False
    at_handshake = None  # --until-upload-only: upload_only as the handshake left it
    last_connect = 0.0
    while time.monotonic() < deadline:
        status = handle.status()
        ready = status.state not in (
            lt.torrent_status.checking_files,
            lt.torrent_status.checking_resume_data,
        ) and (args.only is None or status.is_finished)
        peers = handle.get_peer_info() if ready else []
        for info_ in peers:
            # The bindings give `client` as bytes.
            client = info_.client.decode("utf-8", "replace") if isinstance(info_.client, bytes) else info_.client
            if client != args.client:
                continue
            upload_only = bool(info_.flags & lt.peer_info.upload_only)
            if not saw_handshake:
                saw_handshake = True
                at_handshake = upload_only
            if args.only is None and (upload_only or not args.until_upload_only):
                report = {"event": "peer", "uploadOnly": upload_only, "seed": bool(info_.flags & lt.peer_info.seed)}
                if args.until_upload_only:
                    report["atHandshake"] = at_handshake
                emit(report)
                return 0
        for a in session.pop_alerts():
            if isinstance(a, lt.peer_disconnected_alert) and tuple(a.ip) == peer and saw_handshake and args.until_upload_only:
                # libtorrent may close a peer as soon as it turns upload only (it wants nothing
                # from it: "uninteresting upload-only peer"), before a look at the peer list.
                emit({"event": "disconnected", "error": a.error.message(), "atHandshake": at_handshake})
                return 0  # a new connection's handshake would say it: not what is asked
            if isinstance(a, lt.peer_disconnected_alert) and tuple(a.ip) == peer and args.only is not None:
                if not saw_handshake and a.error.value() != 0 and "refused" in a.error.message():
                    continue  # dialled before it listened: try again
                emit(
                    {
                        "event": "disconnected",
                        "error": a.error.message(),
                        "sawHandshake": saw_handshake,
                    }
                )
                return 0
        if ready and not peers and time.monotonic() - last_connect > 0.5:
            handle.connect_peer(peer)
            last_connect = time.monotonic()
        time.sleep(0.05)
    emit(
        {
            "event": "timeout",
            "state": str(handle.status().state),
            "finished": handle.status().is_finished,
            "peers": [{"client": repr(i.client), "flags": int(i.flags)} for i in handle.get_peer_info()],
        }
    )
    return 3


if __name__ == "__main__":
    sys.exit(main())
