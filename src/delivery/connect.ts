/**
 * Sockets through HOOKLINE_PROXY_URL, an HTTP CONNECT proxy (docs/receivers.md, "Outbound proxy"):
 * the target is resolved and checked here by the guarded lookup, the proxy is asked to CONNECT to the
 * checked address (never to a name it would resolve itself), and TLS through the tunnel still
 * verifies the target's name and presents the webhook's client certificate when it has one. The
 * per-webhook pools (webhook-pools.ts) decide which connector a socket is opened with.
 */
import type { LookupFunction } from "node:net";
import net, { isIP } from "node:net";
import tls, { type SecureContext } from "node:tls";
import type { buildConnector } from "undici";

export interface ConnectSettings {
  timeoutMs: number;
  /** The guarded lookup (sender.ts): refuses blocked addresses. */
  lookup: LookupFunction;
  /** Trusted CAs and, for a webhook with a client certificate, its certificate and key. */
  secureContext?: SecureContext;
}

export class ProxyError extends Error {
  readonly code = "ERR_HOOKLINE_PROXY";
}

/** A connector that opens each socket through the proxy at `proxyUrl` (`http://[user:password@]host:port`). */
export function proxyConnector(proxyUrl: string, s: ConnectSettings): buildConnector.connector {
  const proxy = new URL(proxyUrl);
  const credentials = proxy.username
    ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString("base64")}\r\n`
    : "";
  const proxyHost = proxy.hostname.replace(/^\[|\]$/g, "");
  const proxyPort = Number(proxy.port) || 80;
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, "");
    const port = Number(opts.port) || (opts.protocol === "https:" ? 443 : 80);
    let socket: net.Socket | tls.TLSSocket | undefined;
    let done = false;
    const finish = (err: Error | null, sock?: net.Socket | tls.TLSSocket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        socket?.destroy();
        callback(err, null);
      } else callback(null, sock!);
    };
    const timer = setTimeout(
      () => finish(Object.assign(new Error(`Connect timeout through the proxy after ${s.timeoutMs} ms`), { code: "UND_ERR_CONNECT_TIMEOUT" })),
      s.timeoutMs,
    );
    const tunnel = (ip: string) => {
      const authority = `${ip.includes(":") ? `[${ip}]` : ip}:${port}`;
      const raw = net.connect({ host: proxyHost, port: proxyPort });
      socket = raw;
      raw.once("error", (err) => finish(err));
      raw.once("connect", () => raw.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${credentials}\r\n`));
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > 16 * 1024) finish(new ProxyError("The proxy's answer to CONNECT is too long"));
          return;
        }
        raw.off("data", onData);
        const statusLine = head.subarray(0, head.indexOf("\r\n")).toString("latin1");
        const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
        if (status !== 200) return finish(new ProxyError(`The proxy refused CONNECT ${authority}: ${statusLine.slice(0, 200)}`));
        const rest = head.subarray(end + 4);
        if (rest.length > 0) raw.unshift(rest);
        if (opts.protocol !== "https:") return finish(null, raw);
        // The tunnel goes to the checked address; the certificate must still name the target.
        const secure = tls.connect({
          socket: raw,
          host,
          servername: isIP(host) ? undefined : host,
          ...(s.secureContext ? { secureContext: s.secureContext } : {}),
          ALPNProtocols: ["http/1.1"],
        });
        socket = secure;
        secure.once("error", (err) => finish(err));
        secure.once("secureConnect", () => finish(null, secure));
      };
      raw.on("data", onData);
    };
    if (isIP(host)) return tunnel(host); // literal addresses were checked before the request (sender.ts)
    s.lookup(host, {}, (err, address) => (err ? finish(err) : tunnel(address as string)));
  };
}
