/**
 * Webhook receivers that misbehave on the wire: raw TLS (or bare TCP) servers on loopback whose
 * answer is written by hand, byte by byte if need be, so tests can throw at the sender what no
 * well-behaved HTTP server would send.
 *
 *   const h = await startHostile("endless-header");
 *   // … point a webhook at h.url, trust h.ca …
 *   h.stats.maxBytesWritten   // the most one connection managed to push before the client quit
 */
import net, { type AddressInfo, type Socket } from "node:net";
import tls from "node:tls";
import { makeCertificate } from "./tls.js";

export type Behaviour =
  /** Sends the status line and part of the body, then resets the connection (TCP RST). */
  | "reset-mid-response"
  /** Resets the connection as soon as the request arrived, before any answer. */
  | "reset-before-response"
  /** Sends a valid 200 one byte every 100 ms: the whole answer takes about 7.6 s, longer than any timeout the tests use. */
  | "slow-headers"
  /** 200, chunked, and a body written as fast as the client reads, forever. */
  | "endless-body"
  /** 200, chunked, and 16 bytes every 50 ms, forever. */
  | "trickle-body"
  /** Answers something that is not HTTP. */
  | "invalid-http"
  /** A valid status line, then a header line without a colon. */
  | "invalid-header"
  /** Answers a valid 200 only after `lateMs`. */
  | "late-ok"
  /** One header line that never ends, written as fast as the client reads. */
  | "endless-header"
  /** Header lines without end (`X-N: 1`), written as fast as the client reads. */
  | "endless-header-lines"
  /** Accepts TCP and never speaks (the TLS handshake never completes). */
  | "tarpit";

export interface HostileStats {
  connections: number;
  /** Connections open right now, and the most open at once. */
  open: number;
  maxOpen: number;
  /** Most plaintext bytes one connection wrote before the client went away. */
  maxBytesWritten: number;
}

export interface HostileReceiver {
  url: string;
  port: number;
  ca: string;
  stats: HostileStats;
  close(): Promise<void>;
}

const FILL = Buffer.alloc(16 * 1024, "a");
const HEADER_LINES = Buffer.from("X-N: 1\r\n".repeat(2048));

export async function startHostile(behaviour: Behaviour, opts: { lateMs?: number } = {}): Promise<HostileReceiver> {
  const { key, cert } = await makeCertificate();
  const stats: HostileStats = { connections: 0, open: 0, maxOpen: 0, maxBytesWritten: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const track = (socket: Socket): void => {
    stats.connections++;
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => {
      stats.open--;
      sockets.delete(socket);
    });
  };

  const onRequest = (socket: tls.TLSSocket): void => {
    let written = 0;
    let head = "";
    let answered = false;
    const record = (): void => void (stats.maxBytesWritten = Math.max(stats.maxBytesWritten, written));
    socket.on("close", record);
    const write = (data: Buffer | string): boolean => {
      if (socket.destroyed) return false;
      written += Buffer.byteLength(data);
      return socket.write(data);
    };
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(() => (socket.destroyed ? clearInterval(timer) : fn()), ms);
      timers.add(timer);
      socket.on("close", () => clearInterval(timer));
    };
    /** Writes `next()` whenever the socket can take more, until it closes. */
    const flood = (next: () => Buffer): void => {
      const pump = (): void => {
        while (!socket.destroyed) {
          if (!write(next())) return void socket.once("drain", pump);
        }
      };
      pump();
    };
    const reset = (): void => {
      // A TLS socket's RST goes out on the TCP socket beneath it.
      const raw = (socket as unknown as { _parent?: Socket })._parent;
      if (raw && typeof raw.resetAndDestroy === "function") raw.resetAndDestroy();
      else socket.destroy();
    };

    socket.on("data", (chunk) => {
      if (answered) return;
      head += chunk.toString("latin1");
      if (!head.includes("\r\n\r\n")) return; // the body (small JSON) follows; we answer on the head
      answered = true;
      switch (behaviour) {
        case "reset-mid-response":
          write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\npartial body");
          setTimeout(reset, 50);
          return;
        case "reset-before-response":
          reset();
          return;
        case "slow-headers": {
          const bytes = Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: yes\r\nContent-Length: 2\r\n\r\nok");
          let i = 0;
          every(100, () => (i < bytes.length ? write(bytes.subarray(i, ++i)) : socket.end()));
          return;
        }
        case "endless-body":
          write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
          flood(() => Buffer.concat([Buffer.from(`${FILL.length.toString(16)}\r\n`), FILL, Buffer.from("\r\n")]));
          return;
        case "trickle-body":
          write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
          every(50, () => write("10\r\n0123456789abcdef\r\n"));
          return;
        case "invalid-http":
          write("SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n\r\n");
          return;
        case "invalid-header":
          write("HTTP/1.1 200 OK\r\nThis is no header\r\nContent-Length: 0\r\n\r\n");
          return;
        case "late-ok":
          timers.add(setTimeout(() => write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"), opts.lateMs ?? 3000));
          return;
        case "endless-header":
          write("HTTP/1.1 200 OK\r\nX-Flood: ");
          flood(() => FILL);
          return;
        case "endless-header-lines":
          write("HTTP/1.1 200 OK\r\n");
          flood(() => HEADER_LINES);
          return;
      }
    });
  };

  const server: net.Server =
    behaviour === "tarpit"
      ? net.createServer((socket) => {
          track(socket);
          socket.resume(); // read and drop the ClientHello: a paused socket would not notice the client leaving
        })
      : tls.createServer({ key, cert }, (socket) => {
          track(socket);
          onRequest(socket);
        });
  server.on("tlsClientError", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: cert,
    stats,
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
