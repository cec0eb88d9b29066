import { spawnSync } from "node:child_process";
import fc from "fast-check";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { buildAttemptHeaders } from "../../src/domain/payload.js";
import { newSigningKey } from "../../src/domain/signing.js";
import { verifySignature, verifyWebhook, WebhookVerificationError } from "../../src/verify.js";

const SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BODY = '{"id":"evt_1","event":"issue.created","subject":{"title":"Crash ✓"}}';
const NOW = new Date("2026-11-28T15:04:05.000Z");
const NOW_S = NOW.getTime() / 1000;

const opensslHex = (key: string, data: string | Buffer) =>
  /([0-9a-f]{64})\s*$/.exec(spawnSync("openssl", ["dgst", "-sha256", "-hmac", key], { input: data }).stdout.toString())![1];

/** The headers Hookline would send at `now`, lower-cased the way Node's http module presents them. */
function delivered(opts: { secret?: string; body?: string; now?: Date } = {}): Record<string, string> {
  const headers = buildAttemptHeaders({
    event: "issue.created",
    deliveryId: "dlv_1",
    attempt: 1,
    secret: opts.secret ?? SECRET,
    body: opts.body ?? BODY,
    userAgent: "Hookline/test",
    now: opts.now ?? NOW,
  });
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function failure(fn: () => unknown): WebhookVerificationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError);
    return error as WebhookVerificationError;
  }
  throw new Error("expected a WebhookVerificationError");
}

describe("verifySignature", () => {
  const signature = delivered().signature;

  it("accepts Hookline's Signature header for string, Buffer and Uint8Array bodies", () => {
    expect(verifySignature(SECRET, BODY, signature)).toBe(true);
    expect(verifySignature(SECRET, Buffer.from(BODY), signature)).toBe(true);
    expect(verifySignature(SECRET, new Uint8Array(Buffer.from(BODY)), signature)).toBe(true);
  });

  it("accepts a signature computed by openssl, over raw non-UTF-8 bytes too", () => {
    const raw = Buffer.from([0x7b, 0xff, 0x00, 0xfe, 0x7d]);
    expect(verifySignature("clé 🔑", raw, opensslHex("clé 🔑", raw))).toBe(true);
    expect(verifySignature(SECRET, BODY, opensslHex(SECRET, BODY))).toBe(true);
  });

  it("tolerates upper-case hex, surrounding spaces and a repeated header", () => {
    expect(verifySignature(SECRET, BODY, ` ${signature.toUpperCase()} `)).toBe(true);
    expect(verifySignature(SECRET, BODY, ["0".repeat(64), signature])).toBe(true);
  });

  it.each([
    ["missing", undefined],
    ["null", null],
    ["empty", ""],
    ["garbage", "not-a-signature"],
    ["truncated", "abc123"],
    ["GitHub-style prefix", `sha256=${"a".repeat(64)}`],
    ["64 non-hex characters", "z".repeat(64)],
    ["an empty list", []],
  ])("returns false, never throws, for a %s header", (_label, header) => {
    expect(verifySignature(SECRET, BODY, header as string | string[] | undefined | null)).toBe(false);
  });

  it("returns false for the wrong secret or a changed body", () => {
    expect(verifySignature("whsec_other", BODY, signature)).toBe(false);
    expect(verifySignature(SECRET, BODY.replace("✓", "✗"), signature)).toBe(false);
    expect(verifySignature(SECRET, `${BODY} `, signature)).toBe(false);
  });

  it("never throws on any header value at all", () => {
    fc.assert(
      fc.property(fc.anything(), (header) => {
        expect(typeof verifySignature(SECRET, BODY, header as string)).toBe("boolean");
      }),
    );
  });

  it("throws on programming errors: parsed JSON instead of the raw body, or no secret", () => {
    expect(() => verifySignature(SECRET, JSON.parse(BODY), signature)).toThrow(/raw request body/);
    expect(() => verifySignature("", BODY, signature)).toThrow(TypeError);
    expect(() => verifySignature(undefined as unknown as string, BODY, signature)).toThrow(/secret/);
  });
});

describe("verifyWebhook", () => {
  const check = (headers: Parameters<typeof verifyWebhook>[2], body: string | Buffer | Uint8Array = BODY, now = NOW) =>
    verifyWebhook(SECRET, body, headers, { now });

  it("returns the parsed body of a genuine delivery, whatever the body type", () => {
    const parsed = JSON.parse(BODY);
    expect(check(delivered())).toEqual(parsed);
    expect(check(delivered(), Buffer.from(BODY))).toEqual(parsed);
    expect(check(delivered(), new Uint8Array(Buffer.from(BODY)))).toEqual(parsed);
  });

  it("reads header names case-insensitively, from a plain object or a Fetch Headers", () => {
    const h = delivered();
    const shouting = { "Webhook-Id": h["webhook-id"], "WEBHOOK-TIMESTAMP": h["webhook-timestamp"], "Webhook-Signature": h["webhook-signature"] };
    expect(check(shouting)).toEqual(JSON.parse(BODY));
    expect(check(new Headers(shouting))).toEqual(JSON.parse(BODY));
  });

  it("accepts what the standardwebhooks library signs", () => {
    const ts = Math.floor(NOW_S);
    const signature = new Webhook(SECRET, { format: "raw" }).sign("msg_1", NOW, BODY);
    expect(check({ "webhook-id": "msg_1", "webhook-timestamp": String(ts), "webhook-signature": signature })).toEqual(JSON.parse(BODY));
  });

  it("agrees with the standardwebhooks library on random secrets and bodies", () => {
    const secret = fc.string({ minLength: 1, maxLength: 60, unit: fc.constantFrom(..."abcXYZ019_+/=-") });
    const json = fc.jsonValue().map((v) => JSON.stringify(v));
    fc.assert(
      fc.property(secret, json, (s, body) => {
        const headers = delivered({ secret: s, body, now: new Date() });
        expect(verifyWebhook(s, body, headers)).toEqual(new Webhook(s, { format: "raw" }).verify(body, headers));
      }),
      { numRuns: 200 },
    );
  });

  describe("multiple signatures", () => {
    const h = delivered();
    const good = h["webhook-signature"];
    const bad = `v1,${Buffer.alloc(32, 7).toString("base64")}`;
    const withSignature = (sig: string | string[]) => ({ ...h, "webhook-signature": sig });

    it("passes when any v1 entry matches", () => {
      expect(check(withSignature(`${bad} ${good}`))).toBeTruthy();
      expect(check(withSignature(`v2,${good.slice(3)} ${good}`))).toBeTruthy();
      expect(check(withSignature(`${good}, ${bad}`))).toBeTruthy(); // duplicate headers, as Node joins them
      expect(check(withSignature([bad, good]))).toBeTruthy();
    });

    it("fails when none matches", () => {
      for (const sig of [
        bad,
        `${bad} ${bad}`,
        `v2,${good.slice(3)}`,
        `v1;${good.slice(3)}`,
        good.slice(3),
        `v1 ,${good.slice(3)}`,
        `v1,${good.slice(3, -2)}`,
      ]) {
        expect(failure(() => check(withSignature(sig))).code, sig).toBe("invalid_signature");
      }
    });
  });

  it("names every missing header", () => {
    const h = delivered();
    const without = (name: string) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== name));
    for (const name of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const error = failure(() => check(without(name)));
      expect(error.code).toBe("missing_header");
      expect(error.message).toBe(`Missing header ${name}.`);
    }
    expect(failure(() => check({ ...h, "webhook-id": "" })).code).toBe("missing_header");
    expect(failure(() => check({})).message).toBe("Missing header webhook-id, webhook-timestamp, webhook-signature.");
  });

  it.each(["abc", "-5", "1.5", "1e9", "0x10", "99999999999999999999"])("refuses the timestamp %j", (timestamp) => {
    const error = failure(() => check({ ...delivered(), "webhook-timestamp": timestamp }));
    expect(error.code).toBe("invalid_timestamp");
    expect(error.message).toMatch(/webhook-timestamp/);
  });

  describe("tolerance", () => {
    const at = (offsetSeconds: number, tolerance?: number) => () =>
      verifyWebhook(SECRET, BODY, delivered({ now: new Date((NOW_S + offsetSeconds) * 1000) }), { now: NOW, toleranceSeconds: tolerance });

    it("accepts timestamps up to 5 minutes away, either way", () => {
      expect(at(-300)()).toBeTruthy();
      expect(at(300)()).toBeTruthy();
    });

    it("refuses older ones and ones from the future", () => {
      const old = failure(at(-301));
      expect(old.code).toBe("timestamp_out_of_tolerance");
      expect(old.message).toMatch(/301 s old, more than the 300 s allowed/);
      const future = failure(at(301));
      expect(future.code).toBe("timestamp_out_of_tolerance");
      expect(future.message).toMatch(/301 s in the future/);
    });

    it("takes a custom tolerance, including zero", () => {
      expect(at(-10, 10)()).toBeTruthy();
      expect(failure(at(-11, 10)).code).toBe("timestamp_out_of_tolerance");
      expect(at(0, 0)()).toBeTruthy();
      expect(failure(at(1, 0)).code).toBe("timestamp_out_of_tolerance");
      expect(() => at(0, -1)()).toThrow(TypeError);
    });

    it("defaults to the real clock", () => {
      expect(verifyWebhook(SECRET, BODY, delivered({ now: new Date() }))).toBeTruthy();
      expect(failure(() => verifyWebhook(SECRET, BODY, delivered({ now: new Date(Date.now() - 3_600_000) }))).code).toBe("timestamp_out_of_tolerance");
    });
  });

  describe("replay", () => {
    const captured = delivered();

    it("refuses a captured delivery replayed later", () => {
      expect(check(captured)).toBeTruthy();
      expect(failure(() => check(captured, BODY, new Date(NOW.getTime() + 600_000))).code).toBe("timestamp_out_of_tolerance");
    });

    it("refuses it with a refreshed timestamp, a new id or another body", () => {
      const later = new Date(NOW.getTime() + 600_000);
      const refreshed = { ...captured, "webhook-timestamp": String(later.getTime() / 1000) };
      expect(failure(() => check(refreshed, BODY, later)).code).toBe("invalid_signature");
      expect(failure(() => check({ ...captured, "webhook-id": "dlv_2" })).code).toBe("invalid_signature");
      expect(failure(() => check(captured, BODY.replace("Crash", "Fixed"))).code).toBe("invalid_signature");
      expect(failure(() => verifyWebhook("whsec_other", BODY, captured, { now: NOW })).message).toMatch(/wrong secret/);
    });
  });

  it("reports a validly signed body that is not UTF-8 JSON", () => {
    for (const body of ["not json", Buffer.from([0x22, 0xff, 0x22])]) {
      const raw = typeof body === "string" ? body : body.toString("latin1");
      const headers = typeof body === "string" ? delivered({ body }) : signedBytes(body);
      const error = failure(() => check(headers, body));
      expect(error.code, raw).toBe("invalid_body");
      expect(error.message).toMatch(/signature is valid but the body is not UTF-8 JSON/);
    }
  });

  it("is an Error with a name and a code", () => {
    const error = failure(() => check({}));
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("WebhookVerificationError");
    expect(error.code).toBe("missing_header");
  });

  it("throws TypeError for parsed JSON instead of the raw body", () => {
    expect(() => check(delivered(), JSON.parse(BODY))).toThrow(/raw request body/);
  });
});

/** Standard Webhooks headers over arbitrary bytes, signed by openssl. */
function signedBytes(body: Buffer): Record<string, string> {
  const ts = String(NOW_S);
  const data = Buffer.concat([Buffer.from(`dlv_1.${ts}.`), body]);
  const mac = spawnSync("openssl", ["dgst", "-sha256", "-hmac", SECRET, "-binary"], { input: data }).stdout.toString("base64");
  return { "webhook-id": "dlv_1", "webhook-timestamp": ts, "webhook-signature": `v1,${mac}` };
}

describe("verifyWebhook with a public key, and several secrets", () => {
  const { privateKey, publicKey } = newSigningKey();
  const other = newSigningKey();
  const opts = { now: NOW };
  const signedBoth = (): Record<string, string> => {
    const h = buildAttemptHeaders({
      event: "issue.created",
      deliveryId: "dlv_1",
      attempt: 1,
      secret: SECRET,
      previousSecret: "whsec_previous",
      signingKey: privateKey,
      body: BODY,
      userAgent: "Hookline/test",
      now: NOW,
    });
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
  };

  it("sends v1 (new), v1 (previous) and v1a, in that order", () => {
    const values = signedBoth()["webhook-signature"].split(" ");
    expect(values.map((v) => v.split(",")[0])).toEqual(["v1", "v1", "v1a"]);
  });

  it("accepts { publicKey } on the v1a value and refuses another key or a changed body", () => {
    expect(verifyWebhook({ publicKey }, BODY, signedBoth(), opts)).toEqual(JSON.parse(BODY));
    expect(failure(() => verifyWebhook({ publicKey: other.publicKey }, BODY, signedBoth(), opts)).code).toBe("invalid_signature");
    expect(failure(() => verifyWebhook({ publicKey }, BODY + " ", signedBoth(), opts)).code).toBe("invalid_signature");
    // A delivery without a v1a value (no signing key) does not verify with a public key.
    expect(failure(() => verifyWebhook({ publicKey }, BODY, delivered(), opts)).message).toMatch(/no v1a value/);
  });

  it("accepts either secret during a rotation, as a string, { secret } or a list", () => {
    expect(verifyWebhook(SECRET, BODY, signedBoth(), opts)).toEqual(JSON.parse(BODY));
    expect(verifyWebhook({ secret: "whsec_previous" }, BODY, signedBoth(), opts)).toEqual(JSON.parse(BODY));
    expect(verifyWebhook({ secret: ["whsec_unrelated", "whsec_previous"] }, BODY, signedBoth(), opts)).toEqual(JSON.parse(BODY));
    expect(failure(() => verifyWebhook({ secret: ["whsec_a", "whsec_b"] }, BODY, signedBoth(), opts)).code).toBe("invalid_signature");
  });

  it("accepts when either of { secret, publicKey } matches", () => {
    expect(verifyWebhook({ secret: "whsec_wrong", publicKey }, BODY, signedBoth(), opts)).toEqual(JSON.parse(BODY));
    expect(verifyWebhook({ secret: SECRET, publicKey: other.publicKey }, BODY, signedBoth(), opts)).toEqual(JSON.parse(BODY));
  });

  it("does not let a v1a value pass as v1 or the other way round, and ignores malformed v1a values", () => {
    const h = signedBoth();
    const v1a = h["webhook-signature"].split(" ")[2].slice(4);
    expect(failure(() => verifyWebhook({ publicKey }, BODY, { ...h, "webhook-signature": `v1,${v1a}` }, opts)).code).toBe("invalid_signature");
    expect(failure(() => verifyWebhook({ publicKey }, BODY, { ...h, "webhook-signature": "v1a,!!! v1a, v1a,AAAA" }, opts)).code).toBe("invalid_signature");
  });

  it("throws TypeError for a malformed public key or no key at all", () => {
    for (const bad of ["", "whpk_", "whpk_AAAA", publicKey.slice(5), `whsk_${publicKey.slice(5)}`]) {
      expect(() => verifyWebhook({ publicKey: bad }, BODY, signedBoth(), opts)).toThrow(TypeError);
    }
    expect(() => verifyWebhook({}, BODY, signedBoth(), opts)).toThrow(TypeError);
    expect(() => verifyWebhook({ secret: [] }, BODY, signedBoth(), opts)).toThrow(TypeError);
  });

  it("agrees with the standardwebhooks library on the v1 values when a v1a value is present", () => {
    // The library checks the timestamp against the real clock: sign now.
    const now = new Date();
    const fresh = buildAttemptHeaders({
      event: "e",
      deliveryId: "dlv_1",
      attempt: 1,
      secret: SECRET,
      previousSecret: "whsec_previous",
      signingKey: privateKey,
      body: BODY,
      userAgent: "t",
      now,
    });
    const lower = Object.fromEntries(Object.entries(fresh).map(([k, v]) => [k.toLowerCase(), v]));
    expect(new Webhook(SECRET, { format: "raw" }).verify(BODY, lower)).toEqual(JSON.parse(BODY));
    expect(new Webhook("whsec_previous", { format: "raw" }).verify(BODY, lower)).toEqual(JSON.parse(BODY));
  });
});
