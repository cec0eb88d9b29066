/**
 * The Python and PHP verification samples in docs/receivers.md, run as written against the headers
 * Hookline sends (buildAttemptHeaders, the worker's own code). Skipped when python3 / php is absent, except in CI, where a skipped sample would be an untested promise.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildAttemptHeaders } from "../../src/domain/payload.js";

const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../docs/receivers.md"), "utf8");
const block = (lang: string, marker: string) => {
  const found = [...doc.matchAll(new RegExp("```" + lang + "\\n([\\s\\S]*?)```", "g"))].map((m) => m[1]).find((b) => b.includes(marker));
  if (!found) throw new Error(`no ${lang} block with ${marker} in docs/receivers.md`);
  return found;
};
const has = (cmd: string) => spawnSync(cmd, ["--version"]).status === 0;

const SECRET = "whsec_docs-sample-secret ✓";
const BODY = JSON.stringify({ id: "evt_1", event: "issue.created", created_at: "2026-11-28T15:04:05.123Z", project_id: "acme", subject: { title: "Ünïcode" } });

function sentHeaders(now = new Date()): Record<string, string> {
  const h = buildAttemptHeaders({ event: "issue.created", deliveryId: "dlv_1", attempt: 1, secret: SECRET, body: BODY, userAgent: "Hookline/test", now });
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function run(cmd: string, args: string[], input: unknown) {
  const r = spawnSync(cmd, args, { input: JSON.stringify(input), encoding: "utf8" });
  return { out: r.stdout.trim(), err: r.stderr.trim() };
}

describe.skipIf(!has("python3") && !process.env.CI)("Python sample", () => {
  const harness = `${block("python", "def verify_webhook")}
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
});

describe.skipIf(!has("php") && !process.env.CI)("PHP sample", () => {
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
});
