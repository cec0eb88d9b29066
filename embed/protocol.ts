/**
 * The messages between an embedded portal and its host page (docs/host-apps.md, "Embedding the
 * portal"). Both sides check the other's origin and window before reading a message, and name the
 * receiving origin when posting (never "*").
 */

/** Portal → host: the content's height in CSS pixels changed (the host sizes the iframe to it). */
export interface ResizeMessage {
  type: "hookline:resize";
  height: number;
}

/** Portal → host: the portal showed another page (`/portal/webhooks/wh_…`). */
export interface NavigateMessage {
  type: "hookline:navigate";
  path: string;
}

/** Portal → host: the token expired; answer with a `hookline:token` message. */
export interface SessionExpiredMessage {
  type: "hookline:session-expired";
}

/** Host → portal: a fresh portal token; the portal goes on with it, without a reload. */
export interface TokenMessage {
  type: "hookline:token";
  token: string;
}

export type PortalMessage = ResizeMessage | NavigateMessage | SessionExpiredMessage;

/** The message a portal posted, or null for anything else (other scripts post messages too). */
export function readPortalMessage(data: unknown): PortalMessage | null {
  if (!data || typeof data !== "object") return null;
  const m = data as Record<string, unknown>;
  if (m.type === "hookline:resize" && typeof m.height === "number" && Number.isFinite(m.height) && m.height >= 0) return { type: m.type, height: m.height };
  if (m.type === "hookline:navigate" && typeof m.path === "string") return { type: m.type, path: m.path };
  if (m.type === "hookline:session-expired") return { type: m.type };
  return null;
}

export function readTokenMessage(data: unknown): TokenMessage | null {
  if (!data || typeof data !== "object") return null;
  const m = data as Record<string, unknown>;
  return m.type === "hookline:token" && typeof m.token === "string" && m.token.length > 0 && m.token.length < 4096 ? { type: m.type, token: m.token } : null;
}
