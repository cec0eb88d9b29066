/**
 * The embedded portal's accent comes from the host app: whatever "#rrggbb" it sends, links in the
 * accent read at 4.5:1 (WCAG AA) on the page, the cards and the accent's tint, and the text on
 * accent-filled buttons reads at 4.5:1 on both the accent and its hover shade, in both schemes.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { accentColours, contrast, parseHex, READABLE, type Rgb } from "../../web/src/lib/contrast.js";

// The page and card backgrounds of base.css, light and dark.
const LIGHT: Rgb[] = [parseHex("#f6f7f9")!, parseHex("#ffffff")!, parseHex("#f9fafb")!];
const DARK: Rgb[] = [parseHex("#0d1117")!, parseHex("#161b22")!, parseHex("#1b212a")!];

describe("accent colours", () => {
  it("computes contrast as WCAG does", () => {
    expect(contrast([0, 0, 0], [255, 255, 255])).toBeCloseTo(21, 5);
    expect(contrast(parseHex("#777777")!, [255, 255, 255])).toBeCloseTo(4.48, 2);
    expect(contrast(parseHex("#4f46e5")!, [255, 255, 255])).toBeGreaterThan(6);
  });

  it("keeps a readable accent as it is, and adjusts an unreadable one", () => {
    expect(accentColours("#1d4ed8", "light", LIGHT)!.accent).toBe("#1d4ed8");
    expect(accentColours("#ffd400", "light", LIGHT)!.accent).not.toBe("#ffd400");
    expect(accentColours("#1d1d6b", "dark", DARK)!.accent).not.toBe("#1d1d6b");
    expect(accentColours("red", "light", LIGHT)).toBeNull();
  });

  it.each([
    ["light", LIGHT],
    ["dark", DARK],
  ] as const)("any accent reads at 4.5:1 in the %s scheme", (scheme, backgrounds) => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffff }), (n) => {
        const hex = "#" + n.toString(16).padStart(6, "0");
        const c = accentColours(hex, scheme, backgrounds)!;
        const [accent, hover, on, soft] = [c.accent, c.hover, c.onAccent, c.soft].map((h) => parseHex(h)!);
        for (const bg of [...backgrounds, soft]) expect(contrast(accent, bg), `${hex} on ${bg}`).toBeGreaterThanOrEqual(READABLE);
        expect(contrast(on, accent), `text on ${hex}`).toBeGreaterThanOrEqual(READABLE);
        expect(contrast(on, hover), `text on ${hex} hovered`).toBeGreaterThanOrEqual(READABLE);
      }),
      { numRuns: 2000 },
    );
  });
});
