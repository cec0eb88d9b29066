/**
 * `hookline/embed`: shows a project's webhook screens inside a host app's page. Browser only, no
 * dependencies. The host's server mints an embedded portal session (`POST …/portal-sessions` with
 * `{embed: true}`) and hands its `url` to the page:
 *
 *   const portal = mountPortal(document.getElementById("webhooks")!, {
 *     url,
 *     onExpired: async () => (await fetch("/hookline-session", { method: "POST" }).then((r) => r.json())).url,
 *   });
 *
 * The iframe takes the portal's height (no inner scrollbar), and when the portal's token expires the
 * session is renewed through `onExpired` without reloading the frame. See docs/host-apps.md.
 */
import { readPortalMessage, type TokenMessage } from "./protocol.js";

export type { NavigateMessage, PortalMessage, ResizeMessage, SessionExpiredMessage, TokenMessage } from "./protocol.js";

export interface MountPortalOptions {
  /** The `url` of an embedded portal session. */
  url: string;
  /** Called when the portal's token expires: mint a new session on your server and return its `url`. */
  onExpired?: () => Promise<string>;
  /** Called with the portal's path (`/portal/webhooks/wh_…`) when the user moves to another page. */
  onNavigate?: (path: string) => void;
  /** The iframe's accessible name. Default "Webhooks". */
  title?: string;
  /** Height in CSS pixels until the portal reports its own. Default 480. */
  initialHeight?: number;
}

export interface MountedPortal {
  readonly iframe: HTMLIFrameElement;
  /** Removes the iframe and stops listening. */
  destroy(): void;
}

/** The token of a portal link (`…/portal#token=…&embed=1`). */
function tokenOf(url: URL): string | null {
  return new URLSearchParams(url.hash.replace(/^#/, "")).get("token");
}

export function mountPortal(element: HTMLElement, options: MountPortalOptions): MountedPortal {
  const start = new URL(options.url, window.location.href);
  // Messages are read from, and posted to, this origin only.
  const origin = start.origin;
  const iframe = document.createElement("iframe");
  iframe.src = start.href;
  iframe.title = options.title ?? "Webhooks";
  iframe.style.cssText = `display:block;width:100%;border:0;height:${options.initialHeight ?? 480}px`;
  element.appendChild(iframe);

  let renewing = false;
  async function renew(): Promise<void> {
    if (renewing || !options.onExpired) return;
    renewing = true;
    try {
      const next = new URL(await options.onExpired(), window.location.href);
      const token = tokenOf(next);
      if (next.origin !== origin || !token) throw new Error(`hookline/embed: onExpired must return a portal session url of ${origin}`);
      const message: TokenMessage = { type: "hookline:token", token };
      iframe.contentWindow?.postMessage(message, origin);
    } finally {
      renewing = false;
    }
  }

  function onMessage(event: MessageEvent): void {
    if (event.origin !== origin || event.source !== iframe.contentWindow) return;
    const message = readPortalMessage(event.data);
    if (!message) return;
    if (message.type === "hookline:resize") iframe.style.height = `${Math.ceil(message.height)}px`;
    else if (message.type === "hookline:navigate") options.onNavigate?.(message.path);
    // The portal says so again if it is still without a token, so a failed renewal is not final.
    else renew().catch((err: unknown) => console.error(err));
  }
  window.addEventListener("message", onMessage);

  return {
    iframe,
    destroy() {
      window.removeEventListener("message", onMessage);
      iframe.remove();
    },
  };
}
