/**
 * Jobs and results cross the thread boundary as JSON strings of compact arrays
 * (src/delivery/sender-protocol.ts): what arrives must equal what was sent, header order and odd
 * header names included, since the delivery log shows the headers exactly as the receiver got them.
 */
import { describe, expect, it } from "vitest";
import type { AttemptJob } from "../../src/delivery/attempt-job.js";
import { decodeJobs, decodeResults, encodeJobs, encodeResults, type ResultEntry } from "../../src/delivery/sender-protocol.js";

const job = (over: Partial<AttemptJob> = {}): AttemptJob => ({
  webhookId: "wh_1",
  url: "https://example.com/hook?x=1",
  body: JSON.stringify({ id: "evt_1", subject: { title: 'héllo "quoted" ✓ 🚀\n' } }),
  event: "test-run.completed",
  deliveryId: "dlv_1",
  attempt: 2,
  secret: "enc:v1:k1:abc",
  previousSecret: null,
  signingKey: "MC4CAQAwBQYDK2VwBCIEI",
  headers: JSON.stringify({ "X-Team": "core" }),
  auth: null,
  authSecret: null,
  clientCert: null,
  clientKey: null,
  now: 1765143000123,
  ...over,
});

describe("sender protocol", () => {
  it("carries every field of a job, with and without a traceparent", () => {
    const jobs = [
      { id: 1, job: job() },
      { id: 2, job: job({ traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", auth: '{"type":"bearer"}', authSecret: "t" }) },
    ];
    expect(decodeJobs(encodeJobs(jobs))).toStrictEqual(jobs);
  });

  it("carries results with their headers in order, odd header names as own keys, and thread errors", () => {
    const sentHeaders: Record<string, string> = { "Content-Type": "application/json", "Hookline-Attempt": "1", constructor: "c" };
    Object.defineProperty(sentHeaders, "__proto__", { value: "p", enumerable: true, configurable: true, writable: true });
    const results: ResultEntry[] = [
      {
        id: 7,
        sent: {
          headers: sentHeaders,
          result: {
            success: true,
            statusCode: 200,
            error: null,
            durationMs: 3,
            response: { status: 200, headers: { "x-multi": "a, b", "content-length": "2" }, body: "ok", truncated: false },
            timedOut: false,
          },
        },
      },
      {
        id: 8,
        sent: { headers: {}, result: { success: false, statusCode: null, error: "Timed out after 10 ms", durationMs: 10, response: null, timedOut: true } },
      },
      { id: 9, error: "the thread failed" },
    ];
    const back = decodeResults(encodeResults(results));
    expect(back).toStrictEqual(results);
    const headers = back[0].sent!.headers;
    expect(Object.keys(headers)).toEqual(["Content-Type", "Hookline-Attempt", "constructor", "__proto__"]);
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.hasOwn(headers, "__proto__")).toBe(true);
  });
});
