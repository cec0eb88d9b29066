/** Serves the built web UI: hashed assets cached for a year, index.html for every client route. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";

/**
 * The UI page's policy: scripts and styles from this origin only (the build emits no inline script;
 * React's style attributes need 'unsafe-inline' for styles), never framed, no <base> or plugins.
 */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
/** Everything else (JSON, assets, errors) is no document: it may load nothing and is never framed. */
const DEFAULT_CSP = "default-src 'none'; frame-ancestors 'none'";

/** Headers on every answer, the error answers included: no sniffing, no framing, no referrer. */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook("onSend", async (request, reply, payload) => {
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
    reply.header("x-frame-options", "DENY");
    reply.header("cross-origin-opener-policy", "same-origin");
    if (!reply.hasHeader("content-security-policy")) reply.header("content-security-policy", DEFAULT_CSP);
    // API answers are per token (secrets, portal tokens): no shared cache may keep them.
    if (request.url.startsWith("/api/v1/") && !reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
    return payload;
  });
}

export function uiRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web/dist");
}

export async function installUi(app: FastifyInstance): Promise<void> {
  const root = uiRoot();
  const index = path.join(root, "index.html");
  const hasUi = fs.existsSync(index);
  if (hasUi) {
    await app.register(fastifyStatic, {
      root,
      wildcard: false,
      cacheControl: false,
      index: false,
      setHeaders(res, file) {
        if (file.includes(`${path.sep}assets${path.sep}`)) res.setHeader("cache-control", "public, max-age=31536000, immutable");
        else res.setHeader("cache-control", "no-cache");
      },
    });
  }
  const sendIndex = async (_req: unknown, reply: import("fastify").FastifyReply) => {
    if (!hasUi) return reply.status(503).type("text/plain").send("The web UI is not built. Run `npm run build`.");
    reply.header("cache-control", "no-cache");
    reply.header("content-security-policy", UI_CSP);
    return reply.type("text/html").send(fs.createReadStream(index));
  };
  app.get("/", { schema: { hide: true } }, sendIndex);
  app.get("/portal", { schema: { hide: true } }, sendIndex);
  app.get("/*", { schema: { hide: true } }, async (req, reply) => {
    const p = req.url.split("?")[0];
    if (p === "/api" || p.startsWith("/api/")) return reply.callNotFound();
    if (hasUi && p !== "/" && fs.existsSync(path.join(root, path.normalize(p).replace(/^([/\\])+/, ""))) && !p.includes("..")) {
      return reply.sendFile(p.replace(/^\/+/, ""));
    }
    if (/\.[a-z0-9]+$/i.test(p)) return reply.callNotFound();
    return sendIndex(req, reply);
  });
}
