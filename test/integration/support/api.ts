/** Shared assertions for the management-API suites (SPEC §4). */
import { expect } from "vitest";
import type { ApiResponse } from "../../helpers/hookline.js";

/**
 * The fields of the `webhook` object, exactly: SPEC §4's, the receiver options (headers, auth,
 * client_certificate; null when unset) and the delivery policies (filter, rate_limit, ordering). `last_delivery` comes only with `?include=last_delivery`.
 */
export const WEBHOOK_FIELDS = [
  "auth",
  "client_certificate",
  "created_at",
  "disabled_at",
  "disabled_reason",
  "enabled",
  "events",
  "filter",
  "has_secret",
  "headers",
  "id",
  "name",
  "ordering",
  "previous_secret_expires_at",
  "project_id",
  "public_key",
  "rate_limit",
  "updated_at",
  "url",
];
export const WEBHOOK_EXTRA_FIELDS = ["last_delivery"];
export const PROJECT_FIELDS = ["created_at", "id", "name", "notification_emails", "updated_at"];

export const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const WEBHOOK_ID = /^wh_[0-9a-z]{26}$/;

/** Asserts the SPEC §4 error shape exactly: `{error: {code, message, details?}}`, nothing else. */
export function expectError(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code } } });
  expectErrorShape(res.body);
  expect(res.headers.get("content-type") ?? "").toMatch(/^application\/json/);
}

export function expectErrorShape(body: unknown): void {
  expect(body).toBeTypeOf("object");
  expect(Object.keys(body as object)).toEqual(["error"]);
  const error = (body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).sort()).toEqual(expect.arrayContaining(["code", "message"]));
  expect(Object.keys(error).every((k) => ["code", "message", "details"].includes(k))).toBe(true);
  expect(error.code).toMatch(/^[a-z_]+$/);
  expect(typeof error.message).toBe("string");
  expect((error.message as string).length).toBeGreaterThan(0);
  if (error.details !== undefined) {
    expect(Array.isArray(error.details)).toBe(true);
    for (const d of error.details as unknown[]) {
      expect(Object.keys(d as object).sort()).toEqual(["field", "message"]);
      expect(typeof (d as { field: unknown }).field).toBe("string");
      expect(typeof (d as { message: unknown }).message).toBe("string");
    }
  }
}

/** A 422 whose `details` name exactly these fields (in any order, each at least once). */
export function expectValidation(res: ApiResponse, ...fields: string[]): void {
  expectError(res, 422, "validation_failed");
  const named = new Set((res.body.error.details as Array<{ field: string }>).map((d) => d.field));
  expect([...named].sort()).toEqual([...new Set(fields)].sort());
}

/** Every webhook field of SPEC §4 with the right type, and no other (unless `extras` are asked for). */
export function expectWebhookShape(w: Record<string, unknown>, extras: string[] = []): void {
  const keys = Object.keys(w);
  expect(keys.filter((k) => !extras.includes(k)).sort()).toEqual(WEBHOOK_FIELDS);
  expect(w.id).toMatch(WEBHOOK_ID);
  expect(typeof w.project_id).toBe("string");
  expect(typeof w.name).toBe("string");
  expect(Array.isArray(w.events)).toBe(true);
  expect(typeof w.url).toBe("string");
  expect(typeof w.enabled).toBe("boolean");
  expect([null, "manual", "failures", "gone"]).toContain(w.disabled_reason);
  expect(typeof w.has_secret).toBe("boolean");
  if (w.previous_secret_expires_at !== null) expect(w.previous_secret_expires_at).toMatch(ISO);
  if (w.public_key !== null) expect(w.public_key).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
  expect(w.created_at).toMatch(ISO);
  expect(w.updated_at).toMatch(ISO);
  if (w.enabled) {
    expect(w.disabled_reason).toBeNull();
    expect(w.disabled_at).toBeNull();
  } else {
    expect(w.disabled_reason).not.toBeNull();
    expect(w.disabled_at).toMatch(ISO);
  }
}

/** True when a JSON value has a key named `name` at any depth. */
export function hasKeyDeep(value: unknown, name: string): boolean {
  if (Array.isArray(value)) return value.some((v) => hasKeyDeep(v, name));
  if (value && typeof value === "object") {
    return Object.entries(value).some(([k, v]) => k === name || hasKeyDeep(v, name));
  }
  return false;
}

/** Polls until `probe` answers something truthy. */
export async function until<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 8000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
