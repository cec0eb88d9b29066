/**
 * `hookline listen`: a local receiver for development. Prints each delivery and whether its
 * signature verifies, answers 200 (or `--status N`, to watch retries), and can forward each request
 * to the app being developed (`--forward-to URL`). `startListener` runs one in-process (the demo).
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { parseArgs } from "node:util";
import { describeRequest, reportLines, type ReceivedDelivery } from "./delivery-report.js";
import { OpensslMissingError, selfSignedCertificate } from "./self-signed.js";

export interface ListenerOptions {
  /** Default 9000; 0 picks a free port. */
  port?: number;
  /** Default "127.0.0.1". */
  host?: string;
  /** Verify signatures with these secrets (any may match). None: signatures are not checked. */
  secrets?: string[];
  /** Status to answer. Default 200, or the forward target's status with `forwardTo`. */
  status?: number;
  /** Serve HTTPS with a self-signed certificate (needs the openssl command). */
  https?: boolean;
  /** Forward every request (method, headers, body) to this URL and print its status. */
  forwardTo?: string;
  /** Where the report goes; default stdout. */
  write?: (text: string) => void;
  /** Put before every printed line (the demo labels its listener). */
  prefix?: string;
  /** Called for each request, after it was answered. */
  onRequest?: (d: ReceivedDelivery, answered: number) => void;
}

export interface Listener {
  /** `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (no trailing slash). */
  url: string;
  port: number;
  /** With https: the certificate file Hookline must trust (NODE_EXTRA_CA_CERTS). */
  certFile?: string;
  close(): Promise<void>;
}

const MAX_BODY = 10 * 1024 * 1024;
const FORWARD_TIMEOUT_MS = 10_000;
// Connection-level headers describe the hop to the listener, not the request being forwarded.
const HOP_HEADERS = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "expect", "upgrade", "te", "trailer"]);

export function checkStatus(status: number): number {
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new Error(`--status must be an HTTP status from 200 to 599, got ${status}`);
  return status;
}

function checkForwardUrl(raw: string): string {
  if (!URL.canParse(raw)) throw new Error(`--forward-to must be an absolute http(s) URL, got "${raw}"`);
  const u = new URL(raw);
  if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error(`--forward-to must be an http(s) URL, got "${raw}"`);
  return u.toString();
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size <= MAX_BODY) chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function forward(target: string, req: IncomingMessage, body: Buffer) {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_HEADERS.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const started = Date.now();
  try {
    const res = await fetch(target, {
      method: req.method,
      headers,
      body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
      redirect: "manual",
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
    const text = await res.text();
    return { status: res.status, body: text, line: `↳ forwarded to ${target} → ${res.status} (${Date.now() - started} ms)` };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    return { status: 502, body: "", line: `↳ forwarding to ${target} failed: ${why} (answered 502)` };
  }
}

export async function startListener(opts: ListenerOptions = {}): Promise<Listener> {
  const secrets = opts.secrets ?? [];
  const host = opts.host ?? "127.0.0.1";
  const forwardTo = opts.forwardTo ? checkForwardUrl(opts.forwardTo) : undefined;
  if (opts.status !== undefined) checkStatus(opts.status);
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  const print = (lines: string[]) => write(lines.map((l) => `${opts.prefix ?? ""}${l}\n`).join(""));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const delivery = describeRequest({ method: req.method ?? "", path: req.url ?? "/", headers: req.headers, body }, secrets);
    let status = opts.status ?? 200;
    let answer = "";
    let forwarded: string | undefined;
    if (forwardTo) {
      const f = await forward(forwardTo, req, body);
      forwarded = f.line;
      // Hookline sees what the app answered (so its retries behave as they will in production),
      // unless --status overrides it.
      if (opts.status === undefined) {
        status = f.status;
        answer = f.body;
      }
    } else if (delivery.event === null && req.method === "GET") {
      answer = "hookline listen: POST webhook deliveries to this address.\n";
    }
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8" }).end(answer);
    const lines = reportLines(delivery, status);
    if (forwarded) lines.push(`${" ".repeat(10)}${forwarded}`);
    print(lines);
    opts.onRequest?.(delivery, status);
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      print([`request failed: ${(err as Error).message}`]);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
  const tls = opts.https ? await selfSignedCertificate() : undefined;
  const server = tls ? https.createServer({ key: tls.key, cert: tls.cert }, onRequest) : http.createServer(onRequest);
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  if (tls) server.on("tlsClientError", () => {}); // a client that does not trust the certificate hangs up

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 9000, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  // A wildcard address is reachable on loopback; show that.
  const shownHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  return {
    url: `${tls ? "https" : "http"}://${shownHost}:${port}`,
    port,
    certFile: tls?.certFile,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

export async function listenCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: "string", default: "9000" },
      host: { type: "string", default: "127.0.0.1" },
      secret: { type: "string", multiple: true },
      status: { type: "string" },
      https: { type: "boolean" },
      "forward-to": { type: "string" },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) {
    console.error(`hookline listen: --port must be a port number from 0 to 65535, got "${values.port}"`);
    return 2;
  }
  let listener: Listener;
  try {
    listener = await startListener({
      port,
      host: values.host,
      secrets: values.secret ?? [],
      status: values.status === undefined ? undefined : checkStatus(Number(values.status)),
      https: values.https,
      forwardTo: values["forward-to"],
    });
  } catch (err) {
    console.error(`hookline listen: ${(err as Error).message}`);
    // 2: a bad flag; 1: the environment (port taken, no openssl).
    return (err as NodeJS.ErrnoException).code === "EADDRINUSE" || err instanceof OpensslMissingError ? 1 : 2;
  }
  const secrets = values.secret?.length ?? 0;
  const intro = [
    `hookline listen: receiving webhooks at ${listener.url}`,
    `  answering ${values.status ?? (values["forward-to"] ? "what the forward target answers" : "200")}` +
      (values["forward-to"] ? `; forwarding to ${values["forward-to"]}` : ""),
    secrets ? `  verifying signatures with ${secrets} secret${secrets > 1 ? "s" : ""}` : "  signatures are not checked (pass --secret S to check them)",
  ];
  if (listener.certFile) {
    intro.push(`  self-signed certificate: ${listener.certFile}`, `  make Hookline trust it: NODE_EXTRA_CA_CERTS=${listener.certFile}`);
  }
  intro.push(
    "  Hookline refuses loopback targets unless it runs with --demo or HOOKLINE_ALLOW_PRIVATE_NETWORKS=127.0.0.0/8" +
      (listener.certFile ? "" : " (and HOOKLINE_ALLOW_HTTP=true for http)"),
    "  Ctrl-C stops.",
    "",
  );
  process.stdout.write(intro.join("\n") + "\n");
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await listener.close();
  return 0;
}
