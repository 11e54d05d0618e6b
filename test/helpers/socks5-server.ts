/**
 * A SOCKS5 proxy on 127.0.0.1 for tests (RFC 1928, CONNECT only): no authentication, or RFC 1929's
 * user name and password when the client offers it. It notes each client's address (`from`), each
 * target asked for (`targets`, `host:port`, a name as sent: ATYP 3) and each user name and password
 * (`logins`), and carries the tunnel to its target - or answers every CONNECT with `reply` (a SOCKS5
 * REP code: 5, connection refused) without connecting anywhere. `onLogin` is called as a client's
 * credentials arrive. Everything is closed after the test.
 */
import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import type { TestContext } from './temp-dir.js';

export interface Socks5Server {
  readonly port: number;
  readonly from: string[];
  readonly targets: string[];
  readonly logins: { user: string; password: string }[];
}

export async function socks5Server(
  t: TestContext,
  options: { readonly reply?: number; readonly onLogin?: () => void } = {},
): Promise<Socks5Server> {
  const from: string[] = [];
  const targets: string[] = [];
  const logins: { user: string; password: string }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    from.push(client.remoteAddress ?? '');
    let buf = Buffer.alloc(0);
    let stage: 'greeting' | 'login' | 'request' | 'tunnel' = 'greeting';
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (stage === 'greeting') {
        if (buf.length < 2 || buf.length < 2 + buf[1]!) return;
        const methods = [...buf.subarray(2, 2 + buf[1]!)];
        buf = buf.subarray(2 + buf[1]!);
        const login = methods.includes(2);
        stage = login ? 'login' : 'request';
        client.write(Buffer.from([5, login ? 2 : 0]));
      }
      if (stage === 'login') {
        // RFC 1929: VER ULEN UNAME PLEN PASSWD.
        if (buf.length < 2 || buf.length < 3 + buf[1]! || buf.length < 3 + buf[1]! + buf[2 + buf[1]!]!)
          return;
        const ulen = buf[1]!;
        const plen = buf[2 + ulen]!;
        logins.push({
          user: buf.subarray(2, 2 + ulen).toString(),
          password: buf.subarray(3 + ulen, 3 + ulen + plen).toString(),
        });
        buf = buf.subarray(3 + ulen + plen);
        stage = 'request';
        options.onLogin?.();
        client.write(Buffer.from([1, 0]));
      }
      if (stage === 'request') {
        // VER CMD RSV ATYP ADDR PORT: IPv4 (1), a name (3) or IPv6 (4, its groups in full).
        if (buf.length < 5) return;
        const atyp = buf[3]!;
        const addrLen = atyp === 1 ? 4 : atyp === 3 ? 1 + buf[4]! : 16;
        const end = 4 + addrLen + 2;
        if (buf.length < end) return;
        const host =
          atyp === 1
            ? [...buf.subarray(4, 8)].join('.')
            : atyp === 3
              ? buf.subarray(5, 4 + addrLen).toString()
              : Array.from({ length: 8 }, (_, i) => buf.readUInt16BE(4 + 2 * i).toString(16)).join(':');
        const port = buf.readUInt16BE(4 + addrLen);
        targets.push(`${host}:${port}`);
        const rest = buf.subarray(end);
        stage = 'tunnel';
        client.removeListener('data', onData);
        if (options.reply !== undefined) {
          client.end(Buffer.from([5, options.reply, 0, 1, 0, 0, 0, 0, 0, 0]));
          return;
        }
        client.pause();
        const target = connect({ host, port }, () => {
          client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
          if (rest.length > 0) target.write(rest);
          client.pipe(target).pipe(client);
          client.resume();
        });
        sockets.add(target);
        target.on('close', () => sockets.delete(target));
        target.on('error', () => client.destroy());
        client.on('close', () => target.destroy());
      }
    };
    client.on('data', onData);
    client.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return { port: (server.address() as AddressInfo).port, from, targets, logins };
}
