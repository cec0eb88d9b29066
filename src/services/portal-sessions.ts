/**
 * Portal sessions: a token (and UI link) that sees only one project. The HTTP route
 * (POST …/portal-sessions), the library's `portalLink` and `hookline token` share this.
 */
import type { PortalLink } from "../api/schemas.js";
import { ValidationError } from "../domain/errors.js";
import type { Context } from "./context.js";
import { getProject } from "./projects.js";
import { mintPortalToken, type Role } from "./tokens.js";

export const PORTAL_TTL_MIN_SECONDS = 1;
export const PORTAL_TTL_MAX_SECONDS = 30 * 24 * 3600;

export async function createPortalSession(
  ctx: Context,
  secretKey: string,
  projectId: string,
  opts: { role?: Role; ttlSeconds?: number; publicUrl?: string } = {},
): Promise<PortalLink> {
  const role = opts.role ?? "admin";
  const ttl = opts.ttlSeconds ?? 3600;
  const errors = [];
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
    url: `${opts.publicUrl ?? ctx.config.publicUrl}/portal#token=${encodeURIComponent(token)}`,
    // The token carries whole seconds; report the instant it really stops working.
    expires_at: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString(),
  };
}
