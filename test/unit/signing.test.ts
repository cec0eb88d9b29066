import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { buildAttemptHeaders, buildEventBody, testSubject } from "../../src/domain/payload.js";
import { signBody, standardSignature } from "../../src/domain/signing.js";

/** HMAC-SHA256 by an implementation that shares no code with ours. */
function opensslHmac(key: string, data: Buffer, binary = false): Buffer {
  const args = ["dgst", "-sha256", "-hmac", key, ...(binary ? ["-binary"] : [])];
  const run = spawnSync("openssl", args, { input: data });
  if (run.status !== 0) throw new Error(`openssl failed: ${run.stderr.toString()}`);
  if (binary) return run.stdout;
  const hex = /([0-9a-f]{64})\s*$/.exec(run.stdout.toString())?.[1];
  if (!hex) throw new Error(`unexpected openssl output: ${run.stdout.toString()}`);
  return Buffer.from(hex, "hex");
}

const CASES: Array<[string, string, string | Buffer]> = [
  ["ascii", "s3cret", '{"id":"evt_1","event":"issue.created"}'],
  ["generated-style secret, used as text not base64", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", '{"a":1}'],
  ["UTF-8 secret and body", "clé-🔑-секрет", '{"name":"Ünïcødé ✓ 🚀"}'],
  ["empty body", "k", ""],
  ["non-UTF-8 bytes", "k", Buffer.from([0xff, 0x00, 0xfe, 0x80, 0x7b])],
  ["secret longer than a SHA-256 block", "x".repeat(200), "body"],
];

const bytes = (body: string | Buffer) => (typeof body === "string" ? Buffer.from(body, "utf8") : body);

describe("signBody", () => {
  it.each(CASES)("matches openssl (%s)", (_label, secret, body) => {
    const expected = opensslHmac(secret, bytes(body)).toString("hex");
    expect(signBody(secret, body)).toBe(expected);
  });

  it("is lowercase hex of 32 bytes", () => {
    expect(signBody("k", "b")).toMatch(/^[0-9a-f]{64}$/);
  });

  it("signs a string and its UTF-8 Buffer alike", () => {
    expect(signBody("k", "é🚀")).toBe(signBody("k", Buffer.from("é🚀", "utf8")));
  });

  it("signs with each secret's own key while its cache of keys fills and starts over", () => {
    // The keys are kept per secret (4096 at most): past the bound the cache is emptied, never mixed up.
    const secrets = Array.from({ length: 4200 }, (_, i) => `whsec_${i}`);
    for (const round of [0, 1]) {
      for (const [i, secret] of secrets.entries()) {
        if (i % 700 !== round) continue;
        expect(signBody(secret, "b")).toBe(opensslHmac(secret, Buffer.from("b")).toString("hex"));
      }
      for (const secret of secrets) signBody(secret, "b");
    }
    expect(standardSignature("whsec_1", "id", 1, "b")).not.toBe(standardSignature("whsec_2", "id", 1, "b"));
  });
});

describe("standardSignature", () => {
  const id = "dlv_01J9Z3YQ8W6J4T6V2K6J3H5M7N";
  const ts = 1_764_342_245;

  it.each(CASES)("matches openssl over id.timestamp.body (%s)", (_label, secret, body) => {
    const signed = Buffer.concat([Buffer.from(`${id}.${ts}.`), bytes(body)]);
    expect(standardSignature(secret, id, ts, body)).toBe(`v1,${opensslHmac(secret, signed, true).toString("base64")}`);
  });

  it.each(CASES.filter(([, , body]) => typeof body === "string"))("matches the standardwebhooks library (%s)", (_label, secret, body) => {
    // The library's string form of a raw secret takes char codes, not UTF-8; its byte form is exact.
    const lib = new Webhook(Buffer.from(secret, "utf8"), { format: "raw" });
    expect(standardSignature(secret, id, ts, body)).toBe(lib.sign(id, new Date(ts * 1000), body));
  });

  it("matches the standardwebhooks library for any ASCII secret and any text body", () => {
    const secret = fc.string({ minLength: 1, maxLength: 80, unit: fc.constantFrom(..."abcXYZ019_+/=-. !~") });
    fc.assert(
      fc.property(secret, fc.string({ unit: "grapheme" }), fc.integer({ min: 0, max: 2 ** 33 }), (s, body, t) => {
        const lib = new Webhook(s, { format: "raw" });
        expect(standardSignature(s, id, t, body)).toBe(lib.sign(id, new Date(t * 1000), body));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses a timestamp that is not whole seconds", () => {
    expect(() => standardSignature("k", id, 1.5, "b")).toThrow(RangeError);
    expect(() => standardSignature("k", id, 2 ** 53, "b")).toThrow(/whole unix seconds/);
    expect(() => standardSignature("k", id, Number.NaN, "b")).toThrow(/whole unix seconds/);
  });
});

describe("buildEventBody", () => {
  it("is the exact JSON of the spec, keys in order", () => {
    const body = buildEventBody({
      id: "evt_1",
      event: "test-run.completed",
      createdAt: new Date("2026-11-28T15:04:05.123Z"),
      projectId: "acme",
      subject: { id: 7, title: "Smoke ✓" },
    });
    expect(body).toBe(
      '{"id":"evt_1","event":"test-run.completed","created_at":"2026-11-28T15:04:05.123Z","project_id":"acme","subject":{"id":7,"title":"Smoke ✓"}}',
    );
  });

  it("keeps the subject key when there is no subject", () => {
    const body = buildEventBody({ id: "e", event: "x", createdAt: new Date(0), projectId: "p", subject: undefined });
    expect(Object.keys(JSON.parse(body))).toEqual(["id", "event", "created_at", "project_id", "subject"]);
    expect(JSON.parse(body).subject).toBeNull();
  });

  it("builds the test subject", () => {
    expect(testSubject("wh_1")).toEqual({ webhook_id: "wh_1", message: "This is a test event from Hookline." });
  });
});

describe("buildAttemptHeaders", () => {
  const base = {
    event: "issue.created",
    deliveryId: "dlv_1",
    attempt: 3,
    body: '{"id":"evt_1"}',
    userAgent: "Hookline/0.1.0",
    now: new Date("2026-11-28T15:04:05.999Z"),
  };

  it("without a secret sends no signature headers", () => {
    expect(buildAttemptHeaders({ ...base, secret: null })).toEqual({
      "Content-Type": "application/json",
      "User-Agent": "Hookline/0.1.0",
      "Hookline-Event": "issue.created",
      "Hookline-Delivery": "dlv_1",
      "Hookline-Attempt": "3",
    });
  });

  it("with a secret adds Signature and the Standard Webhooks headers", () => {
    const headers = buildAttemptHeaders({ ...base, secret: "s3cret" });
    const ts = Math.floor(base.now.getTime() / 1000);
    expect(headers).toEqual({
      "Content-Type": "application/json",
      "User-Agent": "Hookline/0.1.0",
      "Hookline-Event": "issue.created",
      "Hookline-Delivery": "dlv_1",
      "Hookline-Attempt": "3",
      Signature: opensslHmac("s3cret", Buffer.from(base.body)).toString("hex"),
      "webhook-id": "dlv_1",
      "webhook-timestamp": String(ts),
      "webhook-signature": `v1,${opensslHmac("s3cret", Buffer.from(`dlv_1.${ts}.${base.body}`), true).toString("base64")}`,
    });
    expect(headers["webhook-timestamp"]).toBe("1795878245");
  });

  it("passes the standardwebhooks library's own verification", () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const headers = buildAttemptHeaders({ ...base, secret, now: new Date() });
    expect(new Webhook(secret, { format: "raw" }).verify(base.body, headers)).toEqual({ id: "evt_1" });
    expect(() => new Webhook("whsec_other", { format: "raw" }).verify(base.body, headers)).toThrow(/No matching signature/);
  });

  it("changes only the timestamp and its signature between retries", () => {
    const first = buildAttemptHeaders({ ...base, secret: "k", attempt: 1 });
    const retry = buildAttemptHeaders({ ...base, secret: "k", attempt: 2, now: new Date(base.now.getTime() + 10_000) });
    expect(retry.Signature).toBe(first.Signature);
    expect(retry["webhook-id"]).toBe(first["webhook-id"]);
    expect(retry["webhook-signature"]).not.toBe(first["webhook-signature"]);
    expect(Number(retry["webhook-timestamp"]) - Number(first["webhook-timestamp"])).toBe(10);
  });
});
