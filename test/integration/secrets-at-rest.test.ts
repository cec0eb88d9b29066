/** HOOKLINE_ENCRYPTION_KEY: secrets sealed in the database, still signing deliveries, rotatable. */
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signBody } from "../../src/domain/signing.js";
import { rotateSecrets } from "../../src/services/secrets.js";
import { createTestDatabase, DIALECTS, type TestDatabase } from "../helpers/databases.js";
import { startHookline } from "../helpers/hookline.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

const k1 = crypto.randomBytes(32).toString("base64");
const k2 = crypto.randomBytes(32).toString("base64");

describe.each(DIALECTS)("secrets at rest (%s)", (dialect) => {
  let rx: Receiver;
  let db: TestDatabase;
  beforeAll(async () => {
    rx = await startReceiver();
    db = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await rx?.close();
    await db?.drop();
  });

  it("stores secrets sealed, signs with the plaintext, reveals it, and re-seals on rotation", async () => {
    const hl = await startHookline({ dialect, database: db, worker: true, ca: rx.ca, env: { HOOKLINE_ENCRYPTION_KEY: `one:${k1}` } });
    let hookId: string;
    try {
      await hl.project("acme");
      const hook = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: rx.url, secret: "whsec_plain-secret" });
      hookId = hook.body.id;
      const row = await hl.runtime.ctx.store.db.selectFrom("webhooks").select("secret").where("id", "=", hookId).executeTakeFirstOrThrow();
      expect(row.secret).toMatch(/^enc:v1:one:/);
      expect(row.secret).not.toContain("plain-secret");
      await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: 1 } });
      const [req] = await rx.waitFor(1);
      expect(req.headers["signature"]).toBe(signBody("whsec_plain-secret", req.body));
      expect((await hl.api("GET", `/api/v1/projects/acme/webhooks/${hookId}/secret`)).body).toEqual({ secret: "whsec_plain-secret" });
    } finally {
      await hl.close();
    }
    // Rotate: new key first, old key kept until every secret is re-sealed.
    const rotated = await startHookline({ dialect, database: db, env: { HOOKLINE_ENCRYPTION_KEY: `two:${k2},one:${k1}` } });
    try {
      expect(await rotateSecrets(rotated.runtime.ctx)).toEqual({ resealed: 1, total: 1 });
      const row = await rotated.runtime.ctx.store.db.selectFrom("webhooks").select("secret").where("id", "=", hookId).executeTakeFirstOrThrow();
      expect(row.secret).toMatch(/^enc:v1:two:/);
    } finally {
      await rotated.close();
    }
    const newOnly = await startHookline({ dialect, database: db, env: { HOOKLINE_ENCRYPTION_KEY: `two:${k2}` } });
    try {
      expect((await newOnly.api("GET", `/api/v1/projects/acme/webhooks/${hookId}/secret`)).body).toEqual({ secret: "whsec_plain-secret" });
    } finally {
      await newOnly.close();
    }
  });

  it("seals the rotated-out secret and the signing key too, signs with both, and re-seals them on key rotation", async () => {
    const own = await createTestDatabase(dialect);
    rx.clear();
    const hl = await startHookline({ dialect, database: own, worker: true, ca: rx.ca, env: { HOOKLINE_ENCRYPTION_KEY: `one:${k1}` } });
    let hookId: string;
    try {
      await hl.project("acme");
      const hook = await hl.api("POST", "/api/v1/projects/acme/webhooks", { name: "h", events: ["issue.created"], url: rx.url, secret: "whsec_first-secret" });
      hookId = hook.body.id;
      await hl.api("POST", `/api/v1/projects/acme/webhooks/${hookId}/secret/rotate`, { secret: "whsec_second-secret" });
      const { public_key } = (await hl.api("POST", `/api/v1/projects/acme/webhooks/${hookId}/signing-key`)).body;
      const row = await hl.runtime.ctx.store.db
        .selectFrom("webhooks")
        .select(["secret", "previous_secret", "signing_key", "public_key"])
        .where("id", "=", hookId)
        .executeTakeFirstOrThrow();
      expect(row.secret).toMatch(/^enc:v1:one:/);
      expect(row.previous_secret).toMatch(/^enc:v1:one:/);
      expect(row.signing_key).toMatch(/^enc:v1:one:/);
      expect(row.public_key).toBe(public_key);
      await hl.api("POST", "/api/v1/projects/acme/events", { event: "issue.created", subject: { id: 2 } });
      const [req] = await rx.waitFor(1);
      expect(req.headers["signature"]).toBe(signBody("whsec_second-secret", req.body));
      expect(
        String(req.headers["webhook-signature"])
          .split(" ")
          .map((v) => v.split(",")[0]),
      ).toEqual(["v1", "v1", "v1a"]);
    } finally {
      await hl.close();
    }
    const rotated = await startHookline({ dialect, database: own, env: { HOOKLINE_ENCRYPTION_KEY: `two:${k2},one:${k1}` } });
    try {
      expect(await rotateSecrets(rotated.runtime.ctx)).toEqual({ resealed: 3, total: 3 });
      const row = await rotated.runtime.ctx.store.db
        .selectFrom("webhooks")
        .select(["secret", "previous_secret", "signing_key"])
        .where("id", "=", hookId)
        .executeTakeFirstOrThrow();
      for (const v of Object.values(row)) expect(v).toMatch(/^enc:v1:two:/);
    } finally {
      await rotated.close();
      await own.drop();
    }
  });
});
