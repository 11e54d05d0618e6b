#!/usr/bin/python3
"""One libtorrent (python3-libtorrent, Debian's 2.0.x) peer on 127.0.0.1, as seeder or downloader.

Used by test/interop/harness/libtorrent.ts and bench/download.bench.ts. Run it with /usr/bin/python3:
the python3 first on PATH may be another interpreter without the `libtorrent` module.

Transports (--transport): tcp (default) turns uTP off, as aria2 and Transmission are run here;
both is libtorrent's default, TCP and uTP (BEP 29) in and out, uTP on the UDP port of the TCP port's
number; utp is uTP only: the TCP port still listens but closes every connection, and nothing is
dialled over TCP (a peer reachable only over uTP). It combines with every other flag (--encrypt: MSE
over uTP; --upload-limit: uTP peers are moved into the global class too).

Prints one JSON object per line on stdout:
  {"event": "listening", "port": P}            once the session listens
  {"event": "status", "state": ..., ...}        every --status-interval s (1), and on each state change
                                               (with --peer-sources: "peerSources", each connected
                                               peer's address, whether it is over uTP and how
                                               libtorrent learnt it; a line also whenever that
                                               list changes)
  {"event": "connectFailed", ...}               with --connect-failures: each dial that failed
                                               ("address", "utp": whether it was a uTP dial,
                                               "errno", "message")
  {"event": "done" | "timeout" | "error", ...}  the last line
Exit codes: 0 downloaded (download mode) or stopped by SIGTERM/SIGINT (seed mode);
1 torrent error; 2 bad arguments; 3 timeout.
"""

import argparse
import json
import signal
import sys
import time

try:
    import libtorrent as lt
except ImportError as err:  # pragma: no cover - environment fault, reported as one line
    print(json.dumps({"event": "error", "message": f"python3-libtorrent missing: {err}"}), flush=True)
    sys.exit(1)

STATES = {
    lt.torrent_status.checking_files: "checking_files",
    lt.torrent_status.downloading_metadata: "downloading_metadata",
    lt.torrent_status.downloading: "downloading",
    lt.torrent_status.finished: "finished",
    lt.torrent_status.seeding: "seeding",
    lt.torrent_status.checking_resume_data: "checking_resume_data",
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torrent", required=True, help="a .torrent file or a magnet link")
    p.add_argument("--save-path", required=True)
    p.add_argument("--port", type=int, required=True, help="TCP port to listen on at --host")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="the loopback address to listen on, which its dials also come from (default 127.0.0.1)",
    )
    p.add_argument("--mode", choices=["seed", "download"], required=True)
    p.add_argument("--tracker-off", action="store_true", help="never announce (peers come from --peer)")
    p.add_argument("--peer", action="append", default=[], help="HOST:PORT to connect to (repeatable)")
    p.add_argument("--timeout", type=float, default=0, help="seconds before giving up (0 = none)")
    p.add_argument(
        "--recheck",
        action="store_true",
        help="seed mode: hash the data before seeding instead of trusting it (seed_mode)",
    )
    p.add_argument(
        "--encrypt",
        action="store_true",
        help="only MSE/PE connections (the obfuscated handshake), plaintext or RC4 after it",
    )
    p.add_argument(
        "--enc-level",
        choices=["plaintext", "rc4", "both"],
        default="both",
        help="with --encrypt: what is offered and accepted after the MSE handshake (allowed_enc_level;"
        " rc4 = RC4 for the whole stream)",
    )
    p.add_argument(
        "--transport",
        choices=["tcp", "both", "utp"],
        default="tcp",
        help="tcp (default: uTP off, like aria2), both (TCP and uTP in and out, libtorrent's default),"
        " or utp (uTP only: incoming TCP connections are closed, no TCP dial)",
    )
    p.add_argument(
        "--upload-limit",
        type=int,
        default=0,
        help="bytes per second this peer uploads at most, loopback included (0 = no limit)",
    )
    p.add_argument(
        "--dht-bootstrap",
        action="append",
        default=[],
        help="HOST:PORT of a DHT node to bootstrap from (repeatable): turns the DHT on, on 127.0.0.1",
    )
    p.add_argument(
        "--dht-announce-interval",
        type=int,
        default=5,
        help="with --dht-bootstrap: seconds between the torrent's DHT announces (libtorrent: 900)",
    )
    p.add_argument(
        "--lsd",
        action="store_true",
        help="Local Service Discovery (BEP 14) on: announce on 127.0.0.1 (the listen interface) and"
        " take the peers announced there",
    )
    p.add_argument(
        "--lsd-interval",
        type=int,
        default=0,
        help="with --lsd: seconds between the session's LSD announces (libtorrent: 300; 0 = its default)",
    )
    p.add_argument(
        "--no-incoming",
        action="store_true",
        help="close every incoming TCP connection (it still listens): only its own dials connect",
    )
    p.add_argument(
        "--no-outgoing",
        action="store_true",
        help="dial no one over TCP: only peers that dial it connect",
    )
    p.add_argument(
        "--status-interval",
        type=float,
        default=1.0,
        help="seconds between status lines (bench/profile/timeline.ts asks for 0.02)",
    )
    p.add_argument(
        "--peer-sources",
        action="store_true",
        help="status lines list each connected peer's address and whether it came from PEX (BEP 11)",
    )
    p.add_argument(
        "--connect-interval",
        type=float,
        default=1.0,
        help="download mode: seconds between connect requests to --peer while none is connected (each"
        " request names the peer uTP-capable again, so libtorrent's next dial to it is uTP)",
    )
    p.add_argument(
        "--connect-failures",
        action="store_true",
        help="print each failed dial (libtorrent's peer_disconnected_alert in its connect operation):"
        " which transport it was and why it failed (ECONNRESET for a uTP SYN answered by ST_RESET,"
        " ETIMEDOUT for one never answered)",
    )
    return p.parse_args()


# peer_info::utp_socket (libtorrent 2.0's flag 1 << 17), which the Python bindings do not name.
UTP_SOCKET = getattr(lt.peer_info, "utp_socket", 1 << 17)


def peer_sources(handle):
    """Connected peers as {"address": "ip:port", "utp": bool, "pex": bool, "tracker": bool, "lsd": bool}."""
    out = []
    for p in handle.get_peer_info():
        out.append(
            {
                "address": f"{p.ip[0]}:{p.ip[1]}",
                "utp": bool(p.flags & UTP_SOCKET),
                "pex": bool(p.source & lt.peer_info.pex),
                "tracker": bool(p.source & lt.peer_info.tracker),
                "lsd": bool(p.source & lt.peer_info.lsd),
            }
        )
    return out


def connect_failures(session):
    """The dials that failed among the alerts since the last call, as connectFailed events."""
    out = []
    for a in session.pop_alerts():
        if not isinstance(a, lt.peer_disconnected_alert) or a.op != lt.operation_t.connect:
            continue
        out.append(
            {
                "event": "connectFailed",
                "address": f"{a.ip[0]}:{a.ip[1]}",
                "utp": a.socket_type in (lt.socket_type_t.utp, lt.socket_type_t.utp_ssl),
                "errno": a.error.value(),
                "message": a.error.message(),
            }
        )
    return out


def emit(obj):
    print(json.dumps(obj), flush=True)


def parse_peer(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        emit({"event": "error", "message": f"--peer wants HOST:PORT, got {text!r}"})
        sys.exit(2)
    return (host, int(port))


def main():
    args = parse_args()
    peers = [parse_peer(p) for p in args.peer]
    session = lt.session(
        {
            "listen_interfaces": f"{args.host}:{args.port}",
            # Dials leave from --host too (another loopback address: a peer an IP filter can tell apart).
            "outgoing_interfaces": args.host,
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            # Every test peer is 127.0.0.1: without this libtorrent keeps one connection per IP.
            "allow_multiple_connections_per_ip": True,
            # TCP only unless --transport says otherwise (below).
            "enable_outgoing_utp": False,
            "enable_incoming_utp": False,
            "upload_rate_limit": args.upload_limit,
            "download_rate_limit": 0,
            "alert_mask": lt.alert.category_t.error_notification | lt.alert.category_t.status_notification,
        }
    )
    if args.dht_bootstrap:
        # libtorrent's DHT on 127.0.0.1 (the UDP socket of listen_interfaces): every node of a test
        # is 127.0.0.1, which its defaults refuse - one node per IP in the routing table and in a
        # search (dht_restrict_*), and no "dark internet" addresses such as 127/8 at all.
        session.apply_settings(
            {
                "enable_dht": True,
                "dht_bootstrap_nodes": ",".join(args.dht_bootstrap),
                "dht_restrict_routing_ips": False,
                "dht_restrict_search_ips": False,
                "dht_ignore_dark_internet": False,
                "dht_prefer_verified_node_ids": False,
                "dht_announce_interval": args.dht_announce_interval,
                "alert_mask": lt.alert.category_t.error_notification
                | lt.alert.category_t.status_notification
                | lt.alert.category_t.dht_notification,
            }
        )
    if args.lsd:
        # BEP 14 on the listen interface (127.0.0.1): libtorrent runs one LSD socket per listen
        # interface, joined there, and believes announces from that interface's network only.
        session.apply_settings({"enable_lsd": True})
        if args.lsd_interval > 0:
            session.apply_settings({"local_service_announce_interval": args.lsd_interval})
    if args.no_incoming:
        session.apply_settings({"enable_incoming_tcp": False})
    if args.no_outgoing:
        session.apply_settings({"enable_outgoing_tcp": False})
    if args.connect_failures:
        session.apply_settings(
            {"alert_mask": session.get_settings()["alert_mask"] | lt.alert.category_t.connect_notification}
        )
    if args.transport != "tcp":
        # uTP (BEP 29) on the UDP socket of listen_interfaces, the TCP port's number.
        session.apply_settings({"enable_outgoing_utp": True, "enable_incoming_utp": True})
    if args.transport == "utp":
        session.apply_settings({"enable_outgoing_tcp": False, "enable_incoming_tcp": False})
    if args.encrypt:
        session.apply_settings(
            {
                "out_enc_policy": int(lt.enc_policy.forced),
                "in_enc_policy": int(lt.enc_policy.forced),
                "allowed_enc_level": int(
                    {"plaintext": lt.enc_level.plaintext, "rc4": lt.enc_level.rc4, "both": lt.enc_level.both}[
                        args.enc_level
                    ]
                ),
            }
        )
    if args.upload_limit > 0:
        # libtorrent puts 127.0.0.0/8 (and private ranges) in its "local" peer class, which rate
        # limits skip; a test that wants a slow seeder on loopback puts every address in the global
        # class, which upload_rate_limit governs.
        everyone = lt.ip_filter()
        everyone.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
        session.set_peer_class_filter(everyone)
    if args.torrent.startswith("magnet:"):
        # A magnet link: libtorrent fetches the metadata from its peers (BEP 9) first.
        atp = lt.parse_magnet_uri(args.torrent)
    else:
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(args.torrent)
    atp.save_path = args.save_path
    # Added paused so the trackers can be removed before the first announce.
    flags = lt.torrent_flags.paused
    if args.mode == "seed" and not args.recheck:
        flags |= lt.torrent_flags.seed_mode
    atp.flags = flags
    handle = session.add_torrent(atp)
    if args.tracker_off:
        handle.replace_trackers([])
    handle.resume()
    emit({"event": "listening", "port": session.listen_port(), "infoHash": str(handle.info_hash())})

    stopping = {"signal": None}

    def on_signal(signum, _frame):
        stopping["signal"] = signum

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.monotonic()
    last_print = 0.0
    last_state = None
    last_sources = None
    last_connect = 0.0
    while True:
        if args.connect_failures:
            # First in the turn: a failure is printed before the "done" it may have led to.
            for failure in connect_failures(session):
                emit(failure)
        now = time.monotonic()
        st = handle.status()
        state = STATES.get(st.state, str(st.state))
        if st.errc.value() != 0:
            emit({"event": "error", "message": st.errc.message(), "state": state})
            sys.exit(1)
        # libtorrent silently drops a connect request to a peer it already knows: repeat it while
        # no peer is connected (downloaders only; seeders wait to be dialled).
        due = now - last_connect >= args.connect_interval
        if args.mode == "download" and peers and st.num_peers == 0 and due:
            for peer in peers:
                handle.connect_peer(peer)
            last_connect = now
        sources = sorted(peer_sources(handle), key=lambda p: p["address"]) if args.peer_sources else None
        if state != last_state or now - last_print >= args.status_interval or sources != last_sources:
            status = {
                "event": "status",
                "state": state,
                "progress": round(st.progress, 6),
                "totalDone": st.total_done,
                "peers": st.num_peers,
                "downloadRate": st.download_rate,
                "uploadRate": st.upload_rate,
                "elapsed": round(now - started, 3),
            }
            if sources is not None:
                status["peerSources"] = sources
            emit(status)
            last_state = state
            last_sources = sources
            last_print = now
        if args.mode == "download" and st.is_finished:
            emit({"event": "done", "totalDone": st.total_done, "elapsed": round(now - started, 3)})
            return 0
        if stopping["signal"] is not None:
            emit({"event": "stopped", "signal": stopping["signal"], "elapsed": round(now - started, 3)})
            return 0
        if args.timeout and now - started > args.timeout:
            emit({"event": "timeout", "state": state, "progress": st.progress})
            return 3
        if not args.connect_failures:
            session.pop_alerts()
        time.sleep(min(0.05, args.status_interval))


if __name__ == "__main__":
    sys.exit(main())
