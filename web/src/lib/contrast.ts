/**
 * Colour contrast as WCAG 2.x defines it: relative luminance of sRGB colours and the ratio between two.
 * The portal's accent comes from the host app, so any "#rrggbb" must still give readable buttons and
 * links: the accent is darkened (light scheme) or lightened (dark scheme) until text meets 4.5:1.
 */

export type Rgb = [number, number, number];

export function parseHex(hex: string): Rgb | null {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  return m ? [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)] : null;
}

export function toHex(rgb: Rgb): string {
  return (
    "#" +
    rgb
      .map((c) =>
        Math.round(Math.min(255, Math.max(0, c)))
          .toString(16)
          .padStart(2, "0"),
      )
      .join("")
  );
}

export function luminance([r, g, b]: Rgb): number {
  const lin = (c: number) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a: Rgb, b: Rgb): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** WCAG AA for normal text. */
export const READABLE = 4.5;

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** The colour nearest to `colour` on the way to `toward` (black or white) that reads at 4.5:1 on every background given. */
export function readableOn(colour: Rgb, backgrounds: Rgb[], toward: Rgb): Rgb {
  for (let t = 0; t <= 1; t += 0.02) {
    const c = mix(colour, toward, t).map(Math.round) as Rgb;
    if (backgrounds.every((bg) => contrast(c, bg) >= READABLE)) return c;
  }
  return toward;
}

/** Black or white text on a fill, whichever contrasts more (one of them always reaches 4.5:1). */
export function textOn(fill: Rgb): Rgb {
  return contrast(fill, [0, 0, 0]) >= contrast(fill, [255, 255, 255]) ? [0, 0, 0] : [255, 255, 255];
}

export interface AccentColours {
  accent: string;
  hover: string;
  onAccent: string;
  soft: string;
}

/**
 * The accent's colours for one scheme: `accent` reads at 4.5:1 as text on the page and card
 * backgrounds, `onAccent` at 4.5:1 on the accent as a fill, `hover` moves away from `onAccent` (so
 * the contrast only grows), `soft` is a faint tint behind accent text (icons, notices), which reads on it too.
 */
export function accentColours(hex: string, scheme: "light" | "dark", backgrounds: Rgb[]): AccentColours | null {
  const rgb = parseHex(hex);
  if (!rgb) return null;
  const soft = mix(backgrounds[0], rgb, 0.12).map(Math.round) as Rgb;
  const accent = readableOn(rgb, [...backgrounds, soft], scheme === "light" ? [0, 0, 0] : [255, 255, 255]);
  const on = textOn(accent);
  const hover = mix(accent, on[0] === 0 ? [255, 255, 255] : [0, 0, 0], 0.12).map(Math.round) as Rgb;
  return { accent: toHex(accent), hover: toHex(hover), onAccent: toHex(on), soft: toHex(soft) };
}
