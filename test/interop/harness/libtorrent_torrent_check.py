# What libtorrent 2.0 (Debian's python3-libtorrent) makes of a .torrent and of the data beside it,
# for test/interop/create-v2.test.ts. Prints one JSON object.
#   check <file.torrent> <save path>   load it (lt.torrent_info): info-hashes, pieces, files; then add
#                                      it to a session at <save path> and wait for the hash check:
#                                      its state and how many pieces it has
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
else:
    sys.exit('unknown command ' + cmd)
