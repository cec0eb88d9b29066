/**
 * The delivery policies in the browser: the Add dialog's `Advanced` disclosure holds `Filter` (with
 * `Try filter`, which asks the server whether the event type's example matches, and the server's
 * path-naming error next to the field), `Rate limit (per second)` and `Ordered delivery`; the detail
 * page's Edit form holds the same; the event page says "Not sent to <webhook>: filtered".
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot, signIn } from "./support/browser.js";
import { ADMIN_TOKEN, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "acme";
let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  receiver = await startReceiver();
  server = await startServer({ ca: receiver.ca });
  expect((await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Acme" })).status).toBe(201);
  browser = await launchBrowser();
  ({ context, page } = await newPage(browser));
});
afterAll(async () => {
  await context?.close();
  await browser?.close();
  await server?.stop();
  await receiver?.close();
});

describe("delivery policies in the UI", () => {
  it("adds a webhook with a filter, a rate limit and ordered delivery under Advanced; Try filter asks the server", async () => {
    await signIn(page, server.url, ADMIN_TOKEN);
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks`);
    await page.getByRole("button", { name: "Add Webhook" }).click();
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.getByLabel("Name", { exact: true }).fill("CI");
    await dialog.getByLabel("URL", { exact: true }).fill(`${receiver.url}/ci`);
    await dialog.getByLabel("test-run.completed", { exact: true }).check();
    await dialog.getByRole("button", { name: "Advanced" }).click();
    const filter = dialog.getByLabel("Filter", { exact: true });
    await filter.fill('{"subject": {"status": {"$gtx": 1}}}');
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await expect.poll(async () => filter.getAttribute("aria-invalid")).toBe("true");
    await dialog.getByText(/filter\.subject\.status\.\$gtx/).waitFor();

    const example = (await server.api("GET", "/api/v1/event-types")).body.data.find((t: { name: string }) => t.name === "test-run.completed").example;
    const [key, value] = Object.entries(example as Record<string, unknown>).find(([, v]) => typeof v === "string")!;
    await filter.fill(JSON.stringify({ [`subject.${key}`]: `${value as string}-never` }));
    await dialog.getByRole("button", { name: "Try filter" }).click();
    await dialog
      .getByRole("status")
      .getByText(/Does not match the example of test-run.completed/)
      .waitFor();
    await filter.fill(JSON.stringify({ [`subject.${key}`]: value }));
    await dialog.getByRole("button", { name: "Try filter" }).click();
    await dialog
      .getByRole("status")
      .getByText(/Matches the example of test-run.completed/)
      .waitFor();
    await dialog.getByLabel("Rate limit (per second)").fill("5");
    await dialog.getByRole("switch", { name: "Ordered delivery" }).check();
    await screenshot(page, "add-dialog-delivery-policies");
    await dialog.getByRole("button", { name: "Add", exact: true }).click();
    await dialog.waitFor({ state: "hidden" });
    const hook = (await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks`)).body.data[0];
    expect(hook).toMatchObject({ filter: { [`subject.${key}`]: value }, rate_limit: { per_second: 5 }, ordering: "fifo" });
  });

  it("edits the policies on the detail page, and the event page says why an event was not sent", async () => {
    const hook = (await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks`)).body.data[0];
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks/${hook.id}`);
    await page.getByRole("heading", { name: "CI", level: 1 }).waitFor();
    await page.getByRole("button", { name: "Advanced" }).click();
    await page.getByLabel("Filter", { exact: true }).fill('{"subject.status": "never-this"}');
    await page.getByLabel("Rate limit (per second)").fill("");
    await page.getByRole("button", { name: "Save", exact: true }).click();
    await expect
      .poll(async () => (await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${hook.id}`)).body.filter)
      .toEqual({ "subject.status": "never-this" });
    const saved = (await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks/${hook.id}`)).body;
    expect(saved).toMatchObject({ rate_limit: null, ordering: "fifo" });

    const evt = await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "test-run.completed", subject: { status: "passed" } });
    await page.goto(`${server.url}/projects/${PROJECT}/events/${evt.body.id}`);
    await page.getByText("Not sent to CI: filtered").waitFor();
    await screenshot(page, "event-not-sent");
  });
});
