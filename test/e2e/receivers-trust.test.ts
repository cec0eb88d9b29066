/**
 * Receivers' trust and finding deliveries in the browser: rotate a secret (the new one shown once,
 * with the time the old one stays valid), create and remove a signing key, filter the log by status
 * code, event ID and time, export the filtered log as an NDJSON download, and follow an event ID to
 * where that event went. Real `hookline serve`, real TLS receiver, Debian's Chromium.
 */
import { readFile } from "node:fs/promises";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot, signIn } from "./support/browser.js";
import { ADMIN_TOKEN, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "trust";
const HOOK = "Signed hook";

let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];
let hookId: string;
const events: Record<number, string> = {};

async function until(probe: () => Promise<boolean>, timeout = 10_000): Promise<void> {
  await expect.poll(probe, { timeout, interval: 100 }).toBe(true);
}
const logEntries = () => page.getByRole("list", { name: "Log" }).getByRole("listitem");
const hookPath = () => `/api/v1/projects/${PROJECT}/webhooks/${hookId}`;

beforeAll(async () => {
  // Each event asks for its answer; a failed attempt's retry is an hour away, so nothing is disabled.
  receiver = await startReceiver({ respond: (req) => ({ status: (JSON.parse(req.body).subject?.answer as number | undefined) ?? 200 }) });
  server = await startServer({ ca: receiver.ca, env: { HOOKLINE_RETRY_DELAYS: "3600" } });
  expect((await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Trust Co" })).status).toBe(201);
  const hook = await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, {
    name: HOOK,
    events: ["issue.created"],
    url: `${receiver.url}/hook`,
    secret: "whsec_first-secret-for-e2e",
  });
  hookId = hook.body.id;
  for (const status of [200, 503, 404]) {
    events[status] = (await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "issue.created", subject: { answer: status } })).body.id;
  }
  await receiver.waitFor(3);
  browser = await launchBrowser();
  ({ context, page, errors } = await newPage(browser));
  await signIn(page, server.url, ADMIN_TOKEN);
  await page.goto(`${server.url}/projects/${PROJECT}/webhooks/${hookId}`);
  await page.getByRole("heading", { name: HOOK, level: 1 }).waitFor();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
  await receiver?.close();
});

describe("receivers' trust and log search in the browser", () => {
  it("rotates the secret: the new secret is shown once, with until when the old one stays valid", async () => {
    await page.getByRole("button", { name: "Secret actions" }).click();
    await page.getByRole("menu").getByRole("menuitem", { name: "Rotate secret" }).click();
    const dialog = page.getByRole("dialog", { name: "Rotate secret" });
    await dialog.waitFor();
    await dialog.getByLabel("Keep the old secret valid for").selectOption({ label: "7 days" });
    await screenshot(page, "rotate-secret");
    await dialog.getByRole("button", { name: "Rotate", exact: true }).click();
    const shown = dialog.getByLabel("New secret", { exact: true });
    await shown.waitFor();
    const secret = await shown.inputValue();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    await dialog.getByText("The old secret stays valid until").waitFor();
    await screenshot(page, "rotate-secret-done");
    const api = await server.api("GET", `${hookPath()}/secret`);
    expect(api.body.secret).toBe(secret);
    const hook = (await server.api("GET", hookPath())).body;
    expect(Date.parse(hook.previous_secret_expires_at) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    await dialog.getByRole("button", { name: "Done" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByText("The previous secret also signs until").waitFor();
  });

  it("creates a signing key, shows its public key, and removes it", async () => {
    const openDialog = async () => {
      await page.getByRole("button", { name: "More actions" }).click();
      await page.getByRole("menu").getByRole("menuitem", { name: "Signing key" }).click();
      const dialog = page.getByRole("dialog", { name: "Signing key" });
      await dialog.waitFor();
      return dialog;
    };
    let dialog = await openDialog();
    await dialog.getByText("This webhook has no signing key.").waitFor();
    await dialog.getByRole("button", { name: "Create signing key" }).click();
    const key = dialog.getByLabel("Public key", { exact: true });
    await key.waitFor();
    const shown = await key.inputValue();
    expect(shown).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    expect((await server.api("GET", hookPath())).body.public_key).toBe(shown);
    await screenshot(page, "signing-key");
    await dialog.getByRole("button", { name: "Done" }).click();
    await dialog.waitFor({ state: "detached" });

    dialog = await openDialog();
    expect(await dialog.getByLabel("Public key", { exact: true }).inputValue()).toBe(shown);
    await dialog.getByRole("button", { name: "Remove key" }).click();
    await dialog.getByText("This webhook has no signing key.").waitFor();
    expect((await server.api("GET", hookPath())).body.public_key).toBeNull();
    await dialog.getByRole("button", { name: "Done" }).click();
  });

  it("filters the log by status code, event ID, From and To, and names a bad filter", async () => {
    await until(async () => (await logEntries().count()) === 3);
    const statusCode = page.getByLabel("Status code");
    await statusCode.fill("5xx");
    await until(async () => (await logEntries().count()) === 1 && (await logEntries().first().innerText()).includes("503"));
    await statusCode.fill("404");
    await until(async () => (await logEntries().count()) === 1 && (await logEntries().first().innerText()).includes("404"));
    await statusCode.fill("");
    await until(async () => (await logEntries().count()) === 3);

    await page.getByLabel("Event ID").fill(events[503]);
    await until(async () => (await logEntries().count()) === 1 && (await logEntries().first().innerText()).includes("503"));
    await page.getByLabel("Event ID").fill("");
    await until(async () => (await logEntries().count()) === 3);

    await page.getByLabel("From").fill("2099-01-01T00:00");
    await page.getByText("No matching attempts").waitFor();
    await page.getByLabel("From").fill("2000-01-01T00:00");
    await until(async () => (await logEntries().count()) === 3);
    await page.getByLabel("To").fill("2000-01-02T00:00");
    await page.getByText("No matching attempts").waitFor();
    await page.getByLabel("To").fill("");
    await page.getByLabel("From").fill("");
    await until(async () => (await logEntries().count()) === 3);

    await statusCode.fill("abc");
    await page.getByText(/Could not load the log: .*status code/i).waitFor();
    await statusCode.fill("");
    await until(async () => (await logEntries().count()) === 3);
  });

  it("exports the filtered log as an NDJSON download", async () => {
    await page.getByLabel("Status code").fill("5xx");
    await until(async () => (await logEntries().count()) === 1);
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export" }).click()]);
    expect(download.suggestedFilename()).toMatch(/\.ndjson$/);
    const text = await readFile((await download.path())!, "utf8");
    const lines = text
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ status_code: 503, event_id: events[503], request: { method: "POST" }, response: { status: 503 } });

    await page.getByLabel("Status code").fill("");
    await until(async () => (await logEntries().count()) === 3);
    const [all] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export" }).click()]);
    const everything = (await readFile((await all.path())!, "utf8"))
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(everything.map((l) => l.status_code)).toEqual([404, 503, 200]); // newest first
  });

  it("an event ID in a log entry links to that event's deliveries", async () => {
    const entry = logEntries().filter({ hasText: "503" }).first();
    await entry.getByRole("button", { name: "Show details" }).click();
    await entry.getByRole("link", { name: events[503] }).click();
    await page.getByRole("heading", { name: "issue.created", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/projects/${PROJECT}/events/${events[503]}`);
    const table = page.getByRole("table");
    await table.getByRole("link", { name: HOOK }).waitFor();
    await table.getByText("Pending").waitFor(); // its retry is an hour away
    await screenshot(page, "event-deliveries");
    await table.getByRole("link", { name: HOOK }).click();
    await page.getByRole("heading", { name: HOOK, level: 1 }).waitFor();
    expect(errors).toEqual([]);
  });

  it("recovers what the webhook missed from More actions › Recover", async () => {
    await server.api("PATCH", hookPath(), { enabled: false });
    const skipped = (await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "issue.created", subject: { n: "skipped" } })).body.id;
    await server.api("PATCH", hookPath(), { enabled: true });
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks/${hookId}`);
    await page.getByRole("heading", { name: HOOK, level: 1 }).waitFor();
    await page.getByRole("button", { name: "More actions" }).click();
    await page.getByRole("menu").getByRole("menuitem", { name: "Recover" }).click();
    const dialog = page.getByRole("dialog", { name: "Recover" });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).waitFor();
    await dialog.getByLabel("Since").fill("2000-01-01T00:00:00");
    await dialog.getByRole("button", { name: "Recover", exact: true }).click();
    await dialog.getByText(/within the log retention/).waitFor(); // the server's 422, shown in the dialog
    // Ten minutes ago, as the browser's local time (the page's zone, not this process's).
    const since = await page.evaluate(() => {
      const d = new Date(Date.now() - 10 * 60_000);
      const pad = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:00`;
    });
    await dialog.getByLabel("Since").fill(since);
    await screenshot(page, "recover");
    await dialog.getByRole("button", { name: "Recover", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    // The skipped event, and the 503 and 404 ones whose pending retries the disable cancelled; not the one that succeeded.
    await page.getByText("3 deliveries queued").waitFor();
    await until(async () => receiver.requests.some((r) => JSON.parse(r.body).id === skipped));
  });

  it("shows 'Disabled: endpoint gone' for a webhook whose endpoint answered 410", async () => {
    const gone = (
      await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, { name: "Gone hook", events: ["risk.created"], url: `${receiver.url}/gone` })
    ).body.id;
    await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "risk.created", subject: { answer: 410 } });
    await until(async () => (await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${gone}`)).body.disabled_reason === "gone");
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks/${gone}`);
    await page.getByRole("heading", { name: "Gone hook", level: 1 }).waitFor();
    await page.getByText("Disabled: endpoint gone").waitFor();
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks`);
    await page.getByRole("row").filter({ hasText: "Gone hook" }).getByText("Disabled: endpoint gone").waitFor();
    await screenshot(page, "endpoint-gone");
    expect(errors).toEqual([]);
  });
});
