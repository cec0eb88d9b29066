/**
 * `npm start` (= `hookline serve --demo`) as a real process: the banner, the in-process listener
 * printing verified deliveries of the sample events, `hookline publish` and `hookline token`
 * against it, and a restart that re-points the same two webhooks at the new listener port.
 * SQLite only: this is what a new user runs, and the demo logic is dialect-free.
 */
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { runCli, type CliProcess } from "../helpers/process.js";

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

async function stop(p: CliProcess): Promise<number | string> {
  if (p.child.exitCode === null) p.child.kill("SIGINT");
  return p.exited;
}

describe("hookline serve --demo", () => {
  let db: TestDatabase;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let serve: CliProcess;
  let adminToken: string;
  // API answers, loosely typed: the assertions check them.
  const api = async (path: string): Promise<any> =>
    (await fetch(`http://127.0.0.1:${port}${path}`, { headers: { authorization: `Bearer ${adminToken}` } })).json();

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    port = await freePort();
    // No HOOKLINE_ADMIN_TOKEN: the demo generates one into the data directory, as for a new user.
    env = {
      DATABASE_URL: db.url,
      HOOKLINE_ADMIN_TOKEN: undefined,
      HOOKLINE_SECRET_KEY: undefined,
      HOOKLINE_PUBLIC_URL: undefined,
      PORT: undefined,
      LOG_LEVEL: undefined,
    };
    serve = runCli(["serve", "--demo", "--port", String(port)], env);
    [, adminToken] = await serve.waitForOutput(/Admin token \(generated[^:]*\): (\S+)/, 30_000);
  });
  afterAll(async () => {
    if (serve) await stop(serve);
    await db?.drop();
  });

  it("prints the warning, UI address and portal link, and delivers the sample events at once", async () => {
    await serve.waitForOutput(/DEMO MODE: webhooks may point at http:\/\/ and loopback addresses/);
    await serve.waitForOutput(new RegExp(`Web UI: http://localhost:${port}/ .*/projects/demo/webhooks`));
    const [, portal] = await serve.waitForOutput(/Portal link \(project "demo", admin, 24 h\): (\S+)/);
    await serve.waitForOutput(/\[demo listener\] \S+ {2}test-run\.completed {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 200/);
    await serve.waitForOutput(/\[demo listener\] \S+ {2}issue\.created {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 200/);

    const token = decodeURIComponent(new URL(portal).hash.replace(/^#token=/, ""));
    const me = await fetch(`http://127.0.0.1:${port}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ kind: "portal", project_id: "demo", role: "admin" });

    const project = await api("/api/v1/projects/demo");
    expect(project.notification_emails).toEqual(["owner@example.com"]);
    const hooks = (await api("/api/v1/projects/demo/webhooks")).data;
    expect(hooks.map((w: { name: string }) => w.name).sort()).toEqual(["CI trigger", "Slack bridge"]);
    const slack = hooks.find((w: { name: string }) => w.name === "Slack bridge");
    expect([...slack.events].sort()).toEqual(["test-run.completed", "test-run.created", "test-run.deleted", "test-run.updated"]);
    expect(slack).toMatchObject({ enabled: true, has_secret: true, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/slack-bridge$/) });
  });

  it("`hookline publish` sends through the API with the stored admin token", async () => {
    const url = `http://localhost:${port}`;
    const pub = runCli(
      ["publish", "--project", "demo", "--event", "test-case.created", "--subject", '{"id":"TC-9","title":"From the CLI"}', "--url", url],
      env,
    );
    // Without --subject: the catalog's example.
    const example = runCli(["publish", "--project", "demo", "--event", "issue.updated", "--url", url], env);
    const bad = runCli(["publish", "--project", "demo", "--event", "nope.nope", "--subject", "{}", "--url", url], env);
    const down = runCli(
      ["publish", "--project", "demo", "--event", "issue.created", "--subject", "{}", "--url", "http://127.0.0.1:1", "--token", "x".repeat(20)],
      env,
    );
    expect(await pub.exited).toBe(0);
    expect(JSON.parse(pub.output().slice(pub.output().indexOf("{")))).toMatchObject({ id: expect.stringMatching(/^evt_/), deliveries: 1 });
    await serve.waitForOutput(/test-case\.created {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 200\n.*subject \{"id":"TC-9","title":"From the CLI"\}/);

    expect(await example.exited).toBe(0);
    await serve.waitForOutput(/issue\.updated {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 200\n.*subject \{"id":"BUG-77"/);

    expect(await bad.exited).toBe(1);
    expect(bad.output()).toMatch(/hookline publish: 422 validation_failed: .*\n\s+event: "nope\.nope" is not in the event catalog/);

    expect(await down.exited).toBe(1);
    expect(down.output()).toMatch(/cannot reach Hookline at http:\/\/127\.0\.0\.1:1/);
  });

  it("`hookline token` prints a working portal link", async () => {
    const cli = runCli(["token", "--project", "demo", "--role", "viewer"], { ...env, PORT: String(port) });
    expect(await cli.exited).toBe(0);
    const [, link] = cli.output().match(/(http:\/\/localhost:\d+\/portal#token=\S+)/)!;
    expect(link.startsWith(`http://localhost:${port}/portal#token=`)).toBe(true);
    const token = decodeURIComponent(new URL(link).hash.slice("#token=".length));
    const read = await fetch(`http://127.0.0.1:${port}/api/v1/projects/demo/webhooks`, { headers: { authorization: `Bearer ${token}` } });
    expect(read.status).toBe(200);
    const write = await fetch(`http://127.0.0.1:${port}/api/v1/projects/demo/webhooks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "x", events: ["issue.created"], url: "https://example.com/x" }),
    });
    expect(write.status).toBe(403);
    const missing = runCli(["token", "--project", "no-such-project"], env);
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toMatch(/Project was not found/);
  });

  it("restarting re-points the same webhooks at the new listener instead of adding more", async () => {
    const before = (await api("/api/v1/projects/demo/webhooks")).data as Array<{ id: string; url: string }>;
    expect(await stop(serve)).toBe(0); // Ctrl-C stops the server and the demo listener
    serve = runCli(["serve", "--demo", "--port", String(port)], env);
    const [, listenerUrl] = await serve.waitForOutput(/Demo listener \(hookline listen, in this process\): (\S+),/, 30_000);
    await serve.waitForOutput(/Admin token: (\S+)/); // not generated this time: shown by the demo
    await serve.waitForOutput(/test-run\.completed {2}dlv_\w+ {2}attempt 1 {2}signature ✓ {2}→ 200/);
    const after = (await api("/api/v1/projects/demo/webhooks")).data as Array<{ id: string; url: string }>;
    expect(after.map((w) => w.id).sort()).toEqual(before.map((w) => w.id).sort());
    for (const w of after) expect(w.url.startsWith(`${listenerUrl}/`)).toBe(true);
  });
});
