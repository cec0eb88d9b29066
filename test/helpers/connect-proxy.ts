/**
 * A real HTTP CONNECT proxy on loopback for tests (node:http): it checks `Proxy-Authorization` when
 * given credentials, records every CONNECT target and the credentials it got, opens a TCP connection
 * to the target and tunnels bytes both ways.
 */
import { createServer, type Server } from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";

export interface ConnectProxy {
  /** `http://[user:password@]127.0.0.1:PORT`. */
  url: string;
  /** Every CONNECT asked, in order: its target (`host:port`) and its Proxy-Authorization header. */
  connects: Array<{ target: string; authorization: string | undefined }>;
  close(): Promise<void>;
}

export async function startConnectProxy(credentials?: { user: string; password: string }): Promise<ConnectProxy> {
  const expected = credentials && `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString("base64")}`;
  const sockets = new Set<Socket>();
  const connects: ConnectProxy["connects"] = [];
  const server: Server = createServer((_req, res) => res.writeHead(405).end());
  server.on("connect", (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on("error", () => {});
    connects.push({ target: req.url ?? "", authorization: req.headers["proxy-authorization"] });
    if (expected && req.headers["proxy-authorization"] !== expected) {
      client.end("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n");
      return;
    }
    const [, host, port] = /^\[?([^\]]+)\]?:(\d+)$/.exec(req.url ?? "") ?? [];
    const upstream = net.connect({ host, port: Number(port) }, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("error", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : "";
  return {
    url: `http://${auth}127.0.0.1:${port}`,
    connects,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
