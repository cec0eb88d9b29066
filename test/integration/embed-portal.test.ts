/**
 * Embedding the portal, server side: only the origins of HOOKLINE_FRAME_ANCESTORS may frame /portal
 * (CSP frame-ancestors, no contradicting X-Frame-Options), the admin UI and the API never; the portal
 * learns those origins from /portal/embed.json; portal sessions take `embed` and `theme` and say so in
 * the link's fragment. (The browser side, with a host page on another origin, is test/e2e/embed.test.ts.)
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uiRoot } from "../../src/api/ui.js";
import { DIALECTS } from "../helpers/databases.js";
import { startHookline, type TestHookline } from "../helpers/hookline.js";

const built = fs.existsSync(path.join(uiRoot(), "index.html"));
const ANCESTORS = "https://app.example.com  http://localhost:3000/";

function frameAncestors(res: Response): string[] | undefined {
  const directive = (res.headers.get("content-security-policy") ?? "")
    .split(";")
    .map((d) => d.trim().split(/\s+/))
    .find((d) => d[0] === "frame-ancestors");
  return directive?.slice(1);
}

describe.each(DIALECTS)("embedding the portal (%s)", (dialect) => {
  let hl: TestHookline;
  let closed: TestHookline;
  beforeAll(async () => {
    hl = await startHookline({ dialect, env: { HOOKLINE_FRAME_ANCESTORS: ANCESTORS } });
    closed = await startHookline({ dialect });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
    await closed?.close();
  });

  it.skipIf(!built)("the portal's pages may be framed by the listed origins only, with no X-Frame-Options saying otherwise", async () => {
    for (const p of ["/portal", "/portal/", "/portal/webhooks/wh_1", "/portal/events/evt_1?x=1"]) {
      const res = await fetch(hl.baseUrl + p);
      await res.text();
      expect(res.status, p).toBe(200);
      expect(frameAncestors(res), p).toEqual(["https://app.example.com", "http://localhost:3000"]);
      expect(res.headers.get("x-frame-options"), p).toBeNull();
      // The rest of the page's policy is the admin page's.
      expect(res.headers.get("content-security-policy"), p).toContain("script-src 'self'");
    }
  });

  it.skipIf(!built)("the admin UI, the API, assets and look-alike paths stay unframeable", async () => {
    const auth = { authorization: "Bearer test-admin-token-0123456789abcdef" };
    for (const [p, init] of [
      ["/", {}],
      ["/projects/acme/webhooks", {}],
      ["/portalx", {}],
      ["/api/v1/projects", { headers: auth }],
      ["/api/v1/projects/acme/webhooks", { headers: auth }],
      ["/portal/embed.json", {}],
      ["/healthz", {}],
    ] as Array<[string, RequestInit]>) {
      const res = await fetch(hl.baseUrl + p, init);
      await res.text();
      expect(frameAncestors(res), p).toEqual(["'none'"]);
      expect(res.headers.get("x-frame-options"), p).toBe("DENY");
    }
  });

  it.skipIf(!built)("without HOOKLINE_FRAME_ANCESTORS the portal is not framed either", async () => {
    const res = await fetch(closed.baseUrl + "/portal");
    await res.text();
    expect(frameAncestors(res)).toEqual(["'none'"]);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
  });

  it("/portal/embed.json lists the allowed origins, normalised, without a token", async () => {
    const res = await fetch(hl.baseUrl + "/portal/embed.json");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ frame_ancestors: ["https://app.example.com", "http://localhost:3000"] });
    expect(await (await fetch(closed.baseUrl + "/portal/embed.json")).json()).toEqual({ frame_ancestors: [] });
  });

  it("a portal session with embed and theme answers a link that carries them in its fragment", async () => {
    const res = await hl.api("POST", "/api/v1/projects/acme/portal-sessions", { embed: true, theme: { accent: "#0E7490", mode: "dark" }, ttl_seconds: 300 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const url = new URL(res.body.url);
    expect(url.pathname).toBe("/portal");
    expect(url.search).toBe("");
    const fragment = new URLSearchParams(url.hash.slice(1));
    expect(Object.fromEntries(fragment)).toEqual({ token: res.body.token, embed: "1", mode: "dark", accent: "#0e7490" });
    // The token works as any portal token does.
    expect((await hl.api("GET", "/api/v1/projects/acme/webhooks", undefined, { token: res.body.token })).status).toBe(200);

    const plain = await hl.api("POST", "/api/v1/projects/acme/portal-sessions", { embed: false });
    expect(new URL(plain.body.url).hash).toBe(`#token=${encodeURIComponent(plain.body.token)}`);
  });

  it("refuses bad embed and theme values, naming each field", async () => {
    const cases: Array<[unknown, string[]]> = [
      [{ embed: "yes" }, ["embed"]],
      [{ theme: { accent: "red" } }, ["theme.accent"]],
      [{ theme: { accent: "#12345" } }, ["theme.accent"]],
      [{ theme: { accent: "#1234567" } }, ["theme.accent"]],
      [{ theme: { accent: "#12345g" } }, ["theme.accent"]],
      [{ theme: { mode: "sepia" } }, ["theme"]],
      [{ theme: { font: "Comic Sans" } }, ["theme.font"]],
      [{ theme: "dark" }, ["theme"]],
    ];
    for (const [body, fields] of cases) {
      const res = await hl.api("POST", "/api/v1/projects/acme/portal-sessions", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(res.body.error.code).toBe("validation_failed");
      expect(
        res.body.error.details.map((d: { field: string }) => d.field),
        JSON.stringify(body),
      ).toEqual(fields);
      expect(res.body.error.details[0].message.length).toBeGreaterThan(5);
    }
  });
});
