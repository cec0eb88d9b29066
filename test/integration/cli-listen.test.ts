/**
 * `hookline listen` as a real child process receiving real deliveries from an in-process Hookline:
 * the printed report (event, delivery id, attempt, signature check, preview), --status (retries),
 * --forward-to, --https with its self-signed certificate, and the message when openssl is missing.
 * One dialect: the database plays no part in what is tested here.
 */
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHookline, type Hookline } from "../../src/index.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { runCli, type CliProcess } from "../helpers/process.js";

const SECRET = "whsec_listen-test-secret";

describe("hookline listen", () => {
  let db: TestDatabase;
  let hookline: Hookline;
  const running: CliProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    hookline = await createHookline({
      databaseUrl: db.url,
      adminToken: "listen-admin-token-0123456789",
      secretKey: "listen-secret-key-0123456789abcdef01234",
      allowHttp: true,
      allowPrivateNetworks: ["127.0.0.0/8"],
      retryDelaysMs: [50, 50],
      timeoutMs: 3000,
      logLevel: "silent",
    });
    hookline.startWorker();
    await hookline.projects.put("acme", { name: "Acme" });
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      p.child.kill("SIGINT");
      await p.exited;
    }
    for (const w of (await hookline.webhooks.list("acme")).data) await hookline.webhooks.delete("acme", w.id);
  });
  afterAll(async () => {
    await hookline?.close();
    await db?.drop();
  });

  async function listen(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ cli: CliProcess; url: string }> {
    const cli = runCli(["listen", "--port", "0", ...args], env);
    running.push(cli);
    const [, url] = await cli.waitForOutput(/receiving webhooks at (https?:\/\/\S+)/);
    return { cli, url };
  }

  it("prints each delivery with its signature check and a preview", async () => {
    const { cli, url } = await listen(["--secret", SECRET]);
    await hookline.webhooks.create("acme", { name: "good", events: ["test-run.completed"], url: `${url}/good`, secret: SECRET });
    await hookline.webhooks.create("acme", { name: "wrong", events: ["issue.created"], url: `${url}/wrong`, secret: "whsec_someone-else" });
    await hookline.webhooks.create("acme", { name: "plain", events: ["risk.created"], url: `${url}/plain` });

    const run = await hookline.publish("acme", "test-run.completed", { id: "TR-7", status: "passed" });
    const [line] = await cli.waitForOutput(/test-run\.completed {2}(dlv_\w+) {2}attempt 1 {2}signature ✓ {2}→ 200\n.*\n/);
    expect(line).toContain(`${run.id}  project acme  subject {"id":"TR-7","status":"passed"}`);

    await hookline.publish("acme", "issue.created", { id: "BUG-1" });
    await cli.waitForOutput(/issue\.created {2}dlv_\w+ {2}attempt 1 {2}signature ✗ {2}→ 200\n\s+✗ no signature matches: a different secret/);

    await hookline.publish("acme", "risk.created", { id: "RSK-1" });
    await cli.waitForOutput(/risk\.created {2}dlv_\w+ {2}attempt 1 {2}unsigned {2}→ 200/);

    expect((await fetch(url)).status).toBe(200);
    await cli.waitForOutput(/GET \/ {2}\(not a Hookline delivery/);
  });

  it("says signatures are not checked without --secret", async () => {
    const { cli, url } = await listen([]);
    await hookline.webhooks.create("acme", { name: "n", events: ["issue.updated"], url, secret: SECRET });
    await hookline.publish("acme", "issue.updated", { id: "BUG-2" });
    await cli.waitForOutput(/issue\.updated {2}dlv_\w+ {2}attempt 1 {2}signature not checked \(pass --secret\)/);
  });

  it("--status 500 fails every attempt, so Hookline retries and then disables the webhook", async () => {
    const { cli, url } = await listen(["--secret", SECRET, "--status", "500"]);
    const wh = await hookline.webhooks.create("acme", { name: "failing", events: ["milestone.completed"], url, secret: SECRET });
    await hookline.publish("acme", "milestone.completed", { id: "MS-1" });
    const [, id] = await cli.waitForOutput(/milestone\.completed {2}(dlv_\w+) {2}attempt 1 {2}signature ✓ {2}→ 500/);
    await cli.waitForOutput(new RegExp(`${id} {2}attempt 2 {2}signature ✓ {2}→ 500`));
    await cli.waitForOutput(new RegExp(`${id} {2}attempt 3 {2}signature ✓ {2}→ 500`));
    for (let i = 0; i < 100 && (await hookline.webhooks.get("acme", wh.id)).disabled_reason !== "failures"; i++) await sleep(30);
    expect((await hookline.webhooks.get("acme", wh.id)).disabled_reason).toBe("failures");
  });

  it("--forward-to passes body and headers on, prints the answer and relays its status", async () => {
    const got: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }> = [];
    const app = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        got.push({ path: req.url ?? "", headers: req.headers, body });
        res.writeHead(201).end("created");
      });
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    try {
      const target = `http://127.0.0.1:${(app.address() as AddressInfo).port}/hooks`;
      const { cli, url } = await listen(["--secret", SECRET, "--forward-to", target]);
      const wh = await hookline.webhooks.create("acme", { name: "fwd", events: ["issue.deleted"], url, secret: SECRET });
      await hookline.publish("acme", "issue.deleted", { id: "BUG-3" });
      await cli.waitForOutput(/issue\.deleted {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 201\n.*\n\s+↳ forwarded to http:\/\/127\.0\.0\.1:\d+\/hooks → 201/);
      expect(got).toHaveLength(1);
      expect(got[0].path).toBe("/hooks");
      expect(JSON.parse(got[0].body).subject).toEqual({ id: "BUG-3" });
      expect(got[0].headers["hookline-event"]).toBe("issue.deleted");
      expect(got[0].headers["webhook-signature"]).toMatch(/^v1,/);
      expect(got[0].headers.signature).toMatch(/^[0-9a-f]{64}$/);
      let logs = await hookline.logs.list("acme", wh.id);
      for (let i = 0; i < 100 && logs.data.length === 0; i++) logs = await sleep(30).then(() => hookline.logs.list("acme", wh.id));
      expect(logs.data[0].status_code).toBe(201);
    } finally {
      await new Promise((r) => app.close(r));
    }
  });

  it("--forward-to an app that is down answers 502 and says why", async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const { cli, url } = await listen(["--forward-to", `http://127.0.0.1:${port}/nothing-here`]);
    expect((await fetch(url, { method: "POST", body: "{}" })).status).toBe(502);
    await cli.waitForOutput(new RegExp(`forwarding to http://127\\.0\\.0\\.1:${port}/nothing-here failed: ECONNREFUSED \\(answered 502\\)`));
  });

  it("--https serves a self-signed certificate that Hookline can be told to trust", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-listen-test-"));
    try {
      const { cli, url } = await listen(["--https", "--secret", SECRET], { TMPDIR: tmp });
      expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const [, certFile] = await cli.waitForOutput(/NODE_EXTRA_CA_CERTS=(\S+)/);
      const tls = await createHookline({
        databaseUrl: path.join(tmp, "tls.db"),
        adminToken: "listen-admin-token-0123456789",
        secretKey: "listen-secret-key-0123456789abcdef01234",
        allowPrivateNetworks: ["127.0.0.0/8"],
        ca: fs.readFileSync(certFile, "utf8"),
        logLevel: "silent",
      });
      try {
        tls.startWorker();
        await tls.projects.put("acme", { name: "Acme" });
        await tls.webhooks.create("acme", { name: "tls", events: ["test-case.created"], url, secret: SECRET });
        await tls.publish("acme", "test-case.created", { id: "TC-1" });
        await cli.waitForOutput(/test-case\.created {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 200/);
      } finally {
        await tls.close();
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("--https without openssl fails with a clear message", async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hookline-listen-test-"));
    try {
      const cli = runCli(["listen", "--port", "0", "--https"], { TMPDIR: tmp, PATH: path.join(tmp, "no-bin") });
      expect(await cli.exited).toBe(1);
      expect(cli.output()).toMatch(/--https needs the `openssl` command/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("refuses a bad --status", async () => {
    const cli = runCli(["listen", "--status", "42"], {});
    expect(await cli.exited).toBe(2);
    expect(cli.output()).toMatch(/--status must be an HTTP status from 200 to 599, got 42/);
  });
});
