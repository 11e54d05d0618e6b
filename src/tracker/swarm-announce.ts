/**
 * One announce of a hybrid torrent (BEP 52) to one tracker: the payload is in two swarms, named by
 * its SHA-1 info-hash and by the first 20 bytes of its SHA-256 one, and the tracker is told of us in
 * both — two announces, one per hash, as libtorrent 2.0 sends them (its announce entries keep an
 * info-hash each for v1 and v2). They go out together; the v2 swarm's peers come back apart
 * (`v2Peers`), as libtorrent marks the peers its v2 announce found (to dial them with that hash).
 *
 * The answer is the v1 announce's (interval, counts, tracker id), with the v2 swarm's peers added.
 * One failing is not the tracker failing: with v1 failed, the v2 answer stands in (its peers under
 * `v2Peers`); only both failing fails, with the v1 announce's error.
 */
import type { AnnounceParams, AnnounceResponse } from './announce-types.js';

export async function announceSwarms(
  announce: (params: AnnounceParams) => Promise<AnnounceResponse>,
  params: AnnounceParams,
  otherInfoHash: Uint8Array,
): Promise<AnnounceResponse> {
  const [v1, v2] = await Promise.allSettled([
    announce(params),
    announce({ ...params, infoHash: otherInfoHash }),
  ]);
  if (v1.status === 'fulfilled')
    return v2.status === 'fulfilled' ? { ...v1.value, v2Peers: v2.value.peers } : v1.value;
  if (v2.status === 'fulfilled') return { ...v2.value, peers: [], v2Peers: v2.value.peers };
  throw v1.reason;
}
