/**
 * Every verification sample in docs/receivers.md, run as written against the headers Hookline sends
 * (buildAttemptHeaders, the worker's own code): the Node ones in this process (their imports bound
 * to the real modules), the Python and PHP ones in python3 / php. Those are skipped when python3 / php is absent, except
 * in CI, where a skipped sample would be an untested promise.
 */
import { spawnSync } from "node:child_process";
import * as nodeCrypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildAttemptHeaders } from "../../src/domain/payload.js";
import { newSigningKey } from "../../src/domain/signing.js";
import * as hooklineVerify from "../../src/verify.js";

const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../docs/receivers.md"), "utf8");
const block = (lang: string, marker: string) => {
  const found = [...doc.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]).find((b) => b.includes(marker));
  if (!found) throw new Error(`no ${lang} block with ${marker} in docs/receivers.md`);
  return found;
};
const has = (cmd: string) => spawnSync(cmd, ["--version"]).status === 0;

const SECRET = "whsec_docs-sample-secret ✓";
const PREVIOUS = "whsec_docs-sample-previous";
const KEY = newSigningKey();
const OTHER_KEY = newSigningKey();
const BODY = JSON.stringify({ id: "evt_1", event: "issue.created", created_at: "2026-11-28T15:04:05.123Z", project_id: "acme", subject: { title: "Ünïcode" } });

function sentHeaders(now = new Date(), extra: { secret?: string | null; previousSecret?: string; signingKey?: string } = {}): Record<string, string> {
  const h = buildAttemptHeaders({
    event: "issue.created",
    deliveryId: "dlv_1",
    attempt: 1,
    secret: extra.secret === undefined ? SECRET : extra.secret,
    previousSecret: extra.previousSecret,
    signingKey: extra.signingKey,
    body: BODY,
    userAgent: "Hookline/test",
    now,
  });
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}
/** A delivery signed by the current secret, the previous one and the signing key, as during a rotation. */
const fullySigned = (now = new Date()) => sentHeaders(now, { previousSecret: PREVIOUS, signingKey: KEY.privateKey });
const keyOnly = (now = new Date()) => sentHeaders(now, { secret: null, signingKey: KEY.privateKey });

function run(cmd: string, args: string[], input: unknown) {
  const r = spawnSync(cmd, args, { input: JSON.stringify(input), encoding: "utf8" });
  return { out: r.stdout.trim(), err: r.stderr.trim() };
}

/**
 * Runs a Node sample as a function body: its `import { … } from "…"` lines become parameters bound
 * to the real modules, `scope` supplies the names the sample leaves to the reader, and `tail` is
 * appended (e.g. a call of the function the sample defines).
 */
function runNodeSample(code: string, scope: Record<string, unknown>, tail = ""): unknown {
  const modules: Record<string, Record<string, unknown>> = { "hookline/verify": hooklineVerify, "node:crypto": nodeCrypto };
  const names: string[] = [];
  const values: unknown[] = [];
  const body = code.replace(/^import \{([^}]+)\} from "([^"]+)";\n/gm, (_, list: string, from: string) => {
    for (const name of list
      .split(",")
      .map((n) => n.trim())
      .filter(Boolean)) {
      if (!(from in modules) || !(name in modules[from])) throw new Error(`sample imports ${name} from ${from}, which does not have it`);
      names.push(name);
      values.push(modules[from][name]);
    }
    return "";
  });
  for (const [k, v] of Object.entries(scope)) {
    names.push(k);
    values.push(v);
  }
  return new Function(...names, `${body}\n${tail}`)(...values);
}

describe("Node samples", () => {
  it("hookline/verify: verifyWebhook accepts a genuine delivery and the error branch answers 400 for a wrong secret", () => {
    const code = block("ts", "verifySignature(secret, rawBody");
    const responses: unknown[] = [];
    const respond = (status: number, message: string) => responses.push({ status, message });
    const request = { headers: sentHeaders() };
    expect(runNodeSample(code, { secret: SECRET, rawBody: Buffer.from(BODY), request, respond })).toBeUndefined();
    expect(responses).toEqual([]);
    runNodeSample(code, { secret: "whsec_other", rawBody: Buffer.from(BODY), request, respond });
    expect(responses).toEqual([{ status: 400, message: expect.stringMatching(/does not match/) }]);
  });

  it("rotation: either secret verifies", () => {
    const code = block("ts", "secret: [newSecret, oldSecret]");
    const scope = (newSecret: string, oldSecret: string) => ({ newSecret, oldSecret, rawBody: Buffer.from(BODY), request: { headers: fullySigned() } });
    expect(runNodeSample(code, scope(SECRET, PREVIOUS), "return event;")).toEqual(JSON.parse(BODY));
    expect(runNodeSample(code, scope("whsec_unrelated", PREVIOUS), "return event;")).toEqual(JSON.parse(BODY));
    expect(() => runNodeSample(code, scope("whsec_a", "whsec_b"), "return event;")).toThrow(/does not match/);
  });

  it("hookline/verify with { publicKey } accepts the v1a value and refuses another key", () => {
    const code = block("ts", "verifyWebhook({ publicKey }");
    const scope = (publicKey: string) => ({ publicKey, rawBody: Buffer.from(BODY), request: { headers: keyOnly() } });
    expect(runNodeSample(code, scope(KEY.publicKey), "return verified;")).toEqual(JSON.parse(BODY));
    expect(() => runNodeSample(code, scope(OTHER_KEY.publicKey), "return verified;")).toThrow(/v1a/);
  });

  it("node:crypto Ed25519: accepts a genuine delivery (secret and key, or key only), refuses another key, a changed body, a stale time", () => {
    const code = block("js", "function verifyHooklineEd25519");
    const call = (publicKey: string, body: string, headers: Record<string, string>) =>
      runNodeSample(code, { publicKey, body: Buffer.from(body), headers }, "return verifyHooklineEd25519(publicKey, body, headers);");
    expect(call(KEY.publicKey, BODY, fullySigned())).toEqual(JSON.parse(BODY));
    expect(call(KEY.publicKey, BODY, keyOnly())).toEqual(JSON.parse(BODY));
    expect(() => call(OTHER_KEY.publicKey, BODY, fullySigned())).toThrow("no signature matches");
    expect(() => call(KEY.publicKey, BODY + " ", fullySigned())).toThrow("no signature matches");
    expect(() => call(KEY.publicKey, BODY, sentHeaders())).toThrow("no signature matches");
    expect(() => call(KEY.publicKey, BODY, keyOnly(new Date(Date.now() - 10 * 60_000)))).toThrow(/too far from now/);
  });
});

describe.skipIf(!has("python3") && !process.env.CI)("Python samples", () => {
  const harness = `${block("python", "def verify_webhook(")}
import sys
case = json.loads(sys.stdin.read())
body = case["body"].encode("utf-8")
try:
    print(json.dumps({"event": verify_webhook(case["secret"], body, case["headers"]), "plain": verify_signature(case["secret"], body, case["headers"].get("signature"))}))
except InvalidWebhook as err:
    print(json.dumps({"error": str(err), "plain": verify_signature(case["secret"], body, case["headers"].get("signature"))}))
`;
  const py = (input: unknown) => run("python3", ["-c", harness], input);

  it("accepts a genuine delivery and returns its body", () => {
    const r = py({ secret: SECRET, body: BODY, headers: sentHeaders() });
    expect(JSON.parse(r.out || r.err)).toEqual({ event: JSON.parse(BODY), plain: true });
  });
  it("refuses another secret, a changed body and a stale timestamp", () => {
    expect(JSON.parse(py({ secret: "whsec_other", body: BODY, headers: sentHeaders() }).out)).toEqual({ error: "no signature matches", plain: false });
    expect(JSON.parse(py({ secret: SECRET, body: BODY + " ", headers: sentHeaders() }).out)).toEqual({ error: "no signature matches", plain: false });
    const stale = sentHeaders(new Date(Date.now() - 10 * 60_000));
    expect(JSON.parse(py({ secret: SECRET, body: BODY, headers: stale }).out).error).toMatch(/too far from now/);
  });
  it("during a rotation accepts the previous secret too (its v1 value comes second, after a v1a one is skipped)", () => {
    const r = py({ secret: PREVIOUS, body: BODY, headers: fullySigned() });
    expect(JSON.parse(r.out || r.err)).toEqual({ event: JSON.parse(BODY), plain: false });
  });

  const edHarness = `${block("python", "def verify_webhook_ed25519")}
import sys
case = json.loads(sys.stdin.read())
try:
    print(json.dumps({"event": verify_webhook_ed25519(case["key"], case["body"].encode("utf-8"), case["headers"])}))
except InvalidWebhook as err:
    print(json.dumps({"error": str(err)}))
`;
  const pyEd = (input: unknown) => run("python3", ["-c", edHarness], input);
  it("Ed25519: accepts a genuine delivery, refuses another key, a changed body and a stale timestamp", () => {
    const ok = pyEd({ key: KEY.publicKey, body: BODY, headers: fullySigned() });
    expect(JSON.parse(ok.out || ok.err)).toEqual({ event: JSON.parse(BODY) });
    expect(JSON.parse(pyEd({ key: KEY.publicKey, body: BODY, headers: keyOnly() }).out)).toEqual({ event: JSON.parse(BODY) });
    expect(JSON.parse(pyEd({ key: OTHER_KEY.publicKey, body: BODY, headers: fullySigned() }).out)).toEqual({ error: "no signature matches" });
    expect(JSON.parse(pyEd({ key: KEY.publicKey, body: BODY + " ", headers: fullySigned() }).out)).toEqual({ error: "no signature matches" });
    expect(JSON.parse(pyEd({ key: KEY.publicKey, body: BODY, headers: keyOnly(new Date(Date.now() - 10 * 60_000)) }).out).error).toMatch(/too far from now/);
  });
});

describe.skipIf(!has("php") && !process.env.CI)("PHP samples", () => {
  const fns = block("php", "function verify_hookline_webhook").split("$body = file_get_contents")[0];
  const harness = `${fns}
$case = json_decode(stream_get_contents(STDIN), true);
$plain = verify_hookline_signature($case['secret'], $case['body'], $case['headers']['signature'] ?? '');
try {
    echo json_encode(['event' => verify_hookline_webhook($case['secret'], $case['body'], $case['headers']), 'plain' => $plain]);
} catch (RuntimeException $e) {
    echo json_encode(['error' => $e->getMessage(), 'plain' => $plain]);
}
`;
  const php = (input: unknown) => run("php", ["-r", harness.replace(/^<\?php\n/, "")], input);

  it("accepts a genuine delivery and refuses another secret", () => {
    expect(JSON.parse(php({ secret: SECRET, body: BODY, headers: sentHeaders() }).out)).toEqual({ event: JSON.parse(BODY), plain: true });
    expect(JSON.parse(php({ secret: "whsec_other", body: BODY, headers: sentHeaders() }).out)).toEqual({ error: "no signature matches", plain: false });
  });
  it("during a rotation accepts the previous secret too", () => {
    expect(JSON.parse(php({ secret: PREVIOUS, body: BODY, headers: fullySigned() }).out)).toEqual({ event: JSON.parse(BODY), plain: false });
  });

  const edHarness = `${block("php", "function verify_hookline_ed25519").replace(/^<\?php\n/, "")}
$case = json_decode(stream_get_contents(STDIN), true);
try {
    echo json_encode(['event' => verify_hookline_ed25519($case['key'], $case['body'], $case['headers'])]);
} catch (RuntimeException $e) {
    echo json_encode(['error' => $e->getMessage()]);
}
`;
  const phpEd = (input: unknown) => run("php", ["-r", edHarness], input);
  it("Ed25519 (sodium): accepts a genuine delivery, refuses another key, a changed body and a bad key", () => {
    const ok = phpEd({ key: KEY.publicKey, body: BODY, headers: fullySigned() });
    expect(JSON.parse(ok.out || ok.err)).toEqual({ event: JSON.parse(BODY) });
    expect(JSON.parse(phpEd({ key: KEY.publicKey, body: BODY, headers: keyOnly() }).out)).toEqual({ event: JSON.parse(BODY) });
    expect(JSON.parse(phpEd({ key: OTHER_KEY.publicKey, body: BODY, headers: fullySigned() }).out)).toEqual({ error: "no signature matches" });
    expect(JSON.parse(phpEd({ key: KEY.publicKey, body: BODY + " ", headers: fullySigned() }).out)).toEqual({ error: "no signature matches" });
    expect(JSON.parse(phpEd({ key: "whpk_AAAA", body: BODY, headers: fullySigned() }).out).error).toMatch(/32 bytes/);
  });
});

describe("docs/receivers.md: the receiver options sample", () => {
  it("is a webhook body the rules accept as written", async () => {
    const { validateWebhookInput } = await import("../../src/domain/webhook-rules.js");
    const sample = JSON.parse(block("json", '"auth"')) as Record<string, unknown>;
    const fields = validateWebhookInput(sample, {
      partial: false,
      catalog: new Set(["test-run.completed"]),
      urlPolicy: { allowHttp: false, allowPrivateNetworks: false, allowedCidrs: [] },
    });
    expect(Object.keys(fields).sort()).toEqual(["auth", "events", "headers", "name", "url"]);
  });
});
