/**
 * The receiver options in the browser: the Add dialog's `Advanced` disclosure (Custom headers,
 * Authentication, Client certificate) creates a webhook whose deliveries carry them; a refused
 * header name shows next to its field; the detail page edits them and warns of a client certificate
 * that expires within 14 days. The Add dialog stays readable at 1280 px and 360 px: no event name
 * breaks mid-word and no `{ }` button wraps. Real `hookline serve`, real TLS receiver, Chromium.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClientCa, type Pem } from "../helpers/client-ca.js";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot, signIn } from "./support/browser.js";
import { horizontalOverflow } from "./support/dom.js";
import { ADMIN_TOKEN, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "acme";
let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
let cert: Pem;
let soon: Pem;

beforeAll(async () => {
  receiver = await startReceiver();
  const ca = await makeClientCa("E2E Client CA");
  [cert, soon] = await Promise.all([ca.client("acme-prod", 365), ca.client("acme-expiring", 5)]);
  server = await startServer({ ca: receiver.ca });
  expect((await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Acme" })).status).toBe(201);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await receiver?.close();
});

async function openWebhooks(width: number): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const opened = await newPage(browser, { width, height: 900 });
  await signIn(opened.page, server.url, ADMIN_TOKEN);
  await opened.page.goto(`${server.url}/projects/${PROJECT}/webhooks`);
  await opened.page.getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
  return opened;
}

/** Event labels whose text is cut or wrapped, and `{ }` buttons taller than one line. */
async function brokenLayout(page: Page): Promise<string[]> {
  // The root tsconfig has no DOM lib: page globals through globalThis, as in support/dom.ts.
  return page.getByRole("dialog", { name: "Add Webhook" }).evaluate((dialog) => {
    const g = globalThis as any;
    const problems: string[] = [];
    for (const label of dialog.querySelectorAll(".event-option label") as Iterable<any>) {
      const lineHeight = parseFloat(g.getComputedStyle(label).lineHeight) || 18;
      if (label.scrollWidth > label.clientWidth + 1) problems.push(`${label.textContent} is cut`);
      if (label.getBoundingClientRect().height > lineHeight * 1.5) problems.push(`${label.textContent} wraps`);
    }
    for (const button of dialog.querySelectorAll(".example-toggle") as Iterable<any>) {
      if (button.getBoundingClientRect().height > 24) problems.push(`${button.getAttribute("aria-label")} wraps`);
    }
    return problems;
  });
}

describe("receiver options in the UI", () => {
  it("keeps the Add dialog readable at 1280 px and 360 px", async () => {
    for (const width of [1280, 360]) {
      const { context, page } = await openWebhooks(width);
      await page.getByRole("button", { name: "Add Webhook" }).click();
      const dialog = page.getByRole("dialog", { name: "Add Webhook" });
      await dialog.getByRole("checkbox", { name: "milestone.completed" }).waitFor();
      await dialog.getByRole("button", { name: "Advanced" }).click();
      await dialog.getByLabel("Authentication").selectOption("oauth2_client_credentials");
      await dialog.getByRole("button", { name: "Add header" }).click();
      expect(await brokenLayout(page), `${width} px`).toEqual([]);
      expect(await horizontalOverflow(page), `${width} px`).toEqual([]);
      await screenshot(page, `add-dialog-advanced-${width}`, true);
      await context.close();
    }
  });

  it("adds a webhook with custom headers, a bearer token and a client certificate; deliveries carry them", async () => {
    const { context, page, errors } = await openWebhooks(1280);
    await page.getByRole("button", { name: "Add Webhook" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.getByLabel("Name").fill("Gateway");
    await dialog.getByLabel("URL").fill(`${receiver.url}/gateway`);
    await dialog.getByRole("checkbox", { name: "issue.created" }).check();
    await dialog.getByRole("button", { name: "Advanced" }).click();
    await dialog.getByRole("button", { name: "Add header" }).click();
    await dialog.getByLabel("Header name 1").fill("Host");
    await dialog.getByLabel("Header value 1").fill("evil.example");
    await dialog.getByLabel("Authentication").selectOption("bearer");
    await dialog.getByLabel("Token").fill("tok-from-the-ui");
    await dialog.getByLabel("Certificate (PEM)").fill(cert.cert);
    await dialog.getByLabel("Private key (PEM)").fill(cert.key);
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    // The server refuses Host; its message shows under Custom headers and nothing is created.
    await dialog.getByText(/"Host" is set by Hookline itself/).waitFor();
    await dialog.getByLabel("Header name 1").fill("X-Tenant");
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await dialog.waitFor({ state: "detached" });

    const list = await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks`);
    const hook = list.body.data.find((w: { name: string }) => w.name === "Gateway");
    expect(hook.headers).toEqual({ "X-Tenant": "evil.example" });
    expect(hook.auth).toEqual({ type: "bearer" });
    expect(hook.client_certificate.subject).toBe("CN=acme-prod, O=Hookline Tests");
    await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "issue.created", subject: { id: 1 } });
    const [req] = await receiver.waitFor(1);
    expect(req.headers["x-tenant"]).toBe("evil.example");
    expect(req.headers.authorization).toBe("Bearer tok-from-the-ui");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("edits the options on the detail page and warns of a certificate expiring within 14 days", async () => {
    const created = await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, {
      name: "Expiring",
      events: ["issue.created"],
      url: `${receiver.url}/expiring`,
      auth: { type: "basic", username: "ops", password: "pw" },
      client_certificate: soon,
    });
    expect(created.status).toBe(201);
    const { context, page, errors } = await openWebhooks(1280);
    await page.getByRole("link", { name: "Expiring" }).first().click();
    await page.getByRole("heading", { name: "Expiring", level: 1 }).waitFor();
    await page.getByRole("status").filter({ hasText: "The client certificate expires" }).waitFor();
    await page.getByRole("button", { name: "Advanced" }).click();
    await page.getByText("CN=acme-expiring, O=Hookline Tests", { exact: true }).waitFor();
    await screenshot(page, "detail-advanced", true);
    await page.getByLabel("Authentication").selectOption("");
    await page.getByRole("button", { name: "Remove", exact: true }).click();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByText("Advanced settings saved").waitFor();
    const after = await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${created.body.id}`);
    expect(after.body).toMatchObject({ auth: null, client_certificate: null });
    await expect.poll(() => page.getByText("The client certificate expires").count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });
});
