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
 * are never another's. Bounded: at most MAX_REMEMBERED_REDIRECTS of them and
 * MAX_REMEMBERED_REDIRECT_CHARS characters, the oldest forgotten first.
 */

/** Redirects remembered at most (files × web seeds of one download). */
export const MAX_REMEMBERED_REDIRECTS = 4096;
/**
 * Characters of the remembered URLs (file URL and target) at most: a Location is whatever the
 * server sends, up to Node's 16 KiB header limit, and 4,096 of those were 64 MiB.
 */
export const MAX_REMEMBERED_REDIRECT_CHARS = 4 * 1024 * 1024;

export class WebSeedRedirects {
  readonly #targets = new Map<string, string>();
  #chars = 0;

  /** Where a GET of `fileUrl` goes: the remembered target, or the URL itself. */
  target(fileUrl: string): string {
    return this.#targets.get(fileUrl) ?? fileUrl;
  }

  /** A GET of `fileUrl` was answered at `answeredAt`: remembered when that is elsewhere. */
  answered(fileUrl: string, answeredAt: string): void {
    if (answeredAt === fileUrl) return;
    this.forget(fileUrl); // to the back of the order (the newest)
    const chars = fileUrl.length + answeredAt.length;
    if (chars > MAX_REMEMBERED_REDIRECT_CHARS) return;
    this.#targets.set(fileUrl, answeredAt);
    this.#chars += chars;
    while (this.#targets.size > MAX_REMEMBERED_REDIRECTS || this.#chars > MAX_REMEMBERED_REDIRECT_CHARS) {
      const oldest = this.#targets.keys().next().value;
      if (oldest === undefined) break;
      this.forget(oldest);
    }
  }

  /** A GET of the remembered target failed: `fileUrl` is asked at its own URL again. */
  forget(fileUrl: string): void {
    const target = this.#targets.get(fileUrl);
    if (target === undefined) return;
    this.#targets.delete(fileUrl);
    this.#chars -= fileUrl.length + target.length;
  }

  get size(): number {
    return this.#targets.size;
  }

  /** Characters remembered (file URLs and targets). */
  get chars(): number {
    return this.#chars;
  }
}
