/**
 * The portal inside a host app's iframe (docs/host-apps.md, "Embedding the portal"): the link's
 * `embed`, `mode` and `accent`, the theme they give, and the postMessage channel to the host page.
 * The channel talks to the origins the server lists in /portal/embed.json only: it names one of them
 * as the target of every message (never "*"), and reads messages from the parent window at one of
 * them only.
 */
import { readTokenMessage, type PortalMessage } from "../../../embed/protocol";
import { accentColours, parseHex, type Rgb } from "./contrast";

export interface EmbedOptions {
  embed: boolean;
  mode?: "light" | "dark" | "system";
  accent?: string;
}

const KEY = "hookline.portalLook";

/** Reads the look from a portal link's fragment (before the token is stripped from it), kept for reloads of the frame. */
export function takeEmbedOptionsFromHash(): EmbedOptions {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  if (params.has("token")) {
    const mode = params.get("mode");
    const accent = params.get("accent");
    const look: EmbedOptions = {
      embed: params.get("embed") === "1",
      mode: mode === "light" || mode === "dark" || mode === "system" ? mode : undefined,
      accent: accent && parseHex(accent) ? accent : undefined,
    };
    try {
      window.sessionStorage.setItem(KEY, JSON.stringify(look));
    } catch {
      // No storage: the look lasts for this page only.
    }
    return look;
  }
  try {
    const stored = JSON.parse(window.sessionStorage.getItem(KEY) ?? "null") as EmbedOptions | null;
    if (stored) return { embed: stored.embed === true, mode: stored.mode, accent: stored.accent && parseHex(stored.accent) ? stored.accent : undefined };
  } catch {
    // Unreadable: the default look.
  }
  return { embed: false };
}

// base.css's page and card backgrounds: the accent must read on them.
const LIGHT_BACKGROUNDS: Rgb[] = ["#f6f7f9", "#ffffff", "#f9fafb"].map((h) => parseHex(h)!);
const DARK_BACKGROUNDS: Rgb[] = ["#0d1117", "#161b22", "#1b212a"].map((h) => parseHex(h)!);

/** The colour scheme (light, dark, or the OS setting) and the accent, adjusted per scheme so text on and in it stays readable. */
export function applyTheme(look: EmbedOptions): void {
  const root = document.documentElement;
  if (look.embed) root.dataset.embed = "";
  if (look.mode === "light" || look.mode === "dark") root.dataset.theme = look.mode;
  const light = look.accent && accentColours(look.accent, "light", LIGHT_BACKGROUNDS);
  const dark = look.accent && accentColours(look.accent, "dark", DARK_BACKGROUNDS);
  if (!light || !dark) return;
  root.style.setProperty("--accent", `light-dark(${light.accent}, ${dark.accent})`);
  root.style.setProperty("--accent-hover", `light-dark(${light.hover}, ${dark.hover})`);
  root.style.setProperty("--on-accent", `light-dark(${light.onAccent}, ${dark.onAccent})`);
  root.style.setProperty("--accent-soft", `light-dark(${light.soft}, ${dark.soft})`);
}

/** How long the portal waits for the host's fresh token before it says that the link expired. */
const RENEW_TIMEOUT_MS = 60_000;
/** The host may have missed the first notice (still loading): it is repeated this often while waiting. */
const RENEW_REPEAT_MS = 5_000;

export interface HostChannel {
  post(message: PortalMessage): void;
  /** Asks the host for a fresh token; resolves true once one arrived, false after RENEW_TIMEOUT_MS. */
  renew(): Promise<boolean>;
  /** Starts the reports of the content's height. */
  reportHeight(): () => void;
}

/** The channel to the host page, or null when the portal is not framed or not an embedded session. */
export async function connectHost(look: EmbedOptions, onToken: (token: string) => void): Promise<HostChannel | null> {
  if (!look.embed || window.parent === window) return null;
  let origins: string[] = [];
  try {
    const res = await fetch("/portal/embed.json", { cache: "no-store" });
    origins = ((await res.json()) as { frame_ancestors?: string[] }).frame_ancestors ?? [];
  } catch {
    return null;
  }
  if (origins.length === 0) return null;

  const post = (message: PortalMessage) => {
    // Only the parent at one of these origins receives it; the browser drops the others.
    for (const origin of origins) window.parent.postMessage(message, origin);
  };
  let waiting: ((ok: boolean) => void)[] = [];
  window.addEventListener("message", (event) => {
    if (event.source !== window.parent || !origins.includes(event.origin)) return;
    const message = readTokenMessage(event.data);
    if (!message) return;
    onToken(message.token);
    for (const resolve of waiting) resolve(true);
    waiting = [];
  });

  let pending: Promise<boolean> | null = null;
  function renew(): Promise<boolean> {
    pending ??= new Promise<boolean>((resolve) => {
      const repeat = setInterval(() => post({ type: "hookline:session-expired" }), RENEW_REPEAT_MS);
      const timer = setTimeout(() => done(false), RENEW_TIMEOUT_MS);
      function done(ok: boolean) {
        clearInterval(repeat);
        clearTimeout(timer);
        pending = null;
        resolve(ok);
      }
      waiting.push(done);
      post({ type: "hookline:session-expired" });
    });
    return pending;
  }

  function reportHeight(): () => void {
    let last = -1;
    let frame = 0;
    const measure = () => {
      frame = 0;
      const root = document.getElementById("root");
      let height = root ? Math.ceil(root.getBoundingClientRect().height) : 0;
      // An open dialog must fit in the frame too: its header, whole body and footer, and a margin.
      for (const dialog of document.querySelectorAll<HTMLDialogElement>("dialog[open]")) {
        const natural = [...dialog.children].reduce((sum, el) => sum + el.scrollHeight, 0);
        height = Math.max(height, natural + 48);
      }
      if (height !== last) {
        last = height;
        post({ type: "hookline:resize", height });
      }
    };
    const schedule = () => {
      frame ||= requestAnimationFrame(measure);
    };
    const resize = new ResizeObserver(schedule);
    const root = document.getElementById("root");
    if (root) resize.observe(root);
    const mutations = new MutationObserver(() => {
      for (const dialog of document.querySelectorAll("dialog[open]")) resize.observe(dialog);
      schedule();
    });
    mutations.observe(document.body, { childList: true, subtree: true, attributes: true, attributeFilter: ["open"] });
    schedule();
    return () => {
      resize.disconnect();
      mutations.disconnect();
      cancelAnimationFrame(frame);
    };
  }

  return { post, renew, reportHeight };
}
