/**
 * Who may talk to bitstate's servers on 127.0.0.1 (the `--ui` dashboard, the `--inspect` relay).
 *
 * Listening on 127.0.0.1 keeps other machines out, not other web sites: any page the user visits
 * can send requests to 127.0.0.1, open a WebSocket to it (WebSockets are not bound by the
 * same-origin policy), or — DNS rebinding — point its own name at 127.0.0.1 and read our answers as
 * same-origin. So every request must name us in `Host` (a rebound name shows up there), and a
 * request a browser marks with an `Origin` must come from one of our own pages.
 */

/** The names the servers answer to: they listen on 127.0.0.1 only. */
const LOCAL_NAMES = ['127.0.0.1', 'localhost'];

/** `host` is `127.0.0.1` or `localhost`, with `:port` (or no port only when the port is 80). */
export function isLocalHost(host: string | undefined, port: number): boolean {
  if (host === undefined) return false;
  const h = host.toLowerCase();
  return LOCAL_NAMES.some((name) => h === `${name}:${port}` || (port === 80 && h === name));
}

/** No `Origin` (not a browser, or a same-origin GET), or one of our own pages' origins. */
export function isLocalOrigin(origin: string | undefined, port: number): boolean {
  if (origin === undefined) return true;
  const o = origin.toLowerCase();
  return LOCAL_NAMES.some(
    (name) => o === `http://${name}:${port}` || (port === 80 && o === `http://${name}`),
  );
}

/** Both checks on a request's headers: what a server asks before it answers anything. */
export function isLocalRequest(
  headers: { readonly host?: string | undefined; readonly origin?: string | undefined },
  port: number,
): boolean {
  return isLocalHost(headers.host, port) && isLocalOrigin(headers.origin, port);
}
