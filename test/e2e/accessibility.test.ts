/**
 * Accessibility of every screen, with axe-core (@axe-core/playwright, WCAG 2.x A and AA rules):
 * zero serious or critical violations on the overview, the Add dialog, the detail page with an
 * expanded log entry, the event page, and the embedded portal in both themes. The violations of
 * every impact per screen go to test-results/e2e/axe.json (docs/accessibility.md quotes them).
 * Then keyboard only: add a webhook, open its log, and close every dialog with Escape, focus going
 * back to the control that opened it.
 */
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { AxeBuilder } from "@axe-core/playwright";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startReceiver, type Receiver } from "../helpers/receiver.js";
import { launchBrowser, newPage, screenshot, signIn } from "./support/browser.js";
import { startExampleHost, type HostApp } from "./support/embed-host.js";
import { ADMIN_TOKEN, freePort, startServer, type HooklineServer } from "./support/server.js";

const PROJECT = "acme";
const IMPACTS = ["minor", "moderate", "serious", "critical"] as const;
type Figures = Record<(typeof IMPACTS)[number], number> & { rulesPassed: number; rules: string[] };

let server: HooklineServer;
let receiver: Receiver;
let browser: Browser;
let host: HostApp;
let hookId: string;
let eventId: string;
const contexts: BrowserContext[] = [];
const figures: Record<string, Figures> = {};

async function open(opts: { width?: number } = {}): Promise<Page> {
  const { context, page } = await newPage(browser, opts);
  contexts.push(context);
  return page;
}

/** Runs axe on the page (frames included) and keeps its figures; returns the serious and critical ones. */
async function audit(page: Page, screen: string): Promise<string[]> {
  // A dialog fades in (0.14 s): measured mid-animation, its text's contrast is that of a half-transparent
  // layer. Finite animations only (the log's "Live" dot pulses forever); a cancelled one counts as done.
  await page.evaluate(() =>
    Promise.all(
      ((globalThis as any).document.getAnimations() as Array<{ effect: { getComputedTiming(): { endTime: number } } | null; finished: Promise<unknown> }>)
        .filter((a) => Number.isFinite(a.effect?.getComputedTiming().endTime ?? Infinity))
        .map((a) => a.finished.catch(() => undefined)),
    ),
  );
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]).analyze();
  const f: Figures = { minor: 0, moderate: 0, serious: 0, critical: 0, rulesPassed: result.passes.length, rules: [] };
  for (const v of result.violations) {
    f[(v.impact ?? "minor") as (typeof IMPACTS)[number]] += v.nodes.length;
    f.rules.push(`${v.id} (${v.impact}, ${v.nodes.length}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
  figures[screen] = f;
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

const focusedName = (page: Page) =>
  page.evaluate(() => {
    const el = (globalThis as any).document.activeElement;
    if (!el) return "";
    return String(el.getAttribute("aria-label") ?? el.labels?.[0]?.textContent ?? el.textContent ?? "").trim();
  });

/** Moves focus with Tab (only) until the focused element's name matches. */
async function tabTo(page: Page, name: string | RegExp, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const now = await focusedName(page);
    if (typeof name === "string" ? now === name : name.test(now)) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

beforeAll(async () => {
  receiver = await startReceiver({ respond: () => ({ status: 200, headers: { "content-type": "application/json" }, body: '{"ok":true}' }) });
  const hostPort = await freePort();
  server = await startServer({ ca: receiver.ca, env: { HOOKLINE_FRAME_ANCESTORS: `http://127.0.0.1:${hostPort}` } });
  await server.api("PUT", `/api/v1/projects/${PROJECT}`, { name: "Acme" });
  const created = await server.api("POST", `/api/v1/projects/${PROJECT}/webhooks`, {
    name: "CI notifier",
    events: ["test-run.completed", "issue.created"],
    url: `${receiver.url}/ci`,
    secret: "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0",
  });
  hookId = created.body.id;
  eventId = (await server.api("POST", `/api/v1/projects/${PROJECT}/events`, { event: "test-run.completed", subject: { id: "TR-1", passed: 3 } })).body.id;
  await receiver.waitFor(1);
  host = await startExampleHost({ hookline: server.url, project: PROJECT, port: hostPort });
  browser = await launchBrowser();
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await host?.stop();
  await server?.stop();
  await receiver?.close();
  const file = resolve(import.meta.dirname, "../../test-results/e2e/axe.json");
  writeFileSync(file, JSON.stringify(figures, null, 2));
  console.log(
    "axe violations (nodes) by impact:\n" +
      Object.entries(figures)
        .map(
          ([screen, f]) =>
            `  ${screen}: ${IMPACTS.map((i) => `${i} ${f[i]}`).join(", ")} (${f.rulesPassed} rules passed)${f.rules.length ? `\n    ${f.rules.join("\n    ")}` : ""}`,
        )
        .join("\n"),
  );
});

describe("axe: no serious or critical violations", () => {
  it("on the overview and the Add dialog", async () => {
    const page = await open();
    await signIn(page, server.url, ADMIN_TOKEN);
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks`);
    await page.getByRole("row").filter({ hasText: "CI notifier" }).waitFor();
    expect(await audit(page, "overview")).toEqual([]);
    await page.getByRole("button", { name: "Add Webhook" }).click();
    await page.getByRole("dialog", { name: "Add Webhook" }).waitFor();
    expect(await audit(page, "add dialog")).toEqual([]);
    // The admin pages follow the OS setting: the dark colours pass too.
    await page.keyboard.press("Escape");
    await page.emulateMedia({ colorScheme: "dark" });
    expect(await audit(page, "overview (dark OS setting)")).toEqual([]);
  });

  it("on the detail page with an expanded log entry, and on the event page", async () => {
    const page = await open();
    await signIn(page, server.url, ADMIN_TOKEN);
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks/${hookId}`);
    const entry = page.getByRole("list", { name: "Log" }).getByRole("listitem").first();
    await entry.getByRole("button", { name: "Show details" }).click();
    await entry.getByRole("heading", { name: "Response" }).waitFor();
    expect(await audit(page, "detail with expanded log entry")).toEqual([]);
    await page.goto(`${server.url}/projects/${PROJECT}/events/${eventId}`);
    await page.getByText("TR-1").first().waitFor();
    expect(await audit(page, "event page")).toEqual([]);
  });

  it.each(["light", "dark"] as const)("on the embedded portal, %s theme", async (mode) => {
    const page = await open();
    await page.emulateMedia({ colorScheme: mode === "light" ? "dark" : "light" }); // the session's theme wins over the OS
    await page.goto(`${host.url}/?mode=${mode}&accent=%23f5c518`);
    await page.frameLocator("iframe[title=Webhooks]").getByRole("row").filter({ hasText: "CI notifier" }).waitFor();
    expect(await audit(page, `embedded portal (${mode})`)).toEqual([]);
  });

  it("on the embedded portal's detail page at 360 px, dark theme", async () => {
    const page = await open({ width: 360 });
    await page.goto(`${host.url}/?mode=dark`);
    const frame = page.frameLocator("iframe[title=Webhooks]");
    await frame.getByRole("link", { name: "Open CI notifier" }).click();
    const entry = frame.getByRole("list", { name: "Log" }).getByRole("listitem").first();
    await entry.getByRole("button", { name: "Show details" }).click();
    await entry.getByRole("heading", { name: "Response" }).waitFor();
    expect(await audit(page, "embedded detail, 360 px (dark)")).toEqual([]);
    await screenshot(page, "embedded-detail-360-dark", true);
  });
});

describe("keyboard only", () => {
  it("adds a webhook, opens its log, and closes every dialog with Escape, focus returning to its opener", async () => {
    const page = await open();
    await signIn(page, server.url, ADMIN_TOKEN);
    await page.goto(`${server.url}/projects/${PROJECT}/webhooks`);
    await page.getByRole("row").filter({ hasText: "CI notifier" }).waitFor();

    // Add Webhook, then Escape: closed, focus back on the button.
    await tabTo(page, "Add Webhook");
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Add Webhook" });
    await dialog.waitFor();
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await focusedName(page)).toBe("Add Webhook");

    // Add one for real.
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    expect(await focusedName(page)).toBe("Name");
    await page.keyboard.type("Keyboard hook");
    await tabTo(page, /^test-run\.completed/);
    await page.keyboard.press("Space");
    await tabTo(page, "URL");
    await page.keyboard.type(`${receiver.url}/keyboard`);
    await tabTo(page, "Add");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("row").filter({ hasText: "Keyboard hook" }).waitFor();
    expect(await focusedName(page)).toBe("Add Webhook");

    // Its page and log.
    await tabTo(page, "Open Keyboard hook");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Keyboard hook", level: 1 }).waitFor();
    await tabTo(page, "Test");
    await page.keyboard.press("Enter");
    const test = page.getByRole("dialog", { name: "Send a test event" });
    await test.waitFor();
    await page.keyboard.press("Escape");
    await test.waitFor({ state: "detached" });
    expect(await focusedName(page)).toBe("Test");
    await page.keyboard.press("Enter");
    await test.waitFor();
    await tabTo(page, "Test");
    await page.keyboard.press("Enter");
    await test.waitFor({ state: "detached" });
    await page.getByRole("list", { name: "Log" }).getByRole("button", { name: "Show details" }).waitFor();
    await tabTo(page, "Show details", 200);
    await page.keyboard.press("Enter");
    await page.getByRole("list", { name: "Log" }).getByRole("heading", { name: "Response" }).waitFor();

    // Every dialog of the detail page: opened from its menu, closed with Escape, focus back on the menu's button.
    for (const [menu, item, title] of [
      ["More actions", "Disable", "Disable webhook"],
      ["More actions", "Recover", "Recover"],
      ["More actions", "Signing key", "Signing key"],
      ["More actions", "Delete", "Delete webhook"],
      ["Secret actions", "Rotate secret", "Rotate secret"],
    ]) {
      await page.getByRole("button", { name: menu }).focus(); // where the user had tabbed to
      await page.keyboard.press("Enter");
      await page.getByRole("menuitem", { name: item }).waitFor();
      while ((await focusedName(page)) !== item) await page.keyboard.press("ArrowDown");
      await page.keyboard.press("Enter");
      const d = page.getByRole("dialog", { name: title });
      await d.waitFor();
      await page.keyboard.press("Escape");
      await d.waitFor({ state: "detached" });
      expect(await focusedName(page), title).toBe(menu);
    }
  });
});
