/**
 * Secret rotation with an overlap and Ed25519 signing keys, through the API and as receivers see
 * them: both secrets verify with the `standardwebhooks` library during the overlap and only the new
 * one after it; `v1a,` verifies with Node's crypto.verify and with Python's `cryptography`.
 */
import { spawnSync } from "node:child_process";
import { createPublicKey, verify } from "node:crypto";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";
import { startReceiver, type ReceivedRequest, type Receiver } from "../helpers/receiver.js";
import { expectError, expectValidation, expectWebhookShape, hasKeyDeep, ISO, until } from "./support/api.js";

const OLD = "whsec_old-secret-0123456789";
const NEW = "whsec_new-secret-9876543210";

function headersOf(r: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]));
}
const verifiesWith = (secret: string, r: ReceivedRequest) => {
  try {
    new Webhook(secret, { format: "raw" }).verify(r.body, headersOf(r));
    return true;
  } catch {
    return false;
  }
};
/** The raw 32-byte key of "whpk_…" as a Node public key. */
function nodePublicKey(whpk: string) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(whpk.slice(5), "base64").toString("base64url") }, format: "jwk" });
}
const signedContent = (r: ReceivedRequest) => Buffer.from(`${r.headers["webhook-id"]}.${r.headers["webhook-timestamp"]}.${r.body}`, "utf8");
const v1aOf = (r: ReceivedRequest) =>
  String(r.headers["webhook-signature"])
    .split(" ")
    .filter((s) => s.startsWith("v1a,"))
    .map((s) => s.slice(4));
const hasPythonCryptography = spawnSync("python3", ["-c", "import cryptography"]).status === 0;

describe.each(WITH_POOLER)("secret rotation and signing keys (%s)", (dialect) => {
  let hl: TestHookline;
  let rx: Receiver;
  let offsetMs = 0;
  let n = 0;
  const fresh = async (body: Record<string, unknown> = {}) => {
    const p = `rot${++n}`;
    await hl.project(p);
    const res = await hl.api("POST", `/api/v1/projects/${p}/webhooks`, { name: "r", events: ["issue.created"], url: `${rx.url}/${p}`, ...body });
    expect(res.status).toBe(201);
    return { p, id: res.body.id as string, base: `/api/v1/projects/${p}/webhooks/${res.body.id}` };
  };
  const deliverOne = async (p: string) => {
    const before = rx.requests.filter((r) => r.path === `/${p}`).length;
    const res = await hl.api("POST", `/api/v1/projects/${p}/events`, { event: "issue.created", subject: { n: before } });
    expect(res.status).toBe(202);
    const all = await rx.waitFor(rx.requests.length + 1);
    await expect.poll(() => rx.requests.filter((r) => r.path === `/${p}`).length).toBe(before + 1);
    void all;
    return rx.requests.filter((r) => r.path === `/${p}`)[before];
  };

  beforeAll(async () => {
    rx = await startReceiver();
    hl = await startHookline({ dialect, worker: true, ca: rx.ca, now: () => Date.now() + offsetMs });
  });
  afterAll(async () => {
    await hl?.close();
    await rx?.close();
  });

  it("rotates with an overlap: both secrets verify (new first), Signature uses the new one, then only the new one", async () => {
    offsetMs = 0;
    const { p, base } = await fresh({ secret: OLD });
    const rot = await hl.api("POST", `${base}/secret/rotate`, { secret: NEW, previous_valid_seconds: 60 });
    expect(rot.status).toBe(200);
    expect(Object.keys(rot.body).sort()).toEqual(["previous_secret_expires_at", "secret"]);
    expect(rot.body.secret).toBe(NEW);
    expect(rot.body.previous_secret_expires_at).toMatch(ISO);
    const expires = Date.parse(rot.body.previous_secret_expires_at);
    expect(Math.abs(expires - (Date.now() + 60_000))).toBeLessThan(5_000);
    expect(rot.headers.get("cache-control")).toBe("no-store");

    const hook = await hl.api("GET", base);
    expectWebhookShape(hook.body);
    expect(hook.body.previous_secret_expires_at).toBe(rot.body.previous_secret_expires_at);
    expect(JSON.stringify(hook.body)).not.toContain(OLD);
    expect((await hl.api("GET", `${base}/secret`)).body).toEqual({ secret: NEW });

    const during = await deliverOne(p);
    const values = String(during.headers["webhook-signature"]).split(" ");
    expect(values).toHaveLength(2);
    expect(values.every((v) => v.startsWith("v1,"))).toBe(true);
    expect(verifiesWith(NEW, during)).toBe(true);
    expect(verifiesWith(OLD, during)).toBe(true);
    // New first: the first value alone is the new secret's.
    expect(verifiesWith(NEW, { ...during, headers: { ...during.headers, "webhook-signature": values[0] } })).toBe(true);
    const { signBody } = await import("../../src/domain/signing.js");
    expect(during.headers["signature"]).toBe(signBody(NEW, during.body));

    // The delivery log shows what was sent, both values included.
    const logs = await until(async () => {
      const res = await hl.api("GET", `${base}/logs`);
      return res.body.data.length > 0 && res;
    });
    const detail = await hl.api("GET", `${base}/logs/${logs.body.data[0].id}`);
    expect(detail.body.request.headers["webhook-signature"]).toBe(during.headers["webhook-signature"]);

    offsetMs = 61_000; // past the overlap (still within standardwebhooks' 5-minute window)
    const after = await deliverOne(p);
    expect(String(after.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(verifiesWith(NEW, after)).toBe(true);
    expect(verifiesWith(OLD, after)).toBe(false);
    expect((await hl.api("GET", base)).body.previous_secret_expires_at).toBeNull();

    // The purge forgets it.
    const { purgeOld } = await import("../../src/store/queue/purge.js");
    await purgeOld(hl.runtime.ctx.store.db, { now: hl.runtime.ctx.now(), logRetentionDays: 14 });
    const row = await hl.runtime.ctx.store.db
      .selectFrom("webhooks")
      .select(["previous_secret", "previous_secret_expires_at"])
      .where("project_id", "=", p)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ previous_secret: null, previous_secret_expires_at: null });
    offsetMs = 0;
  });

  it("generates a secret when none is given, defaults to a day of overlap, and a second rotation drops the oldest", async () => {
    const { p, base } = await fresh({ secret: OLD });
    const rot = await hl.api("POST", `${base}/secret/rotate`);
    expect(rot.status).toBe(200);
    expect(rot.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(Math.abs(Date.parse(rot.body.previous_secret_expires_at) - (Date.now() + 86_400_000))).toBeLessThan(5_000);
    const rot2 = await hl.api("POST", `${base}/secret/rotate`, {});
    expect(rot2.body.secret).not.toBe(rot.body.secret);
    const sent = await deliverOne(p);
    expect(verifiesWith(rot2.body.secret, sent)).toBe(true);
    expect(verifiesWith(rot.body.secret, sent)).toBe(true);
    expect(verifiesWith(OLD, sent)).toBe(false);
  });

  it("a webhook without a secret gets one with no overlap; 0 seconds replaces at once; PATCH {secret} has no overlap", async () => {
    const none = await fresh();
    const rot = await hl.api("POST", `${none.base}/secret/rotate`, { previous_valid_seconds: 3600 });
    expect(rot.status).toBe(200);
    expect(rot.body.previous_secret_expires_at).toBeNull();
    expect((await hl.api("GET", none.base)).body).toMatchObject({ has_secret: true, previous_secret_expires_at: null });
    const sent = await deliverOne(none.p);
    expect(String(sent.headers["webhook-signature"]).split(" ")).toHaveLength(1);
    expect(verifiesWith(rot.body.secret, sent)).toBe(true);

    const zero = await fresh({ secret: OLD });
    expect((await hl.api("POST", `${zero.base}/secret/rotate`, { secret: NEW, previous_valid_seconds: 0 })).body.previous_secret_expires_at).toBeNull();
    expect(verifiesWith(OLD, await deliverOne(zero.p))).toBe(false);

    const patched = await fresh({ secret: OLD });
    await hl.api("POST", `${patched.base}/secret/rotate`, { secret: NEW });
    const res = await hl.api("PATCH", patched.base, { secret: "whsec_patched-0000" });
    expect(res.body.previous_secret_expires_at).toBeNull();
    const after = await deliverOne(patched.p);
    expect(verifiesWith("whsec_patched-0000", after)).toBe(true);
    expect(verifiesWith(NEW, after)).toBe(false);
  });

  it("refuses bad rotation input with 422 naming the field, and checks auth and existence", async () => {
    const { p, base } = await fresh({ secret: OLD });
    for (const bad of [-1, 604_801, 1.5, "60", null, true]) {
      expectValidation(await hl.api("POST", `${base}/secret/rotate`, { previous_valid_seconds: bad }), "previous_valid_seconds");
    }
    expect((await hl.api("POST", `${base}/secret/rotate`, { previous_valid_seconds: 604_800 })).status).toBe(200);
    expectValidation(await hl.api("POST", `${base}/secret/rotate`, { secret: "" }), "secret");
    expectValidation(await hl.api("POST", `${base}/secret/rotate`, { secret: "x".repeat(257) }), "secret");
    expectValidation(await hl.api("POST", `${base}/secret/rotate`, { secret: 42 }), "secret");
    expectError(await hl.api("POST", `${base}/secret/rotate`, [1]), 422, "validation_failed");
    expectError(await hl.api("POST", `${base}/secret/rotate`, undefined, { raw: "{nope" }), 400, "invalid_json");
    expectError(await hl.api("POST", `/api/v1/projects/${p}/webhooks/wh_01jdq3v1m8x4d2k7w9c5f6g7h8/secret/rotate`, {}), 404, "not_found");
    expectError(await hl.api("POST", `${base}/secret/rotate`, {}, { token: null }), 401, "unauthorized");
    const viewer = await hl.api("POST", `/api/v1/projects/${p}/portal-sessions`, { role: "viewer" });
    expectError(await hl.api("POST", `${base}/secret/rotate`, {}, { token: viewer.body.token }), 403, "forbidden");
    expectError(await hl.api("POST", `${base}/signing-key`, undefined, { token: viewer.body.token }), 403, "forbidden");
    expectError(await hl.api("DELETE", `${base}/signing-key`, undefined, { token: viewer.body.token }), 403, "forbidden");
  });

  it("signing key: v1a verifies with crypto.verify (and Python's cryptography), replaces, and goes away", async () => {
    const { p, base } = await fresh({ secret: OLD });
    const created = await hl.api("POST", `${base}/signing-key`);
    expect(created.status).toBe(200);
    expect(Object.keys(created.body)).toEqual(["public_key"]);
    expect(created.body.public_key).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(created.body.public_key.slice(5), "base64")).toHaveLength(32);
    const hook = await hl.api("GET", base);
    expect(hook.body.public_key).toBe(created.body.public_key);
    expect(hasKeyDeep(hook.body, "signing_key")).toBe(false);

    const sent = await deliverOne(p);
    const [v1a] = v1aOf(sent);
    expect(v1a).toBeDefined();
    expect(String(sent.headers["webhook-signature"]).split(" ")[0]).toMatch(/^v1,/);
    expect(verify(null, signedContent(sent), nodePublicKey(created.body.public_key), Buffer.from(v1a, "base64"))).toBe(true);
    expect(verify(null, Buffer.concat([signedContent(sent), Buffer.from(" ")]), nodePublicKey(created.body.public_key), Buffer.from(v1a, "base64"))).toBe(
      false,
    );
    expect(verifiesWith(OLD, sent)).toBe(true); // the v1a value does not disturb HMAC verifiers

    if (hasPythonCryptography) {
      const script = `
import base64, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.exceptions import InvalidSignature
case = json.loads(sys.stdin.read())
key = Ed25519PublicKey.from_public_bytes(base64.b64decode(case["public_key"][len("whpk_"):]))
try:
    key.verify(base64.b64decode(case["sig"]), case["content"].encode("utf-8"))
    print("valid")
except InvalidSignature:
    print("invalid")
`;
      const run = (content: string) =>
        spawnSync("python3", ["-c", script], {
          input: JSON.stringify({ public_key: created.body.public_key, sig: v1a, content }),
          encoding: "utf8",
        }).stdout.trim();
      expect(run(signedContent(sent).toString("utf8"))).toBe("valid");
      expect(run(signedContent(sent).toString("utf8") + "x")).toBe("invalid");
    }

    const replaced = await hl.api("POST", `${base}/signing-key`);
    expect(replaced.body.public_key).not.toBe(created.body.public_key);
    const next = await deliverOne(p);
    expect(verify(null, signedContent(next), nodePublicKey(replaced.body.public_key), Buffer.from(v1aOf(next)[0], "base64"))).toBe(true);
    expect(verify(null, signedContent(next), nodePublicKey(created.body.public_key), Buffer.from(v1aOf(next)[0], "base64"))).toBe(false);

    const removed = await hl.api("DELETE", `${base}/signing-key`);
    expect(removed.status).toBe(204);
    expect((await hl.api("GET", base)).body.public_key).toBeNull();
    const last = await deliverOne(p);
    expect(v1aOf(last)).toEqual([]);
  });

  it("a webhook with only a signing key gets webhook-id, webhook-timestamp and a v1a value, no Signature", async () => {
    const { p, base } = await fresh();
    const key = (await hl.api("POST", `${base}/signing-key`)).body.public_key as string;
    const sent = await deliverOne(p);
    expect(sent.headers["signature"]).toBeUndefined();
    expect(sent.headers["webhook-id"]).toBe(sent.headers["hookline-delivery"]);
    expect(Math.abs(Number(sent.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
    expect(String(sent.headers["webhook-signature"])).toMatch(/^v1a,[A-Za-z0-9+/]+=*$/);
    expect(verify(null, signedContent(sent), nodePublicKey(key), Buffer.from(v1aOf(sent)[0], "base64"))).toBe(true);
  });
});
