/**
 * The limits the wire codec puts on what a peer may send. Every length read from the network is
 * checked against one of these before a byte of that size is buffered or allocated, so a peer can
 * make one connection hold at most `MAX_FRAME_LENGTH` bytes of decoder memory, whatever it sends.
 *
 * Why these numbers (see docs/wire.md for the longer story):
 * - Blocks: 16 KiB is the request size every mainstream client uses. libtorrent answers a request
 *   longer than its block size (16 KiB) with a reject and disconnects a peer whose piece message
 *   carries more than that (`errors::packet_too_large`); aria2 defines `MAX_BLOCK_LENGTH` as 16 KiB.
 *   A piece message is only ever an answer to one of OUR requests, and we never ask for more than
 *   `BLOCK_LENGTH`, so a longer block is a protocol violation, not something to be lenient about.
 * - Bitfields: one bit per piece, so the largest legal bitfield follows from the largest torrent we
 *   accept, `MAX_PIECE_COUNT` (2^21 pieces: 32 GiB at 16 KiB pieces, 8 TiB at 4 MiB pieces).
 *   The metainfo parser must reject torrents with more pieces for this bound to hold end to end.
 * - Extended messages (BEP 10): the largest we need is a BEP 9 metadata piece (16 KiB of info
 *   dictionary plus a small bencoded header); extension handshakes and ut_pex are a few KiB. We
 *   allow 1 MiB, the cap other clients use for extension messages, so a verbose client still fits.
 * - BEP 52 hashes: a `hashes` message carries the hashes of one run of a layer and the uncle hashes
 *   that prove them. libtorrent asks for and answers at most 8,192 hashes of a layer
 *   (validate_hash_request: a whole piece's 16 KiB leaves at 128 MiB pieces); a proof has one uncle
 *   per layer above the run, fewer than 64 in any file (2^64 bytes make 50 layers).
 */

/** The block size we request (BEP 3 leaves it open; 16 KiB is what every client uses). */
export const BLOCK_LENGTH = 16 * 1024;

/** The largest block a piece message may carry (and that a request may ask for). */
export const MAX_BLOCK_LENGTH = 16 * 1024;

/** The largest number of pieces a torrent may have; bounds the bitfield message. */
export const MAX_PIECE_COUNT = 2 ** 21;

/** The largest bitfield payload: one bit per piece, rounded up to whole bytes (256 KiB). */
export const MAX_BITFIELD_LENGTH = Math.ceil(MAX_PIECE_COUNT / 8);

/** The largest BEP 10 payload (after the extended message id byte). */
export const MAX_EXTENDED_PAYLOAD_LENGTH = 1024 * 1024;

/** The most hashes of one layer a hash request may ask for and a `hashes` message carry (libtorrent's cap). */
export const MAX_HASH_REQUEST_LENGTH = 8192;

/** The most uncle hashes a `hashes` message may carry after them: more than any file's tree has layers. */
export const MAX_PROOF_HASHES = 64;

/** The most 32-byte hashes in one `hashes` message: a run of a layer and its proof. */
export const MAX_HASHES_PER_MESSAGE = MAX_HASH_REQUEST_LENGTH + MAX_PROOF_HASHES;

/** Bytes of BEP 52's hash range: <pieces root:32><base layer:4><index:4><length:4><proof layers:4>. */
export const HASH_RANGE_LENGTH = 48;

/** Bytes of one merkle hash (SHA-256) in a `hashes` message. */
export const HASH_LENGTH = 32;

/**
 * Per message kind, the largest frame length (the 4-byte prefix's value: id byte + payload).
 *   piece:    <id=7><index:4><begin:4><block>      9 + MAX_BLOCK_LENGTH
 *   bitfield: <id=5><bitfield>                    1 + MAX_BITFIELD_LENGTH
 *   extended: <id=20><extendedId:1><payload>      2 + MAX_EXTENDED_PAYLOAD_LENGTH
 *   hashes:   <id=22><hash range:48><hashes:32×n>  49 + 32 × MAX_HASHES_PER_MESSAGE (264,241)
 * Hash request and hash reject are exactly <id><hash range:48>: HASH_REQUEST_FRAME_LENGTH.
 */
export const MAX_PIECE_FRAME_LENGTH = 9 + MAX_BLOCK_LENGTH;
export const MAX_BITFIELD_FRAME_LENGTH = 1 + MAX_BITFIELD_LENGTH;
export const MAX_EXTENDED_FRAME_LENGTH = 2 + MAX_EXTENDED_PAYLOAD_LENGTH;
export const HASH_REQUEST_FRAME_LENGTH = 1 + HASH_RANGE_LENGTH;
export const MAX_HASHES_FRAME_LENGTH = HASH_REQUEST_FRAME_LENGTH + HASH_LENGTH * MAX_HASHES_PER_MESSAGE;

/**
 * The largest frame the decoder accepts by default: the largest legal message above. A length
 * prefix beyond it ends the stream with `frameTooLong` before anything is allocated. Messages with
 * ids we do not know (BEP 3: ignore them) are bounded by this too.
 */
export const MAX_FRAME_LENGTH = Math.max(
  MAX_PIECE_FRAME_LENGTH,
  MAX_BITFIELD_FRAME_LENGTH,
  MAX_EXTENDED_FRAME_LENGTH,
  MAX_HASHES_FRAME_LENGTH,
);
