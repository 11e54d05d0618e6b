# What libtorrent 2.0 (Debian's python3-libtorrent) makes of a .torrent and of the data beside it,
# for test/interop/create-v2.test.ts. Prints one JSON object.
#   check <file.torrent> <save path>   load it (lt.torrent_info): info-hashes, pieces, files; then add
#                                      it to a session at <save path> and wait for the hash check:
#                                      its state and how many pieces it has
#   make <payload> <v2|hybrid> <piece length>
#                                      libtorrent's own torrent of <payload>: its info-hashes
import json
import os
import sys
import time

import libtorrent as lt


def hashes(ti):
    ih = ti.info_hashes()
    return {
        'v1': str(ih.v1) if ih.has_v1() else None,
        'v2': str(ih.v2) if ih.has_v2() else None,
    }


cmd = sys.argv[1]
if cmd == 'check':
    ti = lt.torrent_info(sys.argv[2])
    fs = ti.files()
    out = dict(hashes(ti))
    out['numPieces'] = ti.num_pieces()
    out['files'] = [{'path': fs.file_path(i), 'length': fs.file_size(i),
                     'padding': bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)}
                    for i in range(fs.num_files())]
    s = lt.session({'listen_interfaces': '127.0.0.1:0', 'enable_dht': False, 'enable_lsd': False,
                    'enable_upnp': False, 'enable_natpmp': False, 'alert_mask': 0})
    h = s.add_torrent({'ti': ti, 'save_path': sys.argv[3], 'flags': lt.torrent_flags.upload_mode})
    checking = (lt.torrent_status.checking_files, lt.torrent_status.checking_resume_data)
    deadline = time.time() + 30
    while time.time() < deadline:
        st = h.status()
        if st.state not in checking and st.has_metadata:
            break
        time.sleep(0.02)
    st = h.status()
    out['state'] = str(st.state)
    out['have'] = st.num_pieces
    out['error'] = st.errc.message() if st.errc.value() != 0 else None
    s.remove_torrent(h)
    print(json.dumps(out))
elif cmd == 'make':
    payload, mode, piece = sys.argv[2], sys.argv[3], int(sys.argv[4])
    fs = lt.file_storage()
    lt.add_files(fs, payload)
    ct = lt.create_torrent(fs, piece, flags=lt.create_torrent.v2_only if mode == 'v2' else 0)
    lt.set_piece_hashes(ct, os.path.dirname(os.path.abspath(payload)))
    print(json.dumps(hashes(lt.torrent_info(lt.bencode(ct.generate())))))
else:
    sys.exit('unknown command ' + cmd)
