/** Where tokens live: session storage, so closing the tab forgets them. */

const ADMIN_KEY = "hookline.adminToken";
const PORTAL_KEY = "hookline.portalToken";

function read(key: string): string | null {
  try {
    return window.sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string | null) {
  try {
    if (value === null) window.sessionStorage.removeItem(key);
    else window.sessionStorage.setItem(key, value);
  } catch {
    // Storage can be unavailable (private mode quotas); the session then lasts for this page only.
  }
}

export const adminToken = {
  get: () => read(ADMIN_KEY),
  set: (token: string) => write(ADMIN_KEY, token),
  clear: () => write(ADMIN_KEY, null),
};

export const portalToken = {
  get: () => read(PORTAL_KEY),
  set: (token: string) => write(PORTAL_KEY, token),
  clear: () => write(PORTAL_KEY, null),
};

/**
 * Reads `#token=…` from a portal link, keeps it in session storage and strips it from the address
 * bar (and so from history, bookmarks and screenshots of the URL).
 */
export function takePortalTokenFromHash(): void {
  const hash = window.location.hash.replace(/^#/, "");
  if (!hash) return;
  const token = new URLSearchParams(hash).get("token");
  if (token) portalToken.set(token);
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
}
