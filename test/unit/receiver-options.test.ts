/** The receiver options' rules: custom headers, auth and client certificates, each bad value named by its path. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { checkClientCertificate } from "../../src/domain/client-certificate.js";
import { ValidationError, type FieldError } from "../../src/domain/errors.js";
import { joinAuth, splitAuth, staticAuthHeader } from "../../src/domain/receiver-auth.js";
import type { UrlPolicy } from "../../src/domain/url-policy.js";
import { validateWebhookInput, type WebhookInput } from "../../src/domain/webhook-rules.js";
import { selfSignedArgs } from "../../src/cli/self-signed.js";

const urlPolicy: UrlPolicy = { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] };
const PATCH = { partial: true, catalog: new Set(["issue.created"]), urlPolicy };

function detailsOf(input: WebhookInput): FieldError[] {
  try {
    validateWebhookInput(input, PATCH);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).details;
  }
  throw new Error("expected a ValidationError");
}
const fields = (input: WebhookInput) => detailsOf(input).map((d) => d.field);

describe("unknown fields", () => {
  it("are refused, each by name (the library has no schema in front of these rules)", () => {
    expect(fields({ name: "x", colour: "red", retry_policy: {} } as WebhookInput)).toEqual(["colour", "retry_policy"]);
  });
});

describe("headers", () => {
  it("takes up to 10 token names with single-line values, and null", () => {
    const headers = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-H${i}`, `v ${i}\twith tab`]));
    expect(validateWebhookInput({ headers }, PATCH)).toEqual({ headers });
    expect(validateWebhookInput({ headers: null }, PATCH)).toEqual({ headers: null });
  });

  it("refuses the names Hookline sets, in any case, each by its path", () => {
    const refused = ["Host", "content-length", "Content-Type", "TRANSFER-ENCODING", "connection", "te", "upgrade", "user-agent", "Authorization", "signature"];
    for (const name of [...refused, "traceparent", "tracestate", "Hookline-Event", "hookline-anything", "Webhook-Signature", "webhook-id"]) {
      expect(fields({ headers: { [name]: "x" } }), name).toEqual([`headers.${name}`]);
    }
  });

  it("refuses more than 10 names, bad names, long or multi-line values, non-strings and duplicate names", () => {
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`X-H${i}`, "v"]));
    expect(fields({ headers: eleven })).toEqual(["headers"]);
    expect(fields({ headers: { "X Bad": "v" } })).toEqual(["headers.X Bad"]);
    expect(fields({ headers: { "X-Long": "x".repeat(1001) } })).toEqual(["headers.X-Long"]);
    expect(validateWebhookInput({ headers: { "X-Ok": "x".repeat(1000) } }, PATCH).headers).toEqual({ "X-Ok": "x".repeat(1000) });
    expect(fields({ headers: { "X-Crlf": "a\r\nInjected: yes" } })).toEqual(["headers.X-Crlf"]);
    expect(fields({ headers: { "X-Lf": "a\nb" } })).toEqual(["headers.X-Lf"]);
    expect(fields({ headers: { "X-Num": 5 } })).toEqual(["headers.X-Num"]);
    expect(fields({ headers: { "X-A": "1", "x-a": "2" } })).toEqual(["headers.x-a"]);
    expect(fields({ headers: ["X-A"] })).toEqual(["headers"]);
  });
});

describe("auth", () => {
  it("accepts each type and keeps its secret apart", () => {
    const oauth = {
      type: "oauth2_client_credentials",
      token_url: "https://id.example.com/token",
      client_id: "c",
      client_secret: "s",
      scope: "a b",
      audience: "x",
    };
    for (const auth of [
      { type: "bearer", token: "t" },
      { type: "basic", username: "u", password: "p" },
      { type: "header", name: "X-Api-Key", value: "k" },
      oauth,
    ]) {
      const out = validateWebhookInput({ auth }, PATCH).auth!;
      expect(out).toEqual(auth);
      const { shown, secret } = splitAuth(out);
      expect(Object.values(shown)).not.toContain(secret);
      expect(joinAuth(shown, secret)).toEqual(auth);
    }
    expect(staticAuthHeader({ type: "basic", username: "u", password: "p:w" })).toEqual(["Authorization", `Basic ${Buffer.from("u:p:w").toString("base64")}`]);
    expect(staticAuthHeader({ type: "header", name: "X-Key", value: "k" })).toEqual(["X-Key", "k"]);
  });

  it("names each bad path: unknown type, missing and unknown fields, refused header names, the token URL's policy", () => {
    expect(fields({ auth: { type: "digest" } })).toEqual(["auth.type"]);
    expect(fields({ auth: { type: "bearer" } })).toEqual(["auth.token"]);
    expect(fields({ auth: { type: "bearer", token: "t", password: "p" } })).toEqual(["auth.password"]);
    expect(fields({ auth: { type: "basic", username: "a:b", password: "p" } })).toEqual(["auth.username"]);
    expect(fields({ auth: { type: "header", name: "Authorization", value: "k" } })).toEqual(["auth.name"]);
    expect(fields({ auth: { type: "header", name: "X-K", value: "a\nb" } })).toEqual(["auth.value"]);
    expect(fields({ auth: { type: "oauth2_client_credentials", token_url: "http://id.example.com/t", client_id: "c", client_secret: "s" } })).toEqual([
      "auth.token_url",
    ]);
    expect(fields({ auth: { type: "oauth2_client_credentials", token_url: "https://10.0.0.1/t", client_id: "c", client_secret: "s" } })).toEqual([
      "auth.token_url",
    ]);
    expect(fields({ auth: { type: "oauth2_client_credentials", token_url: "https://id.example.com/t" } })).toEqual(["auth.client_id", "auth.client_secret"]);
    expect(fields({ auth: "bearer" })).toEqual(["auth"]);
    expect(fields({ auth: { type: "header", name: "X-K", value: "k" }, headers: { "x-k": "v" } })).toEqual(["auth.name"]);
  });
});

describe("client certificate", () => {
  const dir = mkdtempSync(join(tmpdir(), "hookline-cert-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string) => {
    execFileSync("openssl", selfSignedArgs(join(dir, `${name}.key`), join(dir, `${name}.pem`), { days: 10, subject: `/CN=${name}` }), { stdio: "ignore" });
    return { cert: readFileSync(join(dir, `${name}.pem`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") };
  };
  const a = make("a");
  const b = make("b");

  it("accepts a matching pair and refuses a mismatch, an expired certificate, non-PEM and an encrypted key", () => {
    expect(checkClientCertificate(a, Date.now())).toEqual({ value: { cert: a.cert.trim() + "\n", key: a.key.trim() + "\n" } });
    const errors = (raw: unknown, now = Date.now()) => {
      const r = checkClientCertificate(raw, now);
      return "errors" in r ? r.errors.map((e) => e.field) : [];
    };
    expect(errors({ cert: a.cert, key: b.key })).toEqual(["client_certificate.key"]);
    expect(errors(a, Date.now() + 11 * 86_400_000)).toEqual(["client_certificate.cert"]);
    expect(errors({ cert: "x", key: a.key })).toEqual(["client_certificate.cert"]);
    expect(errors({ cert: a.cert, key: "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----" })).toEqual([
      "client_certificate.key",
    ]);
    expect(errors({ cert: a.cert, key: a.key, password: "x" })).toEqual(["client_certificate.password"]);
    expect(errors({ cert: a.cert })).toEqual(["client_certificate.key"]);
  });
});
