/**
 * A real HTTPS webhook receiver on loopback for integration tests.
 *
 *   const receiver = await startReceiver();             // answers 200 "" to everything
 *   // … point a webhook at receiver.url, trust receiver.ca (sender `ca` option) …
 *   const [req] = await receiver.waitFor(1);            // method, path, headers, body, receivedAt
 *   receiver.respondWith({ status: 500 });              // or a function of the request
 *   receiver.respondWith({ hang: true });               // never answers
 *   await receiver.close();                             // also kills hanging/streaming sockets
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { makeCertificate } from "./tls.js";

export interface ReceivedRequest {
  method: string;
  /** Path plus query string, as sent. */
  path: string;
  /** Node's lowercase header map. */
  headers: IncomingHttpHeaders;
  /** The exact body bytes, decoded as UTF-8. */
  body: string;
  receivedAt: Date;
}

/** How to answer one request. Fields combine: e.g. `{ status: 503, delayMs: 200, body: "busy" }`. */
export interface Reply {
  /** Default 200; 302 when `redirectTo` is set. */
  status?: number;
  headers?: Record<string, string | string[]>;
  /** Default "". Ignored when `bodyBytes` or `streamForever` is set. */
  body?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the socket stays open until the client gives up or `close()`). */
  hang?: boolean;
  /** Send a body of this many bytes ("x"), generated lazily with backpressure (multi-MB is cheap). */
  bodyBytes?: number;
  /** Send the status and headers, then trickle 64 bytes every 20 ms and never finish. */
  streamForever?: boolean;
  /** Answer with a `Location` header pointing here. */
  redirectTo?: string;
}

export type Responder = Reply | ((req: ReceivedRequest) => Reply | Promise<Reply>);

export interface ReceiverOptions {
  /** Initial responder; default `{ status: 200 }`. */
  respond?: Responder;
  /** Address to listen on; default "127.0.0.1" (use "::1" for IPv6). */
  host?: string;
}

export interface Receiver {
  /** `https://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  /** PEM certificate to trust for this receiver (self-signed, valid for localhost/127.0.0.1/::1). */
  ca: string;
  /** Every completed request, in arrival order. */
  requests: ReceivedRequest[];
  /** TCP connections accepted so far (checks keep-alive reuse). */
  readonly connectionCount: number;
  /** The underlying server, for anything not covered here. */
  server: Server;
  respondWith(responder: Responder): void;
  /** Resolves once at least `count` requests arrived; rejects after `timeoutMs` (default 5000). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedRequest[]>;
  /** Forget recorded requests (the connection count is kept). */
  clear(): void;
  /** Stop listening and destroy every open socket, hanging ones included. */
  close(): Promise<void>;
}

const CHUNK = Buffer.alloc(64 * 1024, "x");

export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const { key, cert } = await makeCertificate();
  const host = opts.host ?? "127.0.0.1";
  let responder: Responder = opts.respond ?? { status: 200 };
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let waiters: Array<() => void> = [];
  let connectionCount = 0;

  const server = createServer({ key, cert }, (req, res) => {
    void handle(req, res);
  });
  server.on("connection", (socket: Socket) => {
    connectionCount++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // A client that aborts mid-handshake is expected in these tests; don't let it crash the process.
  server.on("tlsClientError", () => {});

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const received: ReceivedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      receivedAt: new Date(),
    };
    requests.push(received);
    const woken = waiters;
    waiters = [];
    for (const wake of woken) wake();

    let reply: Reply;
    try {
      reply = typeof responder === "function" ? await responder(received) : responder;
    } catch (err) {
      res.writeHead(500).end(String(err));
      return;
    }
    if (reply.delayMs) await sleep(reply.delayMs);
    if (reply.hang || res.destroyed) return;
    answer(res, reply);
  }

  function answer(res: ServerResponse, reply: Reply): void {
    const headers: Record<string, string | string[]> = { ...reply.headers };
    if (reply.redirectTo) headers.location = reply.redirectTo;
    if (reply.bodyBytes !== undefined) headers["content-length"] = String(reply.bodyBytes);
    res.writeHead(reply.status ?? (reply.redirectTo ? 302 : 200), headers);
    res.on("error", () => {}); // the client hanging up mid-body is a normal outcome here
    if (reply.streamForever) {
      res.flushHeaders();
      const timer = setInterval(() => res.write(CHUNK.subarray(0, 64)), 20);
      timers.add(timer);
      res.on("close", () => clearInterval(timer));
    } else if (reply.bodyBytes !== undefined) {
      streamBytes(res, reply.bodyBytes);
    } else {
      res.end(reply.body ?? "");
    }
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    ca: cert,
    requests,
    get connectionCount() {
      return connectionCount;
    },
    server,
    respondWith(next) {
      responder = next;
    },
    waitFor(count, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          if (requests.length < count) return false;
          clearTimeout(timer);
          resolve(requests.slice());
          return true;
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== wake);
          reject(new Error(`receiver got ${requests.length} of ${count} requests within ${timeoutMs} ms`));
        }, timeoutMs);
        const wake = (): void => {
          if (!check()) waiters.push(wake);
        };
        wake();
      });
    },
    clear() {
      requests.length = 0;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** Writes `total` bytes honouring backpressure, and stops quietly if the client goes away. */
function streamBytes(res: ServerResponse, total: number): void {
  let left = total;
  const pump = (): void => {
    while (left > 0) {
      if (res.destroyed) return;
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  pump();
}
