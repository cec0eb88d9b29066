/**
 * Portal sessions: a token (and UI link) that sees only one project. The HTTP route
 * (POST …/portal-sessions), the library's `portalLink` and `hookline token` share this.
 */
import type { PortalLink } from "../api/schemas.js";
import { ValidationError, type FieldError } from "../domain/errors.js";
import type { Context } from "./context.js";
import { getProject } from "./projects.js";
import { mintPortalToken, type Role } from "./tokens.js";

export const PORTAL_TTL_MIN_SECONDS = 1;
export const THEME_MODES = ["light", "dark", "system"] as const;

/** How the portal looks: its colour scheme and the accent of its buttons and links (the UI keeps both readable). */
export interface PortalTheme {
  accent?: string;
  mode?: (typeof THEME_MODES)[number];
}

export interface PortalSessionOptions {
  role?: Role;
  ttlSeconds?: number;
  publicUrl?: string;
  /** Opened inside a host app's iframe: no top bar, and the postMessage protocol (docs/host-apps.md). */
  embed?: boolean;
  theme?: PortalTheme;
}

function themeErrors(theme: unknown): FieldError[] {
  if (theme === undefined) return [];
  if (theme === null || typeof theme !== "object" || Array.isArray(theme)) return [{ field: "theme", message: "must be an object {accent?, mode?}" }];
  const t = theme as Record<string, unknown>;
  const errors: FieldError[] = Object.keys(t)
    .filter((k) => k !== "accent" && k !== "mode")
    .map((k) => ({ field: `theme.${k}`, message: "is not a theme field (accent, mode)" }));
  if (t.accent !== undefined && (typeof t.accent !== "string" || !/^#[0-9a-f]{6}$/i.test(t.accent))) {
    errors.push({ field: "theme.accent", message: 'must be a colour written "#rrggbb", e.g. "#0e7490"' });
  }
  if (t.mode !== undefined && !THEME_MODES.includes(t.mode as PortalTheme["mode"] & string)) {
    errors.push({ field: "theme.mode", message: `must be one of ${THEME_MODES.map((m) => `"${m}"`).join(", ")}` });
  }
  return errors;
}

/** The portal reads these from the link's fragment, which (like the token) never reaches a server log. */
function linkFragment(token: string, opts: PortalSessionOptions): string {
  const params = new URLSearchParams({ token });
  if (opts.embed) params.set("embed", "1");
  if (opts.theme?.mode) params.set("mode", opts.theme.mode);
  if (opts.theme?.accent) params.set("accent", opts.theme.accent.toLowerCase());
  return params.toString();
}
export const PORTAL_TTL_MAX_SECONDS = 30 * 24 * 3600;

export async function createPortalSession(ctx: Context, secretKey: string, projectId: string, opts: PortalSessionOptions = {}): Promise<PortalLink> {
  const role = opts.role ?? "admin";
  const ttl = opts.ttlSeconds ?? 3600;
  const errors = themeErrors(opts.theme);
  if (opts.embed !== undefined && typeof opts.embed !== "boolean") errors.push({ field: "embed", message: "must be true or false" });
  if (role !== "admin" && role !== "viewer") errors.push({ field: "role", message: 'must be "admin" or "viewer"' });
  if (!Number.isInteger(ttl) || ttl < PORTAL_TTL_MIN_SECONDS || ttl > PORTAL_TTL_MAX_SECONDS) {
    errors.push({ field: "ttl_seconds", message: `must be whole seconds from ${PORTAL_TTL_MIN_SECONDS} to ${PORTAL_TTL_MAX_SECONDS} (30 days)` });
  }
  if (errors.length) throw new ValidationError(errors);
  const project = await getProject(ctx, projectId);
  const expiresAt = ctx.now() + ttl * 1000;
  const token = mintPortalToken(secretKey, { projectId: project.id, role, expiresAt });
  return {
    token,
    url: `${opts.publicUrl ?? ctx.config.publicUrl}/portal#${linkFragment(token, opts)}`,
    // The token carries whole seconds; report the instant it really stops working.
    expires_at: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString(),
  };
}
