/**
 * The portal entry (admin and viewer links), the token prompt's refusals, and the 360 px layout.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot, signIn } from "./support/browser.js";
import { horizontalOverflow } from "./support/dom.js";
import { ADMIN_TOKEN, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "globex";

let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
const contexts: BrowserContext[] = [];
const errorLists: string[][] = [];
let hookId: string;

async function open(opts: { width?: number; height?: number } = {}): Promise<Page> {
  const { context, page, errors } = await newPage(browser, opts);
  contexts.push(context);
  errorLists.push(errors);
  return page;
}

async function portalLink(role: "admin" | "viewer"): Promise<string> {
  const res = await server.api("POST", `/api/v1/projects/${PROJECT}/portal-sessions`, { role, ttl_seconds: 600 });
  expect(res.status).toBe(200);
  return res.body.url;
}

async function noHorizontalOverflow(page: Page): Promise<void> {
  expect(await horizontalOverflow(page)).toEqual([]);
}

beforeAll(async () => {
  // /flaky fails, everything else succeeds: the log gets both kinds of entries.
  receiver = await startReceiver({
    respond: (req) =>
      req.path.startsWith("/flaky") ? { status: 500, body: "oops" } : { status: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' },
  });
  server = await startServer({ ca: receiver.ca });
  await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Globex QA" });
  await server.api("PUT", `/api/v1/projects/other`, { name: "Other project" });
  const created = await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, {
    name: "CI notifier",
    events: ["test-run.completed", "test-run.created", "issue.created"],
    url: `${receiver.url}/ci`,
    secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
  });
  expect(created.status).toBe(201);
  hookId = created.body.id;
  await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, {
    name: "Staging mirror with a rather long name for small screens",
    events: ["issue.created"],
    url: `${receiver.url}/flaky/a/very/long/path/that/does/not/fit/on/a/phone/screen?token=abcdef0123456789`,
    enabled: false,
  });
  for (const id of ["RUN-1", "RUN-2", "RUN-3"]) {
    await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "test-run.completed", subject: { id, passed: 41, failed: 1 } });
  }
  await receiver.waitFor(3);
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await server?.stop();
  await receiver?.close();
});

describe("portal entry", () => {
  it("opens a viewer link straight on the project's webhooks, read-only, and strips the token from the address bar", async () => {
    const page = await open();
    const link = await portalLink("viewer");
    await page.goto(link);
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    expect(page.url()).not.toContain("token");
    expect(new URL(page.url()).pathname).toBe("/portal");
    await page.getByText("View only").waitFor();
    await page.getByText("1 of 5 active").waitFor();
    await page.getByRole("row").filter({ hasText: "CI notifier" }).waitFor();
    expect(await page.getByRole("button", { name: "Add Webhook" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);

    await page.getByRole("link", { name: "Open CI notifier" }).click();
    await page.getByRole("heading", { name: "CI notifier", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/portal/webhooks/${hookId}`);
    const entry = page.getByRole("list", { name: "Log" }).getByRole("listitem").first();
    await entry.getByRole("button", { name: "Show details" }).click();
    await entry.getByRole("heading", { name: "Response" }).waitFor();
    for (const name of ["Test", "More actions", "Edit Name", "Edit Events", "Edit URL", "Edit Secret", "Redeliver", "Reveal"]) {
      expect(await page.getByRole("button", { name, exact: true }).count(), name).toBe(0);
    }
    // The token lives in session storage: a reload stays in the portal.
    await page.reload();
    await page.getByRole("heading", { name: "CI notifier", level: 1 }).waitFor();
  });

  it("lets a portal admin manage that project's webhooks", async () => {
    const page = await open();
    await page.goto(await portalLink("admin"));
    await page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
    expect(page.url()).not.toContain("token");
    await page.getByRole("button", { name: "Add Webhook" }).waitFor();
    await page.getByRole("link", { name: "Open CI notifier" }).click();
    await page.getByRole("button", { name: "Test", exact: true }).waitFor();
    await page.getByRole("button", { name: "Reveal" }).click();
    await page.getByText("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0").waitFor();
    // Nothing of another project is reachable from here.
    expect(await page.getByText("Other project").count()).toBe(0);
  });

  it("explains an expired or invalid portal link", async () => {
    const page = await open();
    await page.goto(`${server.url}/portal#token=not-a-real-token`);
    await page.getByRole("heading", { name: "This link has expired" }).waitFor();
    expect(page.url()).not.toContain("token");
  });

  it("refuses a wrong admin token on the admin entry, next to the field", async () => {
    const page = await open();
    await page.goto(server.url + "/");
    await page.getByLabel("Admin token").fill("definitely-not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByText("That token was not accepted").waitFor();
    expect(await page.getByLabel("Admin token").getAttribute("aria-invalid")).toBe("true");
  });
});

describe("projects", () => {
  it("creates a project, edits its settings and mints a portal link from the admin pages", async () => {
    const page = await open();
    await signIn(page, server.url, ADMIN_TOKEN);
    await page.getByRole("button", { name: "New project" }).click();
    const dialog = page.getByRole("dialog", { name: "New project" });
    await dialog.getByLabel("Project ID").fill("initech");
    await dialog.getByLabel("Project name").fill("Initech");
    await dialog.getByRole("button", { name: "Create project" }).click();
    await page.getByRole("heading", { name: "Initech", level: 1 }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/projects/initech");

    await page.getByLabel("Notification e-mails").fill("ops@initech.example, lumbergh@initech.example");
    await page.getByRole("button", { name: "Save changes" }).click();
    await expect
      .poll(async () => (await server.api("GET", "/api/v1/projects/initech")).body.notification_emails)
      .toEqual(["ops@initech.example", "lumbergh@initech.example"]);

    await page.getByLabel("Access").selectOption("viewer");
    await page.getByRole("button", { name: "Create link" }).click();
    const link = (await page.getByText("/portal#token=").textContent())!;
    expect(link.startsWith(`${server.url}/portal#token=`)).toBe(true);
  });
});

describe("360 px wide", () => {
  it("lays out the overview, the detail page with an expanded entry, and the add dialog without sideways scrolling", async () => {
    const page = await open({ width: 360, height: 780 });
    await signIn(page, server.url, ADMIN_TOKEN);
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks`);
    await page.getByRole("row").filter({ hasText: "CI notifier" }).waitFor();
    await page.getByText("1 of 5 active").waitFor();
    await noHorizontalOverflow(page);
    // Still a table for assistive tech, shown as cards.
    expect(await page.getByRole("table").count()).toBe(1);
    expect(await page.getByRole("button", { name: "Add Webhook" }).isVisible()).toBe(true);
    await screenshot(page, "mobile-overview", true);

    await page.getByRole("button", { name: "Add Webhook" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.waitFor();
    await noHorizontalOverflow(page);
    const box = (await dialog.boundingBox())!;
    expect(box.x).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width).toBeLessThanOrEqual(360);
    await screenshot(page, "mobile-add-dialog");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });

    await page.getByRole("link", { name: "Open CI notifier" }).click();
    await page.getByRole("heading", { name: "CI notifier", level: 1 }).waitFor();
    const entry = page.getByRole("list", { name: "Log" }).getByRole("listitem").first();
    await entry.getByRole("button", { name: "Show details" }).click();
    await entry.getByRole("heading", { name: "Response" }).waitFor();
    await noHorizontalOverflow(page);
    for (const name of ["Test", "More actions", "Show details"]) {
      const b = (await page.getByRole("button", { name, exact: true }).first().boundingBox())!;
      expect(b.x + b.width, name).toBeLessThanOrEqual(360);
    }
    await screenshot(page, "mobile-detail", true);
  });
});

describe("console", () => {
  it("logged no errors on any page", () => {
    expect(errorLists.flat()).toEqual([]);
  });
});
