/**
 * Security headers on every answer (helmet's, computed once) and the built web UI (@fastify/static): hashed
 * assets cached for a year, index.html for every client route, JSON 404s for everything else.
 */
import path from "node:path";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";
import helmet, { type HelmetOptions } from "helmet";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The UI page's policy: scripts and styles from this origin only (the build emits no inline script;
 * React's style attributes need 'unsafe-inline' for styles), never framed, no <base> or plugins.
 */
export const UI_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Where the portal's pages live: the only pages a host app may frame (docs/host-apps.md, "Embedding the portal"). */
export function isPortalPath(p: string): boolean {
  return p === "/portal" || p === "/portal/" || (p.startsWith("/portal/") && p !== "/portal/embed.json");
}

/**
 * The portal page's framing: the listed origins only. X-Frame-Options cannot name origins, and a
 * browser that knows CSP ignores it when `frame-ancestors` is present, but older proxies and scanners
 * read it: it is left out rather than left saying DENY beside a policy that allows framing.
 */
function allowFraming(reply: FastifyReply, frameAncestors: string[]): void {
  reply.header("content-security-policy", UI_CSP.replace("frame-ancestors 'none'", `frame-ancestors ${frameAncestors.join(" ")}`));
  reply.removeHeader("x-frame-options");
}

/**
 * Headers on every answer, the error answers included: no sniffing, no framing, no referrer, and a
 * policy that loads nothing (JSON, assets and errors are no documents; the UI page sets its own).
 * No HSTS: whoever terminates TLS in front of Hookline decides that for the whole domain.
 */
export async function installSecurityHeaders(app: FastifyInstance): Promise<void> {
  const headers = helmetHeaders({
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    referrerPolicy: { policy: "no-referrer" },
    frameguard: { action: "deny" },
    crossOriginOpenerPolicy: { policy: "same-origin" },
    strictTransportSecurity: false,
  });
  app.addHook("onRequest", (request, reply, done) => {
    // On the raw response, as helmet's middleware sets them: answers written past Fastify's reply
    // (static files, early errors) carry them too, and reply.removeHeader still takes one away.
    for (const [name, value] of headers) reply.raw.setHeader(name, value);
    // API answers are per token (secrets, portal tokens): no shared cache may keep them.
    if (request.url.startsWith("/api/v1/")) reply.header("cache-control", "no-store");
    done();
  });
}

/**
 * The headers helmet sets for these options. They depend on the options only (no nonces), so they
 * are worked out once by running helmet's middleware against a recorder; @fastify/helmet would build
 * that middleware anew, parsing the policy, for every request.
 */
function helmetHeaders(options: HelmetOptions): [string, string][] {
  const headers = new Map<string, string>();
  const recorder = {
    setHeader: (name: string, value: string | number) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  };
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return [...headers];
}

export function uiRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web/dist");
}

type NotFound = (request: FastifyRequest, reply: FastifyReply) => unknown;

/**
 * Serves the UI's files; what no file and no route answers goes to `notFound`, except client routes
 * (GET of a path outside /api without a file extension), which get index.html.
 */
export async function installUi(app: FastifyInstance, notFound: NotFound, frameAncestors: string[] = []): Promise<void> {
  const root = uiRoot();
  const index = path.join(root, "index.html");
  const built = fs.existsSync(index);
  if (built) {
    await app.register(fastifyStatic, {
      root,
      wildcard: true,
      index: false,
      cacheControl: false,
      setHeaders(res, file) {
        if (file.includes(`${path.sep}assets${path.sep}`)) res.setHeader("cache-control", "public, max-age=31536000, immutable");
        else res.setHeader("cache-control", "no-cache");
      },
    });
  }
  const sendIndex = (request: FastifyRequest, reply: FastifyReply) => {
    if (!built) return reply.status(503).type("text/plain").send("The web UI is not built. Run `npm run build`.");
    reply.header("cache-control", "no-cache");
    reply.header("content-security-policy", UI_CSP);
    if (frameAncestors.length && isPortalPath(request.url.split("?")[0])) allowFraming(reply, frameAncestors);
    return reply.type("text/html").send(fs.createReadStream(index));
  };
  // The embedded portal posts to, and accepts messages from, these origins only. It needs them before
  // its token is known to be good (an expired link must still say so to its host), so no auth: the
  // list is public anyway, in the portal page's CSP.
  app.get("/portal/embed.json", { schema: { hide: true } }, async (_request, reply) => {
    reply.header("cache-control", "no-cache");
    return { frame_ancestors: frameAncestors };
  });
  // "/" is the static root's directory, not a file: it gets the page without asking the file system.
  app.get("/", { schema: { hide: true } }, sendIndex);
  app.setNotFoundHandler((request, reply) => {
    const p = request.url.split("?")[0];
    const clientRoute = (request.method === "GET" || request.method === "HEAD") && p !== "/api" && !p.startsWith("/api/") && !/\.[a-z0-9]+$/i.test(p);
    return clientRoute ? sendIndex(request, reply) : notFound(request, reply);
  });
}
