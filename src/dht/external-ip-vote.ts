/**
 * Our external IPv4 address, as the nodes answering us see it (BEP 42's `ip` key in responses):
 * voted over several distinct responders, never taken from one answer, as libtorrent's ip_voter
 * does — a single node could otherwise move our node id wherever it likes.
 *
 * Each responder's IP votes once a round, for the address it reports. The first address is taken
 * once MIN_EXTERNAL_IP_VOTES responders name it and it leads the runner-up by half again
 * (libtorrent's "2/3 of the votes" rule against flapping); after that, a round ends at
 * EXTERNAL_IP_ROUND_VOTES votes or after EXTERNAL_IP_ROUND_MS, and its leader, under the same two
 * conditions, is the address from then on (the votes are then cleared: a moved address wins the next
 * round). An address an earlier run saved is ours until the first vote is decided, as if unknown. Addresses an id cannot be derived from usefully are not counted: local ones (BEP 42
 * exempts them), 0.0.0.0/8, multicast, and anything not IPv4. Bounded: at most
 * EXTERNAL_IP_ROUND_VOTES voters and as many addresses a round. Pure.
 */
import { ipv4Octets } from '../net/ban-key.js';
import { isDialableHost } from '../net/dialable-host.js';
import { isSecureIdExempt } from './secure-node-id.js';

/** Distinct responders that must name an address before it is taken. */
export const MIN_EXTERNAL_IP_VOTES = 3;
/** Votes after which a round is counted (libtorrent rotates at 50). */
export const EXTERNAL_IP_ROUND_VOTES = 50;
/** A round with at least MIN_EXTERNAL_IP_VOTES votes is counted after this long (libtorrent: 5 min). */
export const EXTERNAL_IP_ROUND_MS = 5 * 60_000;

export class ExternalIpVote {
  #address: string | undefined;
  /** This round: an address → how many voted for it. */
  readonly #tally = new Map<string, number>();
  /** This round's voters (their IPs): one vote each. */
  readonly #voters = new Set<string>();
  #roundStart: number;
  /** An address was voted in this run (until then the first clear leader is taken at once). */
  #settled = false;

  /** `address`: what an earlier run knew (the saved state), until the first vote says otherwise. */
  constructor(now: number, address?: string) {
    this.#roundStart = now;
    this.#address = address;
  }

  /** The external address, once voted (or given). */
  get address(): string | undefined {
    return this.#address;
  }

  /**
   * `voter` (a responder's IP) says our address is `reported`. Returns the address when this vote
   * made it ours (the first, or another than before), else undefined.
   */
  vote(reported: string, voter: string, now: number): string | undefined {
    if (ipv4Octets(reported) === undefined || !isDialableHost(reported) || isSecureIdExempt(reported))
      return undefined;
    if (this.#voters.has(voter)) return undefined;
    this.#voters.add(voter);
    this.#tally.set(reported, (this.#tally.get(reported) ?? 0) + 1);
    const roundOver =
      !this.#settled ||
      this.#voters.size >= EXTERNAL_IP_ROUND_VOTES ||
      (now - this.#roundStart >= EXTERNAL_IP_ROUND_MS && this.#voters.size >= MIN_EXTERNAL_IP_VOTES);
    if (!roundOver) return undefined;
    const winner = this.#leader();
    if (winner === undefined) {
      // No clear leader after a whole round: start again rather than count for ever.
      if (this.#voters.size >= EXTERNAL_IP_ROUND_VOTES) this.#newRound(now);
      return undefined;
    }
    this.#newRound(now);
    this.#settled = true;
    if (winner === this.#address) return undefined;
    this.#address = winner;
    return winner;
  }

  /** The address with MIN_EXTERNAL_IP_VOTES votes or more and over 3/2 of the runner-up's. */
  #leader(): string | undefined {
    let top: [string, number] | undefined;
    let second = 0;
    for (const [address, votes] of this.#tally)
      if (top === undefined || votes > top[1]) {
        second = top?.[1] ?? 0;
        top = [address, votes];
      } else if (votes > second) second = votes;
    if (top === undefined || top[1] < MIN_EXTERNAL_IP_VOTES || 2 * top[1] <= 3 * second) return undefined;
    return top[0];
  }

  #newRound(now: number): void {
    this.#tally.clear();
    this.#voters.clear();
    this.#roundStart = now;
  }
}
