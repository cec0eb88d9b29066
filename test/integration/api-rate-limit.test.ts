/**
 * Abuse limits on the API (HOOKLINE_RATE_LIMIT): portal tokens and token-less callers are throttled
 * with `429 rate_limited` + `Retry-After`, the admin token (the host app publishing) never is.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WITH_POOLER } from "../helpers/databases.js";
import { ADMIN_TOKEN, startHookline, type TestHookline } from "../helpers/hookline.js";
import { expectError } from "./support/api.js";

const LIMIT = 6; // per one-minute window

describe.each(WITH_POOLER)("API rate limits (%s)", (dialect) => {
  let hl: TestHookline;
  // The limiter's windows run on Date: only Date is faked, timers and I/O stay real.
  const tick = (ms: number) => vi.setSystemTime(Date.now() + ms);
  const portalToken = async (role: "admin" | "viewer" = "admin") =>
    (await hl.api("POST", "/api/v1/projects/acme/portal-sessions", { role, ttl_seconds: 86_400 })).body.token as string;

  beforeAll(async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    hl = await startHookline({ dialect, env: { HOOKLINE_RATE_LIMIT: String(LIMIT) } });
    await hl.project("acme");
  });
  afterAll(async () => {
    await hl?.close();
    vi.useRealTimers();
  });

  it("a portal token gets its budget per minute, then 429 rate_limited with Retry-After until the minute is over", async () => {
    const token = await portalToken();
    for (let i = 0; i < LIMIT; i++) expect((await hl.api("GET", "/api/v1/projects/acme/webhooks", undefined, { token })).status, `request ${i + 1}`).toBe(200);
    const refused = await hl.api("GET", "/api/v1/projects/acme/webhooks", undefined, { token });
    expectError(refused, 429, "rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(59);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    expect(refused.body.error.message).toMatch(/try again in (59|60) s/);

    tick(40_000);
    const later = await hl.api("GET", "/api/v1/projects/acme", undefined, { token });
    expect(later.status).toBe(429);
    expect(Number(later.headers.get("retry-after"))).toBeGreaterThanOrEqual(19);
    expect(Number(later.headers.get("retry-after"))).toBeLessThanOrEqual(20);
    tick(20_000);
    for (let i = 0; i < LIMIT; i++)
      expect((await hl.api("GET", "/api/v1/projects/acme", undefined, { token })).status, `new minute, request ${i + 1}`).toBe(200);
    expect((await hl.api("GET", "/api/v1/projects/acme", undefined, { token })).status).toBe(429);
  });

  it("never refuses a client that keeps to the rate", async () => {
    const token = await portalToken();
    for (let i = 0; i < 3 * LIMIT; i++) {
      expect((await hl.api("GET", "/api/v1/projects/acme", undefined, { token })).status, `request ${i + 1}`).toBe(200);
      tick(60_000 / LIMIT);
    }
  });

  it("counts every answer, refusals and writes included, before the body is read", async () => {
    const viewer = await portalToken("viewer");
    for (let i = 0; i < LIMIT; i++) {
      const res = await hl.api(
        "POST",
        "/api/v1/projects/acme/webhooks",
        { name: "x", events: ["issue.created"], url: "https://example.com/" },
        { token: viewer },
      );
      expect(res.status).toBe(403);
    }
    // A 2 MiB body would be 413; the limit answers first, without reading it.
    const huge = await hl.api("POST", "/api/v1/projects/acme/webhooks", undefined, {
      token: viewer,
      raw: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }),
    });
    expectError(huge, 429, "rate_limited");
  });

  it("each portal token has its own budget", async () => {
    const [a, b] = [await portalToken(), await portalToken()];
    for (let i = 0; i < LIMIT; i++) await hl.api("GET", "/api/v1/projects/acme", undefined, { token: a });
    expect((await hl.api("GET", "/api/v1/projects/acme", undefined, { token: a })).status).toBe(429);
    expect((await hl.api("GET", "/api/v1/projects/acme", undefined, { token: b })).status).toBe(200);
  });

  it("never limits the admin token: a host app publishing hundreds of events at once is not throttled", async () => {
    const statuses = new Map<number, number>();
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(
        Array.from({ length: 30 }, (_, i) => hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { round, i } })),
      );
      for (const res of batch) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
    expect(Object.fromEntries(statuses)).toEqual({ 202: 300 });
  });

  it("limits requests without a valid token per client address, without blocking tokens from that address", async () => {
    tick(120_000); // a fresh budget for this address
    for (let i = 0; i < LIMIT; i++) {
      const res = await hl.api("GET", "/api/v1/projects", undefined, { token: i % 2 ? null : `hla_guess_${i}` });
      expectError(res, 401, "unauthorized");
    }
    const guessing = await hl.api("GET", "/api/v1/projects", undefined, { token: "hla_guess_again" });
    expectError(guessing, 429, "rate_limited");
    expect(Number(guessing.headers.get("retry-after"))).toBeGreaterThan(0);
    // The address is throttled for bad tokens only: valid tokens from it carry on.
    expect((await hl.api("GET", "/api/v1/projects", undefined, { token: ADMIN_TOKEN })).status).toBe(200);
    expect((await hl.api("GET", "/api/v1/projects/acme", undefined, { token: await portalToken() })).status).toBe(200);
    // Public routes are not limited.
    for (let i = 0; i < 20; i++) expect((await fetch(`${hl.baseUrl}/healthz`)).status).toBe(200);
  });

  it("HOOKLINE_RATE_LIMIT=0 turns limiting off", async () => {
    const open = await startHookline({ dialect, env: { HOOKLINE_RATE_LIMIT: "0" } });
    try {
      for (let i = 0; i < 50; i++) expect((await open.api("GET", "/api/v1/projects", undefined, { token: "nope-nope-nope" })).status).toBe(401);
    } finally {
      await open.close();
    }
  });
});
