/**
 * Checks that run inside the page. The root tsconfig has no DOM lib (it types the server), so page
 * globals are reached through `globalThis` here, in one place.
 */
import type { Locator, Page } from "playwright-core";

export function isFocused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el === (globalThis as any).document.activeElement);
}

export function containsFocus(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => el.contains((globalThis as any).document.activeElement));
}

export function isIndeterminate(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) => (el as any).indeterminate === true);
}

export async function scrollToTop(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
}

/**
 * What sticks out of the viewport sideways: a page scrollbar, or any element whose box passes the
 * right edge (clipped by an `overflow: hidden` card it would still be cut off), except inside
 * containers meant to scroll sideways (code blocks).
 */
export function horizontalOverflow(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const g = globalThis as any;
    const root = g.document.documentElement;
    const vw: number = root.clientWidth;
    const out: string[] = [];
    if (root.scrollWidth > vw) out.push(`page scrollWidth ${root.scrollWidth} > ${vw}`);
    const scrollsSideways = (el: any): boolean => {
      for (let e = el; e && e !== g.document.body; e = e.parentElement) {
        const o = g.getComputedStyle(e).overflowX;
        if (o === "auto" || o === "scroll") return true;
      }
      return false;
    };
    for (const el of g.document.querySelectorAll("body *")) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.right > vw + 1 && !scrollsSideways(el.parentElement)) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}`);
    }
    return out.slice(0, 10);
  });
}
