/** Debian's Chromium through playwright-core (no downloaded browsers), and what every page test needs. */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { scrollToTop } from "./dom.js";

const SHOTS = resolve(import.meta.dirname, "../../../test-results/e2e");

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Console errors and uncaught exceptions of a page. Chromium also logs every 4xx answer as
 * "Failed to load resource"; those are expected (a validation error is a 422) and not collected.
 */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (/Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) return;
    errors.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => errors.push(`pageerror: ${err.message}`));
  return errors;
}

export async function newPage(
  browser: Browser,
  opts: { width?: number; height?: number } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 900 },
    locale: "en-US",
    timezoneId: "Europe/Berlin",
    colorScheme: "light",
  });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  return { context, page, errors: watchErrors(page) };
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(SHOTS, { recursive: true });
  const path = resolve(SHOTS, `${name}.png`);
  // A full-page shot of a scrolled page draws the sticky top bar mid-page.
  if (fullPage) await scrollToTop(page);
  // Toasts are fixed to the viewport and would float over the middle of a full-page shot.
  await page.screenshot({ path, fullPage, animations: "disabled", style: ".toasts { display: none !important; }" });
  return path;
}

/** The admin entry: type the token once. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(baseUrl + "/");
  await page.getByLabel("Admin token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects", exact: true }).waitFor();
}
