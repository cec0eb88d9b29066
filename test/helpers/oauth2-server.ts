/**
 * A real OAuth2 token endpoint for tests (HTTPS on loopback, the shared test certificate): checks the
 * client credentials sent as HTTP Basic (form-encoded first, RFC 6749 §2.3.1), answers
 * `grant_type=client_credentials` with a fresh token that expires after `expiresIn` seconds, and
 * counts its calls. `isValid(token)` is what a receiver asks: issued here, not expired, not revoked.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { makeCertificate } from "./tls.js";

export interface TokenServer {
  /** `https://127.0.0.1:PORT/token`. */
  url: string;
  /** Token requests received, good or bad. */
  calls: Array<{ authorization: string | undefined; form: URLSearchParams }>;
  /** Seconds the next tokens live (the `expires_in` answered). */
  expiresIn: number;
  isValid(token: string | undefined): boolean;
  /** Every token issued so far stops being valid (a receiver then answers 401). */
  revokeAll(): void;
  close(): Promise<void>;
}

export async function startTokenServer(client: { id: string; secret: string }): Promise<TokenServer> {
  const { key, cert } = await makeCertificate();
  const issued = new Map<string, number>(); // token → expiry (epoch ms)
  let n = 0;
  const expected = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString("base64")}`;
  const ts: TokenServer = {
    url: "",
    calls: [],
    expiresIn: 3600,
    isValid: (token) => token !== undefined && (issued.get(token) ?? 0) > Date.now(),
    revokeAll: () => issued.clear(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer({ key, cert }, (req, res) => void answer(req, res));
  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const chunk of req) body += String(chunk);
    const form = new URLSearchParams(body);
    ts.calls.push({ authorization: req.headers.authorization, form });
    const json = (status: number, value: unknown) => void res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    if (req.method !== "POST" || req.url !== "/token") return json(404, { error: "not_found" });
    if (req.headers.authorization !== expected) return json(401, { error: "invalid_client" });
    if (form.get("grant_type") !== "client_credentials") return json(400, { error: "unsupported_grant_type" });
    const token = `tok-${++n}-${Math.random().toString(36).slice(2)}`;
    issued.set(token, Date.now() + ts.expiresIn * 1000);
    json(200, { access_token: token, token_type: "Bearer", expires_in: ts.expiresIn });
  }
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  ts.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  return ts;
}
