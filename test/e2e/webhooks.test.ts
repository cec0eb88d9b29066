/**
 * A project admin's day in the browser: sign in, find the project, add a webhook through the dialog
 * (server validation errors included), watch a published event's attempt appear in the log by itself
 * and expand it, test, redeliver, edit, disable/enable, hit the active limit, get notified of an
 * auto-disable, delete. Real `hookline serve`, real TLS receiver, Debian's Chromium.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot, signIn } from "./support/browser.js";
import { containsFocus, isFocused, isIndeterminate } from "./support/dom.js";
import { ADMIN_TOKEN, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "acme";
const HOOK = "Release dashboard";

let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let errors: string[];

beforeAll(async () => {
  receiver = await startReceiver({
    respond: { status: 200, headers: { "content-type": "application/json" }, body: JSON.stringify({ received: true }) },
  });
  server = await startServer({ ca: receiver.ca });
  expect((await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Acme Test Manager" })).status).toBe(201);
  browser = await launchBrowser();
  ({ context, page, errors } = await newPage(browser));
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
  await receiver?.close();
});

/** Waits until `probe` holds, re-evaluating it (the UI updates by itself, never by reload). */
async function until(probe: () => Promise<boolean>, timeout = 10_000): Promise<void> {
  await expect.poll(probe, { timeout, interval: 100 }).toBe(true);
}

async function webhookId(name: string): Promise<string> {
  const list = await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks`);
  return list.body.data.find((w: { name: string }) => w.name === name).id;
}

function logEntries() {
  return page.getByRole("list", { name: "Log" }).getByRole("listitem");
}

async function openMoreActions(item: "Disable" | "Enable" | "Delete") {
  await page.getByRole("button", { name: "More actions" }).click();
  const menu = page.getByRole("menu");
  await menu.waitFor();
  await menu.getByRole("menuitem", { name: item, exact: true }).click();
}

describe("admin UI against a real server", () => {
  it("signs in with the admin token and reaches the webhooks through Integrations › Webhooks › Configure", async () => {
    await page.goto(server.url + "/");
    await page.getByLabel("Admin token").waitFor();
    await screenshot(page, "sign-in");
    await signIn(page, server.url, ADMIN_TOKEN);
    await screenshot(page, "projects");
    await page.getByRole("link", { name: "Acme Test Manager", exact: true }).click();
    await page.getByRole("heading", { name: "Acme Test Manager", level: 1 }).waitFor();
    const integrations = page.getByRole("region", { name: "Integrations" });
    await integrations.getByRole("heading", { name: "Webhooks" }).waitFor();
    await integrations.getByText("0 of 5 active").waitFor();
    await screenshot(page, "project-settings");
    await integrations.getByRole("button", { name: "Configure" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/projects/${PROJECT}/webhooks`);
    await page.getByText("0 of 5 active").waitFor();
    await page.getByText("No webhooks yet").waitFor();
    await screenshot(page, "overview-empty");
    expect(await page.title()).toBe("Webhooks · Acme Test Manager · Projects — Hookline");
    // The token is asked once per tab: a reload keeps the session.
    await page.reload();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
  });

  it("shows the server's validation errors next to their fields in the Add Webhook dialog", async () => {
    await page.getByRole("button", { name: "Add Webhook" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.waitFor();
    // Focus starts in the dialog, on the first field.
    expect(await isFocused(dialog.getByLabel("Name"))).toBe(true);

    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    for (const label of ["Name", "URL"]) {
      const field = dialog.getByLabel(label, { exact: true });
      await until(async () => (await field.getAttribute("aria-invalid")) === "true");
      const describedBy = (await field.getAttribute("aria-describedby"))!.split(" ");
      const message = dialog.locator(`[id="${describedBy[describedBy.length - 1]}"]`);
      expect((await message.textContent())!.length).toBeGreaterThan(3);
    }
    const events = dialog.getByRole("group", { name: "Events" });
    expect(await events.getAttribute("aria-invalid")).toBe("true");
    expect(await events.locator(".field-error").textContent()).toBeTruthy();

    // Editing a field takes its message away; the server judges it again on Add.
    await dialog.getByLabel("Name", { exact: true }).fill(HOOK);
    expect(await dialog.getByLabel("Name", { exact: true }).getAttribute("aria-invalid")).toBeNull();
    expect(await dialog.getByLabel("URL", { exact: true }).getAttribute("aria-invalid")).toBe("true");

    // A plain-http URL is refused by the server, and the message sits under the URL field.
    await dialog.getByLabel("URL", { exact: true }).fill("http://example.com/hooks");
    await dialog.getByLabel("requirement.created", { exact: true }).check();
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await until(async () => (await dialog.getByLabel("Name", { exact: true }).getAttribute("aria-invalid")) === null);
    const url = dialog.getByLabel("URL", { exact: true });
    await until(async () => (await url.getAttribute("aria-invalid")) === "true");
    const urlError = dialog.locator(`[id="${(await url.getAttribute("aria-describedby"))!.split(" ").pop()}"]`);
    expect(await urlError.textContent()).toMatch(/https/i);
    await screenshot(page, "add-dialog-errors");
  });

  it("adds a webhook through the dialog", async () => {
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.getByLabel("URL", { exact: true }).fill(`${receiver.url}/hooks/hookline`);
    await dialog.getByLabel("test-run.completed", { exact: true }).check();
    await dialog.getByRole("button", { name: "Generate" }).click();
    expect(await dialog.getByLabel("Secret", { exact: true }).inputValue()).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    expect(await dialog.getByRole("switch", { name: "Enabled" }).isChecked()).toBe(true);
    // Select all is tri-state.
    expect(await isIndeterminate(dialog.getByLabel("Select all"))).toBe(true);
    // An event type's example payload, on demand: the delivery body with the catalog's example subject.
    const showExample = dialog.getByRole("button", { name: "Show example of test-run.completed", exact: true });
    expect(await showExample.getAttribute("aria-expanded")).toBe("false");
    await showExample.click();
    const example = dialog.getByRole("region", { name: "Example payload of test-run.completed" });
    await example.waitFor();
    expect(await showExample.getAttribute("aria-expanded")).toBe("true");
    expect(await example.textContent()).toMatch(/"event": "test-run.completed"[\s\S]*"subject": \{[\s\S]*"id": "TR-7"/);
    await screenshot(page, "add-dialog");
    await showExample.click();
    await example.waitFor({ state: "detached" });
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await dialog.waitFor({ state: "detached" });

    const row = page.getByRole("row").filter({ hasText: HOOK });
    await row.waitFor();
    expect(await row.getByRole("cell").nth(1).textContent()).toContain(receiver.url);
    expect(await row.textContent()).toContain("requirement.created");
    expect(await row.textContent()).toContain("Enabled");
    expect(await row.textContent()).toContain("No deliveries yet");
    await page.getByText("1 of 5 active").waitFor();
    // Focus went back to the button that opened the dialog.
    expect(await isFocused(page.getByRole("button", { name: "Add Webhook" }))).toBe(true);
  });

  it("shows a published event's attempt in the log without a refresh, and expands it to the request and response", async () => {
    await page.getByRole("link", { name: `Open ${HOOK}` }).click();
    await page.getByRole("heading", { name: HOOK, level: 1 }).waitFor();
    await page.getByText("Enabled", { exact: true }).waitFor();
    await page.getByText("No deliveries yet").waitFor();

    const published = await server.api("POST", `/api/v1/projects/${PROJECT}/events`, {
      event: "requirement.created",
      subject: { id: "REQ-42", title: "Login works with SSO", tags: ["auth", "sso"] },
    });
    expect(published.status).toBe(202);
    const started = Date.now();
    const entry = logEntries().first();
    await entry.getByRole("img", { name: "Succeeded" }).waitFor({ timeout: 6000 });
    expect(Date.now() - started).toBeLessThan(6000);
    const summary = await entry.textContent();
    expect(summary).toContain("requirement.created");
    expect(summary).toContain("Attempt 1");
    expect(summary).toContain("200");
    expect(summary).toMatch(/\d+ ms/);
    // Locale date, exact instant on hover.
    const time = entry.locator("time");
    expect(await time.getAttribute("title")).toMatch(/\d{1,2}:\d{2}:\d{2}\.\d{3}/);

    const toggle = entry.getByRole("button", { name: "Show details" });
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    await toggle.click();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    await entry.getByRole("heading", { name: "Request" }).waitFor();
    await entry.getByText(`${receiver.url}/hooks/hookline`).waitFor();
    const text = (await entry.textContent())!;
    expect(text).toContain("POST");
    expect(text).toMatch(/hookline-event\s*requirement\.created/i);
    expect(text).toMatch(/webhook-signature/i);
    await entry.getByRole("heading", { name: "Response" }).waitFor();
    expect(text).toContain("Status 200");
    // Bodies are pretty-printed JSON.
    const requestBody = await entry.locator("pre").first().textContent();
    expect(requestBody).toContain('"title": "Login works with SSO"');
    expect(requestBody).toContain('\n  "event": "requirement.created"');
    expect(await entry.locator("pre").nth(1).textContent()).toContain('"received": true');
    await entry.getByRole("button", { name: "Redeliver" }).waitFor();

    // What the receiver got matches what the log shows.
    const [req] = await receiver.waitFor(1);
    expect(req.headers["hookline-event"]).toBe("requirement.created");
    expect(JSON.parse(req.body).subject.id).toBe("REQ-42");

    // The chart counts it.
    await until(async () => /1 succeeded/.test((await page.getByRole("region", { name: "Last 24 hours" }).textContent()) ?? ""));
    await screenshot(page, "detail-expanded", true);
  });

  it("asks before sending a test event, then shows its attempt", async () => {
    receiver.clear();
    await page.getByRole("button", { name: "Test", exact: true }).click();
    let dialog = page.getByRole("dialog", { name: "Send a test event" });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(receiver.requests).toHaveLength(0);

    await page.getByRole("button", { name: "Test", exact: true }).click();
    dialog = page.getByRole("dialog", { name: "Send a test event" });
    await screenshot(page, "test-dialog");
    await dialog.getByRole("button", { name: "Test", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    const [req] = await receiver.waitFor(1);
    expect(req.headers["hookline-event"]).toBe("test-event");
    const newest = logEntries().first();
    await until(async () => ((await newest.textContent()) ?? "").includes("test-event"), 5000);
    expect(await logEntries().count()).toBe(2);
  });

  it("shows a failed attempt with its status, and Redeliver sends it again", async () => {
    receiver.respondWith({ status: 503, body: "maintenance" });
    await page.getByRole("button", { name: "Test", exact: true }).click();
    await page.getByRole("dialog", { name: "Send a test event" }).getByRole("button", { name: "Test", exact: true }).click();
    const failed = logEntries().first();
    await failed.getByRole("img", { name: "Failed" }).waitFor({ timeout: 6000 });
    expect(await failed.textContent()).toContain("503");

    receiver.respondWith({ status: 200, body: "ok" });
    receiver.clear();
    await failed.getByRole("button", { name: "Show details" }).click();
    await failed.getByText("maintenance").waitFor();
    await failed.getByRole("button", { name: "Redeliver" }).click();
    await receiver.waitFor(1);
    await until(async () => ((await logEntries().first().textContent()) ?? "").includes("Redelivery"), 5000);
    await logEntries().first().getByRole("img", { name: "Succeeded" }).waitFor();
  });

  it("edits fields with the pencil buttons, showing the server's message next to the field", async () => {
    await page.getByRole("button", { name: "Edit URL" }).click();
    const input = page.getByLabel("URL", { exact: true });
    expect(await isFocused(input)).toBe(true);
    await input.fill("https://user:pass@example.com/hook");
    await page.getByRole("button", { name: "Save" }).click();
    await until(async () => (await input.getAttribute("aria-invalid")) === "true");
    expect(await page.locator(`[id="${(await input.getAttribute("aria-describedby"))!.split(" ").pop()}"]`).textContent()).toBeTruthy();
    // Escape cancels and gives focus back to the pencil.
    await input.press("Escape");
    await page.getByRole("button", { name: "Edit URL" }).waitFor();
    expect(await isFocused(page.getByRole("button", { name: "Edit URL" }))).toBe(true);

    await page.getByRole("button", { name: "Edit Name" }).click();
    await page.getByLabel("Name", { exact: true }).fill(`${HOOK} (prod)`);
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: `${HOOK} (prod)`, level: 1 }).waitFor();
    // …and the Undo of the confirmation toast restores it.
    await page.getByRole("button", { name: "Undo" }).click();
    await page.getByRole("heading", { name: HOOK, level: 1 }).waitFor();

    await page.getByRole("button", { name: "Edit Events" }).click();
    await page.getByLabel("test-result.created", { exact: true }).check();
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("button", { name: "Edit Events" }).waitFor();
    const id = await webhookId(HOOK);
    const hook = await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${id}`);
    expect([...hook.body.events].sort()).toEqual(["requirement.created", "test-result.created", "test-run.completed"]);

    // The secret is masked, and revealed on request.
    const secret = await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${id}/secret`);
    expect(await page.getByText(secret.body.secret).count()).toBe(0);
    await page.getByRole("button", { name: "Reveal" }).click();
    await page.getByText(secret.body.secret).waitFor();
  });

  it("disables and enables through the More actions menu, driven by the keyboard", async () => {
    const more = page.getByRole("button", { name: "More actions" });
    await more.focus();
    await page.keyboard.press("Enter");
    const menu = page.getByRole("menu");
    await menu.waitFor();
    expect(await isFocused(menu.getByRole("menuitem", { name: "Disable" }))).toBe(true);
    await page.keyboard.press("ArrowDown");
    expect(await isFocused(menu.getByRole("menuitem", { name: "Recover" }))).toBe(true);
    await page.keyboard.press("ArrowDown");
    expect(await isFocused(menu.getByRole("menuitem", { name: "Signing key" }))).toBe(true);
    await page.keyboard.press("ArrowDown");
    expect(await isFocused(menu.getByRole("menuitem", { name: "Delete" }))).toBe(true);
    await page.keyboard.press("ArrowDown");
    expect(await isFocused(menu.getByRole("menuitem", { name: "Disable" }))).toBe(true);
    await screenshot(page, "more-actions-menu");
    await page.keyboard.press("Escape");
    await menu.waitFor({ state: "detached" });
    expect(await isFocused(more)).toBe(true);

    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Disable webhook" });
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Disable" }).click();
    await dialog.waitFor({ state: "detached" });
    await page.getByText("Disabled", { exact: true }).first().waitFor();

    await openMoreActions("Enable");
    const enable = page.getByRole("dialog", { name: "Enable webhook" });
    await enable.getByText("0 of 5 active").waitFor();
    await enable.getByRole("button", { name: "Enable" }).click();
    await enable.waitFor({ state: "detached" });
    await page.getByText("Enabled", { exact: true }).waitFor();
    const id = await webhookId(HOOK);
    expect((await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${id}`)).body.enabled).toBe(true);
  });

  it("explains the active limit where it bites, and enforces it", async () => {
    for (let i = 2; i <= 5; i++) {
      const res = await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, {
        name: `Endpoint ${i}`,
        // Only the last one hears milestone.completed: it is the one that fails later.
        events: i === 5 ? ["milestone.completed"] : ["issue.created", "issue.updated"],
        url: `${receiver.url}/endpoint-${i}`,
      });
      expect(res.status).toBe(201);
    }
    await page.getByRole("link", { name: "Webhooks", exact: true }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await page.getByText("5 of 5 active").waitFor();
    await page.getByText(/limit is reached/).waitFor();

    await page.getByRole("button", { name: "Add Webhook" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.getByText(/5 of 5 active webhooks are in use/).waitFor();
    await dialog.getByLabel("Name", { exact: true }).fill("One too many");
    await dialog.getByLabel("URL", { exact: true }).fill(`${receiver.url}/six`);
    await dialog.getByLabel("Select all").check();
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    const enabled = dialog.getByRole("switch", { name: "Enabled" });
    await until(async () => (await enabled.getAttribute("aria-invalid")) === "true");
    const message = await dialog.locator(`[id="${(await enabled.getAttribute("aria-describedby"))!.split(" ").pop()}"]`).textContent();
    expect(message).toMatch(/5/);
    await screenshot(page, "add-dialog-limit");

    // Added disabled instead, it fits.
    await enabled.uncheck();
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await dialog.waitFor({ state: "detached" });
    const row = page.getByRole("row").filter({ hasText: "One too many" });
    await row.getByText("Disabled", { exact: true }).waitFor();
    await page.getByText("5 of 5 active").waitFor();
    await screenshot(page, "overview");
  });

  it("tells the owner through the bell when Hookline disables a failing webhook", async () => {
    receiver.respondWith({ status: 500, body: "down" });
    const id = await webhookId("Endpoint 5");
    await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "milestone.completed", subject: { id: "M-1" } });
    const bell = page.getByRole("button", { name: "Notifications" });
    // 1 attempt + 3 retries 0.2 s apart, then the bell's next poll.
    await until(
      async () => /1 unread/.test((await bell.getAttribute("aria-describedby").then((d) => page.locator(`[id="${d}"]`).textContent())) ?? ""),
      15_000,
    );
    const row = page.getByRole("row").filter({ hasText: "Endpoint 5" });
    await row.getByText("Disabled after failures").waitFor();
    await bell.click();
    const panel = page.getByRole("dialog", { name: "Notifications" });
    const link = panel.getByRole("link").first();
    await link.waitFor();
    await screenshot(page, "notifications");
    await link.click();
    expect(new URL(page.url()).pathname).toBe(`/projects/${PROJECT}/webhooks/${id}`);
    await page.getByRole("heading", { name: "Endpoint 5", level: 1 }).waitFor();
    await page.getByText("Disabled after failures").first().waitFor();
    await until(async () => (await logEntries().count()) === 4);
    receiver.respondWith({ status: 200 });

    // Enabling it again offers to recover what it missed, from the time it was disabled: here an
    // event published while it was off.
    const disabledAt = (await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${id}`)).body.disabled_at as string;
    await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "milestone.completed", subject: { id: "M-2" } });
    await openMoreActions("Enable");
    const enable = page.getByRole("dialog", { name: "Enable webhook" });
    await enable.getByRole("button", { name: "Enable" }).click();
    const offer = page.getByRole("dialog", { name: "Recover" });
    await offer.waitFor();
    const since = await offer.getByLabel("Since").inputValue();
    // The field shows local time (Europe/Berlin) to the second; the disable time is in UTC.
    const sinceUtc = await page.evaluate((v) => new Date(v).toISOString(), since);
    expect(Math.abs(Date.parse(sinceUtc) - Date.parse(disabledAt))).toBeLessThan(1000);
    await screenshot(page, "recover-offer");
    await offer.getByRole("button", { name: "Recover", exact: true }).click();
    await offer.waitFor({ state: "detached" });
    await page.getByText("1 delivery queued").waitFor(); // M-2, published while it was off
    await until(async () => (await logEntries().count()) === 5);
  });

  it("deletes a webhook after a confirmation that warns about its log", async () => {
    await openMoreActions("Delete");
    const dialog = page.getByRole("dialog", { name: "Delete webhook" });
    const text = (await dialog.textContent())!;
    expect(text).toMatch(/log entries are deleted too/);
    expect(text).toMatch(/cannot be undone/);
    // Destructive: focus starts on Cancel.
    expect(await isFocused(dialog.getByRole("button", { name: "Cancel" }))).toBe(true);
    await screenshot(page, "delete-dialog");
    await dialog.getByRole("button", { name: "Delete" }).click();
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    await page.getByRole("row").filter({ hasText: "Endpoint 5" }).waitFor({ state: "detached" });
    expect((await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks`)).body.data).toHaveLength(5);
  });

  it("keeps focus inside dialogs and closes them with Escape", async () => {
    const opener = page.getByRole("button", { name: "Add Webhook" });
    await opener.click();
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.waitFor();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      expect(await containsFocus(dialog)).toBe(true);
    }
    await page.keyboard.press("Shift+Tab");
    expect(await containsFocus(dialog)).toBe(true);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await isFocused(opener)).toBe(true);
  });

  it("loads older attempts on Load more", async () => {
    const id = await webhookId(HOOK);
    for (let i = 0; i < 28; i++) {
      await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "test-run.completed", subject: { id: `RUN-${i}` } });
    }
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks/${id}`);
    await until(async () => (await logEntries().count()) >= 25, 15_000);
    await until(async () => {
      const n = await logEntries().count();
      if (n >= 31) return true;
      const more = page.getByRole("button", { name: "Load more" });
      if (await more.isVisible()) await more.click();
      return false;
    }, 20_000);
  });

  it("logged no console errors", () => {
    expect(errors).toEqual([]);
  });
});
