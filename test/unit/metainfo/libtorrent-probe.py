# Helper for third-party-torrents.test.ts: what Debian's python3-libtorrent makes of a payload or a .torrent.
#   make <payload> <out.torrent> <v1|hybrid> <piece length>   create a torrent with libtorrent
#   read <file.torrent>                                        print libtorrent's view as JSON
#   check <file.torrent> <save path>                           hash-check the payload, print pieces had
import json
import os
import sys
import time

import libtorrent as lt

cmd = sys.argv[1]
if cmd == 'make':
    payload, out, mode, piece = sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    fs = lt.file_storage()
    lt.add_files(fs, payload)
    ct = lt.create_torrent(fs, piece, flags=lt.create_torrent.v1_only if mode == 'v1' else 0)
    ct.add_tracker('http://127.0.0.1:1/announce')
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(payload)))
    with open(out, 'wb') as f:
        f.write(lt.bencode(ct.generate()))
elif cmd == 'read':
    ti = lt.torrent_info(sys.argv[2])
    fs = ti.files()
    print(json.dumps({
        'infoHash': str(ti.info_hashes().v1),
        'name': ti.name(),
        'pieceLength': ti.piece_length(),
        'pieceCount': ti.num_pieces(),
        'totalLength': ti.total_size(),
        'files': [{'path': fs.file_path(i), 'length': fs.file_size(i),
                   'padding': bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)}
                  for i in range(fs.num_files())],
    }))
elif cmd == 'check':
    ti = lt.torrent_info(sys.argv[2])
    s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                    'enable_upnp': False, 'enable_natpmp': False, 'alert_mask': 0})
    h = s.add_torrent({'ti': ti, 'save_path': sys.argv[3], 'flags': lt.torrent_flags.upload_mode})
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    deadline = time.time() + 20
    while time.time() < deadline:
        st = h.status()
        if st.state not in checking and st.has_metadata:
            break
        time.sleep(0.02)
    st = h.status()
    print(json.dumps({'state': str(st.state), 'numPieces': st.num_pieces, 'total': ti.num_pieces()}))
else:
    sys.exit('unknown command ' + cmd)
