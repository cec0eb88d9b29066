/**
 * Generated credentials are the cluster's on PostgreSQL: a node started without
 * HOOKLINE_ADMIN_TOKEN / HOOKLINE_SECRET_KEY uses the ones another node stored (the admin token as
 * its hash, the secret key sealed), and `hookline token --url` prints the link at that address.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIALECTS, createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { nodeEnv, startNode, stopNodes, type HooklineNode } from "../helpers/nodes.js";
import { runCli } from "../helpers/process.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";

const GENERATED = /Admin token \(generated[^)]*\): (hla_[A-Za-z0-9_-]+)/;

async function call(node: HooklineNode, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(node.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

async function cli(args: string[], env: Record<string, string>) {
  const proc = runCli(args, env);
  const code = await proc.exited;
  return { code, out: proc.output() };
}

let rx: Receiver;
beforeAll(async () => {
  rx = await startReceiver();
});
afterAll(async () => {
  await rx?.close();
});

describe.skipIf(!DIALECTS.includes("postgres"))("cluster credentials (postgres)", () => {
  let db: TestDatabase;
  const nodes: HooklineNode[] = [];
  let env: Record<string, string>;
  let adminToken = "";
  let demoDir = "";
  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    env = nodeEnv(db.url, rx.ca);
    delete env.HOOKLINE_ADMIN_TOKEN;
    delete env.HOOKLINE_SECRET_KEY;
  });
  afterAll(async () => {
    await stopNodes(nodes);
    await db?.drop();
    if (demoDir) fs.rmSync(demoDir, { recursive: true, force: true });
  });

  it("the second node uses the first node's generated admin token and secret key instead of its own", async () => {
    // Started where `npm start` (the SQLite demo) wrote ./data/admin-token and ./data/secret-key:
    // those are the demo's, not the cluster's, and a PostgreSQL node does not read them.
    demoDir = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-demo-cwd-"));
    fs.mkdirSync(path.join(demoDir, "data"));
    const demoToken = "hla_the-sqlite-demos-token-0123456789";
    fs.writeFileSync(path.join(demoDir, "data/admin-token"), demoToken + "\n");
    fs.writeFileSync(path.join(demoDir, "data/secret-key"), "the-sqlite-demos-secret-key-0123456789abcdef\n");
    const a = await startNode("api", env, [], demoDir);
    nodes.push(a);
    const token = (await a.proc.waitForOutput(GENERATED, 10_000))[1];
    adminToken = token;
    expect(token).not.toBe(demoToken);
    expect((await call(a, demoToken, "GET", "/api/v1/projects")).status).toBe(401);
    const b = await startNode("api", env);
    nodes.push(b);
    expect(b.proc.output()).not.toMatch(GENERATED);
    // The one token works on both nodes; a portal token minted on one verifies on the other.
    expect((await call(b, token, "PUT", "/api/v1/projects/acme", { name: "Acme" })).status).toBe(201);
    expect((await call(a, token, "GET", "/api/v1/projects/acme")).status).toBe(200);
    const portal = (await call(a, token, "POST", "/api/v1/projects/acme/portal-sessions", { role: "viewer" })).body.token;
    expect((await call(b, portal, "GET", "/api/v1/projects/acme/webhooks")).status).toBe(200);
    expect((await call(b, "hla_not-the-token-0123456789abcdef", "GET", "/api/v1/projects")).status).toBe(401);

    // Stored once: the admin token as its SHA-256 only, the secret key sealed with the encryption key.
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const rows = Object.fromEntries((await client.query("select name, value from cluster_credentials")).rows.map((r) => [r.name, r.value]));
      expect(Object.keys(rows).sort()).toEqual(["admin_token_sha256", "secret_key"]);
      expect(rows.admin_token_sha256).toBe(crypto.createHash("sha256").update(token).digest("hex"));
      expect(rows.secret_key).toMatch(/^enc:v1:/);
    } finally {
      await client.end();
    }
  });

  it("`hookline rotate-key` re-seals the stored secret key, so the old encryption key can go", async () => {
    const oldKey = env.HOOKLINE_ENCRYPTION_KEY;
    const newKey = Buffer.alloc(32, 9).toString("base64");
    const portal = (await call(nodes[0], adminToken, "POST", "/api/v1/projects/acme/portal-sessions", { role: "viewer" })).body.token;
    const r = await cli(["rotate-key"], { ...env, HOOKLINE_ENCRYPTION_KEY: `k2:${newKey},k1:${oldKey}` });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/cluster's generated secret key/);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect((await client.query("select value from cluster_credentials where name = 'secret_key'")).rows[0].value).toMatch(/^enc:v1:k2:/);
    } finally {
      await client.end();
    }
    // A node holding only the new key starts and accepts the portal token signed before.
    const c = await startNode("api", { ...env, HOOKLINE_ENCRYPTION_KEY: `k2:${newKey}` });
    nodes.push(c);
    expect((await call(c, portal, "GET", "/api/v1/projects/acme/webhooks")).status).toBe(200);
    env.HOOKLINE_ENCRYPTION_KEY = `k2:${newKey}`;
  });

  it("`hookline token` on another host signs with the cluster's key, at --url", async () => {
    const { code, out } = await cli(["token", "--project", "acme", "--role", "viewer", "--url", "https://hooks.example.com/base/"], env);
    expect(code, out).toBe(0);
    expect(out).not.toMatch(GENERATED);
    const link = /^(https:\/\/hooks\.example\.com\/base\/portal#token=(\S+))$/m.exec(out);
    expect(link, out).not.toBeNull();
    const portal = decodeURIComponent(link![2]);
    expect((await call(nodes[0], portal, "GET", "/api/v1/projects/acme/webhooks")).status).toBe(200);
  });
});

describe.each(DIALECTS)("hookline token --url (%s)", (dialect) => {
  it("prints the link at --url, else HOOKLINE_PUBLIC_URL; a bad --url stops it naming the setting", async () => {
    const db = await createTestDatabase(dialect);
    try {
      const env = nodeEnv(db.url, rx.ca, { HOOKLINE_PUBLIC_URL: "https://public.example.com" });
      const api = await startNode("api", env);
      await api.call("PUT", "/api/v1/projects/acme", { name: "Acme" });
      await api.stop();
      let r = await cli(["token", "--project", "acme", "--url", "https://portal.example.org"], env);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/^https:\/\/portal\.example\.org\/portal#token=hlp_\S+$/m);
      r = await cli(["token", "--project", "acme"], env);
      expect(r.out).toMatch(/^https:\/\/public\.example\.com\/portal#token=hlp_\S+$/m);
      r = await cli(["token", "--project", "acme", "--url", "portal.example.org"], env);
      expect(r.code).toBe(2);
      expect(r.out).toMatch(/HOOKLINE_PUBLIC_URL|--url/);
    } finally {
      await db.drop();
    }
  });
});
