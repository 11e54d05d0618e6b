/**
 * Where a web seed's files were redirected (BEP 19), remembered for the rest of the download, as
 * libtorrent keeps a web seed's redirects per file: the next GET of a file goes straight to where
 * the last one ended up, instead of paying the redirects again (archive.org answers each GET of
 * /download/… with a 302 to one of its data nodes).
 *
 * Every redirect is remembered, 301 and 308 (permanent, RFC 9110 §15.4) and 302, 303 and 307
 * (temporary) alike, as libtorrent does: a temporary one may stop holding (a node goes down, a
 * signed link expires), and that is what the fallback is for — a GET to a remembered target that
 * fails is forgotten, and the file is asked at its own URL again (web-seed-connection.ts).
 *
 * Keyed by the file's own URL (its web seed's base and the file's path), so one seed's redirects
 * are never another's. Bounded: at most MAX_REMEMBERED_REDIRECTS, the oldest forgotten first.
 */

/** Redirects remembered at most (files × web seeds of one download). */
export const MAX_REMEMBERED_REDIRECTS = 4096;

export class WebSeedRedirects {
  readonly #targets = new Map<string, string>();

  /** Where a GET of `fileUrl` goes: the remembered target, or the URL itself. */
  target(fileUrl: string): string {
    return this.#targets.get(fileUrl) ?? fileUrl;
  }

  /** A GET of `fileUrl` was answered at `answeredAt`: remembered when that is elsewhere. */
  answered(fileUrl: string, answeredAt: string): void {
    if (answeredAt === fileUrl) return;
    this.#targets.delete(fileUrl); // to the back of the order (the newest)
    this.#targets.set(fileUrl, answeredAt);
    if (this.#targets.size > MAX_REMEMBERED_REDIRECTS) {
      const oldest = this.#targets.keys().next().value;
      if (oldest !== undefined) this.#targets.delete(oldest);
    }
  }

  /** A GET of the remembered target failed: `fileUrl` is asked at its own URL again. */
  forget(fileUrl: string): void {
    this.#targets.delete(fileUrl);
  }

  get size(): number {
    return this.#targets.size;
  }
}
