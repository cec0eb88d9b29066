/**
 * The embedded portal in a real host page: examples/embed-host (another origin, another port) mounts
 * it with `mountPortal` from hookline/embed. The frame follows the portal's height, an expired session
 * is renewed through `onExpired` without a reload, a page of an origin that is not allowed gets a
 * blocked frame, and messages of a foreign origin change nothing on either side.
 * UPDATE_DOCS_IMAGES=1 also writes the screenshots of docs/images/.
 */
import { copyFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Browser, BrowserContext, Frame, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot } from "./support/browser.js";
import { startExampleHost, startPageServer, type HostApp } from "./support/embed-host.js";
import { startReactSampleHost } from "./support/react-sample.js";
import { freePort, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "acme";

let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
let host: HostApp;
let shortHost: HostApp;
let strangerHost: HostApp;
let reactPort: number;
const stops: Array<() => Promise<void>> = [];
const contexts: BrowserContext[] = [];
const errorLists: string[][] = [];

async function open(url: string, width = 1000): Promise<Page> {
  const { context, page, errors } = await newPage(browser, { width, height: 800 });
  contexts.push(context);
  errorLists.push(errors);
  await page.goto(url);
  return page;
}

/** The portal's frame once it shows the overview. */
async function portalFrame(page: Page): Promise<Frame> {
  await page.frameLocator("iframe[title=Webhooks]").getByRole("heading", { name: "Webhooks", level: 1 }).waitFor();
  return (await (await page.$("iframe[title=Webhooks]"))!.contentFrame())!;
}

const frameHeight = (page: Page) => page.$eval("iframe[title=Webhooks]", (el) => (el as any).getBoundingClientRect().height as number);

/** Whether the portal's page scrolls inside the frame (it must not: the frame is as tall as it). */
const innerScroll = (frame: Frame) => frame.evaluate(() => (globalThis as any).document.documentElement.scrollHeight - (globalThis as any).innerHeight);

async function addWebhook(frame: Frame, name: string): Promise<void> {
  await frame.getByRole("button", { name: "Add Webhook" }).click();
  const dialog = frame.getByRole("dialog", { name: "Add Webhook" });
  await dialog.getByLabel("Name", { exact: true }).fill(name);
  await dialog.getByLabel("URL", { exact: true }).fill(`${receiver.url}/${name.toLowerCase().replace(/\W+/g, "-")}`);
  await dialog.getByLabel("test-run.completed", { exact: true }).check();
  await dialog.getByRole("button", { name: "Add", exact: true }).click();
  await dialog.waitFor({ state: "detached" });
  await frame.getByRole("row").filter({ hasText: name }).waitFor();
}

beforeAll(async () => {
  receiver = await startReceiver({ respond: () => ({ status: 204 }) });
  const [port, shortPort] = [await freePort(), await freePort()];
  reactPort = await freePort();
  server = await startServer({
    ca: receiver.ca,
    env: { HOOKLINE_FRAME_ANCESTORS: `http://127.0.0.1:${port} http://127.0.0.1:${shortPort} http://127.0.0.1:${reactPort}` },
  });
  await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Acme" });
  await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, { name: "CI notifier", events: ["test-run.completed"], url: `${receiver.url}/ci` });
  host = await startExampleHost({ hookline: server.url, project: PROJECT, port });
  shortHost = await startExampleHost({ hookline: server.url, project: PROJECT, port: shortPort, ttlSeconds: 3 });
  strangerHost = await startExampleHost({ hookline: server.url, project: PROJECT });
  stops.push(host.stop, shortHost.stop, strangerHost.stop);
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  for (const stop of stops) await stop();
  await server?.stop();
  await receiver?.close();
});

describe("the embedded portal", () => {
  it("shows no top bar; a webhook added inside the frame makes the host's frame grow to fit, with no inner scrollbar", async () => {
    const page = await open(host.url);
    const frame = await portalFrame(page);
    expect(await frame.getByRole("button", { name: "Sign out" }).count()).toBe(0);
    expect(await frame.locator(".topbar").count()).toBe(0);
    await expect.poll(() => innerScroll(frame)).toBeLessThanOrEqual(0);
    const before = await frameHeight(page);

    // The Add dialog is taller than the short overview: the frame grows until all of it shows, inside
    // the frame and without a scrollbar of its own.
    await frame.getByRole("button", { name: "Add Webhook" }).click();
    const dialog = frame.getByRole("dialog", { name: "Add Webhook" });
    const dialogFits = async () => {
      const [d, f] = [await dialog.boundingBox(), await (await page.$("iframe[title=Webhooks]"))!.boundingBox()];
      const scrolls = await dialog.locator(".dialog-body").evaluate((el: any) => el.scrollHeight > el.clientHeight + 1);
      return !scrolls && d!.y >= f!.y && d!.y + d!.height <= f!.y + f!.height;
    };
    await expect.poll(dialogFits).toBe(true);
    await page.keyboard.press("Escape");
    await addWebhook(frame, "Release bot");
    await expect.poll(() => frameHeight(page)).toBeGreaterThan(before);
    await expect.poll(() => innerScroll(frame)).toBeLessThanOrEqual(0);

    // The portal reports its navigation to the host.
    await frame.getByRole("link", { name: "Open Release bot" }).click();
    await frame.getByRole("heading", { name: "Release bot", level: 1 }).waitFor();
    await page.getByText(/^Portal page: \/portal\/webhooks\/wh_/).waitFor();
    await expect.poll(() => innerScroll(frame)).toBeLessThanOrEqual(0);
    expect(errorLists.flat()).toEqual([]);
  });

  it("renews an expired session through onExpired without a reload, and the next action works", async () => {
    const page = await open(shortHost.url);
    const renewals: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith("/portal-session")) renewals.push(req.url());
    });
    const frame = await portalFrame(page);
    // Markers that a reload of the host page or of the frame would wipe out.
    await page.evaluate(() => ((globalThis as any).hostMarker = 1));
    await frame.evaluate(() => ((globalThis as any).portalMarker = 1));
    const firstToken = await frame.evaluate(() => (globalThis as any).sessionStorage.getItem("hookline.portalToken"));

    // The 3-second token expires; the host is asked for a fresh one.
    await expect.poll(() => renewals.length, { timeout: 15_000 }).toBeGreaterThanOrEqual(1);
    await expect.poll(() => frame.evaluate(() => (globalThis as any).sessionStorage.getItem("hookline.portalToken"))).not.toBe(firstToken);

    await addWebhook(frame, "After renewal");
    expect((await server.api("GET", `/api/v1/projects/${PROJECT}/webhooks`)).body.data.map((w: { name: string }) => w.name)).toContain("After renewal");
    expect(await page.evaluate(() => (globalThis as any).hostMarker)).toBe(1);
    expect(await frame.evaluate(() => (globalThis as any).portalMarker)).toBe(1);
    expect(await frame.getByRole("heading", { name: "This link has expired" }).count()).toBe(0);
    expect(errorLists.flat()).toEqual([]);
  });

  it("opened with an expired link, asks the host at its first refused request and goes on with the fresh token", async () => {
    const expired = (await server.api("POST", `/api/v1/projects/${PROJECT}/portal-sessions`, { embed: true, ttl_seconds: 1 })).body.url;
    await new Promise((r) => setTimeout(r, 2100));
    const page = await open(host.url);
    await portalFrame(page);
    const renewals: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith("/portal-session")) renewals.push(req.url());
    });
    // The page's own portal makes way for one mounted with the expired link. (A string: Vitest would
    // rewrite the dynamic import of a function.)
    await page.evaluate(`(async () => {
      portal.destroy();
      const { mountPortal } = await import(location.origin + "/hookline-embed/index.js");
      window.portal = mountPortal(document.getElementById("webhooks"), {
        url: ${JSON.stringify(expired)},
        onExpired: async () => (await (await fetch("/portal-session", { method: "POST", body: "{}" })).json()).url,
      });
    })()`);
    const frame = await portalFrame(page);
    await frame.getByRole("row").filter({ hasText: "CI notifier" }).waitFor();
    expect(renewals).toHaveLength(1);
    expect(await frame.getByRole("heading", { name: "This link has expired" }).count()).toBe(0);
  });

  it("is not shown in the page of an origin that HOOKLINE_FRAME_ANCESTORS does not list", async () => {
    const page = await open(strangerHost.url);
    const iframe = (await page.$("iframe[title=Webhooks]"))!;
    // Chromium replaces a frame that its CSP forbids with an error page.
    await expect.poll(async () => (await iframe.contentFrame())?.url()).toMatch(/^chrome-error:/);
    await page.waitForTimeout(500);
    expect(await page.frameLocator("iframe[title=Webhooks]").getByRole("heading", { name: "Webhooks" }).count()).toBe(0);
    expect(await page.getByText("Portal page:").count()).toBe(0);
  });

  it("ignores messages from a foreign origin, in the portal and in mountPortal", async () => {
    // A frame of another origin beside the portal in the host page: it can reach both windows.
    const foreign = await startPageServer(`<!doctype html><title>foreign</title><script>
      parent.frames[0].postMessage({ type: "hookline:token", token: "forged-token" }, "*");
      parent.postMessage({ type: "hookline:resize", height: 4321 }, "*");
      parent.postMessage({ type: "hookline:session-expired" }, "*");
      parent.postMessage({ type: "hookline:navigate", path: "/portal/forged" }, "*");
      document.title = "sent";
    </script>`);
    stops.push(foreign.stop);
    const page = await open(host.url);
    const renewals: string[] = [];
    page.on("request", (req) => {
      if (req.url().endsWith("/portal-session")) renewals.push(req.url());
    });
    const frame = await portalFrame(page);
    await expect.poll(() => innerScroll(frame)).toBeLessThanOrEqual(0);
    const token = await frame.evaluate(() => (globalThis as any).sessionStorage.getItem("hookline.portalToken"));
    const height = await frameHeight(page);

    await page.evaluate((src) => {
      const el = (globalThis as any).document.createElement("iframe");
      el.src = src;
      el.title = "foreign";
      (globalThis as any).document.body.appendChild(el);
    }, foreign.url);
    await expect
      .poll(async () =>
        page
          .frames()
          .find((f) => f.url().startsWith(foreign.url))
          ?.title(),
      )
      .toBe("sent");
    await page.waitForTimeout(500);

    expect(await frame.evaluate(() => (globalThis as any).sessionStorage.getItem("hookline.portalToken"))).toBe(token);
    expect(await frameHeight(page)).toBe(height);
    expect(renewals).toEqual([]);
    expect(await page.getByText("/portal/forged").count()).toBe(0);
    // The portal still works with its own token.
    await frame.getByRole("link", { name: "Open CI notifier" }).click();
    await frame.getByRole("heading", { name: "CI notifier", level: 1 }).waitFor();
  });

  it("the React sample of docs/host-apps.md type-checks against hookline/embed and mounts the portal", async () => {
    let minted = 0;
    const sample = await startReactSampleHost(reactPort, PROJECT, async () => {
      minted++;
      return (await server.api("POST", `/api/v1/projects/${PROJECT}/portal-sessions`, { embed: true, ttl_seconds: 600 })).body.url;
    });
    stops.push(sample.stop);
    expect(sample.typeErrors).toBe("");
    const page = await open(sample.url);
    const frame = await portalFrame(page);
    await frame.getByRole("row").filter({ hasText: "CI notifier" }).waitFor();
    await expect.poll(() => innerScroll(frame)).toBeLessThanOrEqual(0);
    expect(minted).toBe(1);
  });

  it.each(["light", "dark"] as const)("takes the session's theme (%s) and fits 360 px", async (mode) => {
    const page = await open(`${host.url}/?mode=${mode}&accent=%23f5c518`, 390);
    const frame = await portalFrame(page);
    expect(await frame.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.documentElement).colorScheme)).toBe(mode);
    const overflow = await frame.evaluate(() => (globalThis as any).document.documentElement.scrollWidth - (globalThis as any).innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    const wide = await open(`${host.url}/?mode=${mode}&accent=%230e7490`, 900);
    await portalFrame(wide);
    await expect.poll(async () => innerScroll(await portalFrame(wide))).toBeLessThanOrEqual(0);
    const shot = await screenshot(wide, `embedded-portal-${mode}`);
    if (process.env.UPDATE_DOCS_IMAGES === "1") copyFileSync(shot, resolve(import.meta.dirname, `../../docs/images/embedded-portal-${mode}.png`));
  });
});
