/**
 * mTLS with a local CA made by openssl: a receiver that requires a client certificate from that CA
 * accepts the webhook's certificate and refuses an unknown one, which fails the attempt with a TLS
 * error. GET shows the certificate's subject, issuer, expiry and fingerprint, never its key; the key
 * is sealed in an encrypted database; bad certificates are refused with 422 naming the path.
 */
import crypto, { X509Certificate } from "node:crypto";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClientCa, type Pem } from "../helpers/client-ca.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { makeCertificate } from "../helpers/tls.js";
import { eventually } from "../helpers/wait.js";

describe.each(DIALECTS)("client certificates (%s)", (dialect) => {
  let server: Server;
  let url: string;
  let good: Pem;
  let unknown: Pem;
  let otherKey: Pem;
  let serverCa: string;
  const seen: Array<string | undefined> = [];
  let hl: TestHookline;

  beforeAll(async () => {
    const [trusted, stranger, tls] = await Promise.all([makeClientCa("Receiver Client CA"), makeClientCa("Unknown CA"), makeCertificate()]);
    [good, unknown, otherKey] = await Promise.all([trusted.client("hookline-acme"), stranger.client("hookline-acme"), trusted.client("other")]);
    serverCa = tls.cert;
    server = createServer({ key: tls.key, cert: tls.cert, ca: trusted.ca.cert, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seen.push(String((req.socket as import("node:tls").TLSSocket).getPeerCertificate().subject?.CN));
      req.resume();
      req.on("end", () => res.end("ok"));
    });
    server.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/mtls`;
    hl = await startHookline({
      dialect,
      worker: true,
      ca: serverCa,
      env: { HOOKLINE_ENCRYPTION_KEY: crypto.randomBytes(32).toString("base64"), HOOKLINE_RETRY_DELAYS: "" },
    });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  /** Makes a Test attempt and answers its log entry. */
  async function attempt(id: string) {
    const page = async () => (await hl.api("GET", `/api/v1/projects/acme/webhooks/${id}/logs`)).body.data;
    const before = (await page()).length;
    await hl.api("POST", `/api/v1/projects/acme/webhooks/${id}/test`);
    return eventually(async () => {
      const entries = await page();
      expect(entries).toHaveLength(before + 1);
      return entries[0];
    });
  }

  it("presents the webhook's certificate; the receiver accepts it; GET shows it without the key; the key is sealed", async () => {
    const res = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "mtls", events: ["issue.created"], url, client_certificate: good });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const x = new X509Certificate(good.cert);
    expect(res.body.client_certificate).toEqual({
      subject: "CN=hookline-acme, O=Hookline Tests",
      issuer: "CN=Receiver Client CA",
      not_after: new Date(x.validTo).toISOString(),
      fingerprint_sha256: x.fingerprint256,
    });
    expect(JSON.stringify((await hl.api("GET", `/api/v1/projects/acme/webhooks/${res.body.id}`)).body)).not.toContain("PRIVATE KEY");
    const row = await hl.runtime.ctx.store.db
      .selectFrom("webhooks")
      .select(["client_key", "client_cert"])
      .where("id", "=", res.body.id)
      .executeTakeFirstOrThrow();
    expect(row.client_key).toMatch(/^enc:v1:/);
    expect(row.client_cert).toContain("BEGIN CERTIFICATE");
    const entry = await attempt(res.body.id);
    expect(entry).toMatchObject({ success: true, status_code: 200 });
    expect(seen.at(-1)).toBe("hookline-acme");

    // Without a certificate the receiver refuses the handshake.
    await hl.api("PATCH", `/api/v1/projects/acme/webhooks/${res.body.id}`, { client_certificate: null });
    const without = await attempt(res.body.id);
    expect(without.success).toBe(false);
  });

  it("fails the attempt with a TLS error when the receiver does not know the certificate", async () => {
    const res = await hl.api("POST", "/api/v1/projects/acme/webhooks", {
      name: "stranger",
      events: ["issue.created"],
      url,
      client_certificate: unknown,
      enabled: false,
    });
    expect(res.status).toBe(201);
    const entry = await attempt(res.body.id);
    expect(entry.success).toBe(false);
    expect(entry.status_code).toBeNull();
    expect(entry.error).toMatch(/^TLS error: .*did not accept the client certificate$/);
  });

  it("refuses a key that does not match, and input that is not PEM, naming the path", async () => {
    const post = (client_certificate: unknown) =>
      hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "bad", events: ["issue.created"], url, client_certificate, enabled: false });
    const mismatch = await post({ cert: good.cert, key: otherKey.key });
    expect(mismatch.status).toBe(422);
    expect(mismatch.body.error.details).toEqual([{ field: "client_certificate.key", message: expect.stringMatching(/does not match/) }]);
    const notPem = await post({ cert: "hello", key: "world" });
    expect(notPem.body.error.details.map((d: { field: string }) => d.field)).toEqual(["client_certificate.cert", "client_certificate.key"]);
  });
});
