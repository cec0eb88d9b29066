/**
 * The UI and the API answer with security headers: a CSP without inline scripts that forbids framing
 * on the UI page, `nosniff`, no referrer, and `no-store` on API answers (they carry secrets and
 * tokens) — on successes, errors and static assets alike. The built page itself has no inline script.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uiRoot } from "../../src/api/ui.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

const INDEX = path.join(uiRoot(), "index.html");
const built = fs.existsSync(INDEX);
if (!built) console.warn("\n*** web/dist is not built (npm run build): SKIPPING the UI page checks ***\n");

/** The CSP as a map of directive → sources. */
function csp(header: string | null): Map<string, string[]> {
  expect(header, "content-security-policy header").toBeTruthy();
  return new Map(
    header!
      .split(";")
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...sources]) => [name, sources]),
  );
}

function expectCommonHeaders(res: Response, what: string): void {
  expect(res.headers.get("x-content-type-options"), what).toBe("nosniff");
  expect(res.headers.get("referrer-policy"), what).toBe("no-referrer");
  expect(res.headers.get("x-frame-options"), what).toBe("DENY");
  expect(csp(res.headers.get("content-security-policy")).get("frame-ancestors"), what).toEqual(["'none'"]);
}

describe("the built UI page", () => {
  it.skipIf(!built)("has no inline script, event handler attribute or javascript: URL", () => {
    const html = fs.readFileSync(INDEX, "utf8");
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs, "every script is loaded from a file").toMatch(/\bsrc="\/assets\/[^"]+\.js"/);
      expect(body.trim(), "no inline script body").toBe("");
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    expect(html).not.toMatch(/javascript:/i);
  });
});

describe.each(DIALECTS)("security headers (%s)", (dialect) => {
  let hl: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
  });

  it.skipIf(!built)("the UI page (/, /portal and client routes) allows scripts from its own origin only and is never framed", async () => {
    for (const p of ["/", "/portal", "/projects/acme/webhooks"]) {
      const res = await fetch(hl.baseUrl + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get("content-type"), p).toMatch(/^text\/html/);
      expectCommonHeaders(res, p);
      const policy = csp(res.headers.get("content-security-policy"));
      for (const directive of ["script-src", "default-src"]) {
        expect(policy.get(directive), `${p} ${directive}`).toEqual(["'self'"]);
      }
      expect(policy.get("object-src")).toEqual(["'none'"]);
      expect(policy.get("base-uri")).toEqual(["'none'"]);
      expect([...policy.values()].flat().filter((s) => /unsafe-eval|\*|http:|https:/.test(s))).toEqual([]);
      await res.text();
    }
  });

  it.skipIf(!built)("static assets carry the headers too, with a policy that loads nothing", async () => {
    const html = await (await fetch(hl.baseUrl + "/")).text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const res = await fetch(hl.baseUrl + asset);
      expect(res.status, asset).toBe(200);
      expectCommonHeaders(res, asset);
      expect(csp(res.headers.get("content-security-policy")).get("default-src"), asset).toEqual(["'none'"]);
      expect(res.headers.get("content-type"), asset).toMatch(asset.endsWith(".js") ? /javascript/ : /text\/css/);
      await res.arrayBuffer();
    }
  });

  it("API answers, errors included, are not cacheable, not sniffable, not frameable", async () => {
    const auth = { authorization: "Bearer test-admin-token-0123456789abcdef" };
    const token = (await hl.api("POST", "/api/v1/projects/acme/portal-sessions", {})).body.token;
    const calls: Array<[string, RequestInit]> = [
      ["/api/v1/projects", { headers: auth }],
      ["/api/v1/projects/acme/portal-sessions", { method: "POST", headers: auth }],
      ["/api/v1/projects/acme/webhooks", { headers: { authorization: `Bearer ${token}` } }],
      ["/api/v1/projects", {}], // 401
      ["/api/v1/projects/nope", { headers: auth }], // 404
      ["/api/v1/projects/acme", { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: "{" }], // 400
      ["/api/v1/nothing-here", { headers: auth }], // 404 from the router
    ];
    for (const [p, init] of calls) {
      const res = await fetch(hl.baseUrl + p, init);
      const what = `${init.method ?? "GET"} ${p} → ${res.status}`;
      expectCommonHeaders(res, what);
      expect(csp(res.headers.get("content-security-policy")).get("default-src"), what).toEqual(["'none'"]);
      expect(res.headers.get("cache-control"), what).toBe("no-store");
      await res.text();
    }
    for (const p of ["/healthz", "/metrics", "/api/openapi.json"]) {
      const res = await fetch(hl.baseUrl + p);
      expectCommonHeaders(res, p);
      await res.text();
    }
  });
});
