/**
 * A host app's settings page that shows a project's webhooks with `mountPortal` from "hookline/embed".
 * Its server keeps the admin token and mints short embedded portal sessions; the page asks it for a
 * fresh one whenever the portal's expires (`onExpired`), so a page left open keeps working.
 *
 *   npx hookline serve --demo              # terminal 1 (--demo lets http://127.0.0.1:3100 frame the portal)
 *   node examples/embed-host/server.js     # terminal 2, then open http://127.0.0.1:3100
 *
 * `?mode=dark&accent=%230e7490` on the page's address picks the portal's theme. Environment:
 * HOOKLINE_URL (default http://localhost:8080), HOOKLINE_ADMIN_TOKEN (default: ./data/admin-token,
 * which `serve` writes), PROJECT (default demo), PORT (default 3100), SESSION_TTL seconds (default 900).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const hookline = (process.env.HOOKLINE_URL ?? "http://localhost:8080").replace(/\/$/, "");
const adminToken = process.env.HOOKLINE_ADMIN_TOKEN ?? readFileSync("data/admin-token", "utf8").trim();
const project = process.env.PROJECT ?? "demo";
const port = Number(process.env.PORT ?? 3100);
const ttl = Number(process.env.SESSION_TTL ?? 900);
// The package's browser module (in your app: import { mountPortal } from "hookline/embed" and bundle it).
const embedDir = dirname(fileURLToPath(import.meta.resolve("hookline/embed")));

/** An embedded portal session for the signed-in user's project (your app checks who may see it). */
async function mintSession(theme) {
  const res = await fetch(`${hookline}/api/v1/projects/${encodeURIComponent(project)}/portal-sessions`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ role: "admin", ttl_seconds: ttl, embed: true, theme }),
  });
  if (!res.ok) throw new Error(`Hookline answered ${res.status}: ${await res.text()}`);
  return (await res.json()).url;
}

function themeOf(url) {
  const mode = url.searchParams.get("mode");
  const accent = url.searchParams.get("accent");
  return { ...(mode ? { mode } : {}), ...(accent ? { accent } : {}) };
}

/** A value as a JavaScript literal inside a <script> element. */
const js = (value) => JSON.stringify(value).replace(/</g, "\\u003c");

function page(url, theme) {
  const dark = theme.mode === "dark";
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Project settings · Webhooks — Example app</title>
    <style>
      body { margin: 0; font: 15px/1.5 system-ui, sans-serif; background: ${dark ? "#0b0f14" : "#eef0f3"}; color: ${dark ? "#e6edf3" : "#1f2328"}; }
      header { padding: 14px 24px; background: ${dark ? "#161b22" : "#24292f"}; color: #fff; font-weight: 600; }
      main { max-width: 1000px; margin: 0 auto; padding: 16px; }
      h1 { font-size: 20px; margin: 8px 0 12px; }
      #portal-path { overflow-wrap: anywhere; }
    </style>
  </head>
  <body>
    <header>Example app</header>
    <main aria-label="Project settings">
      <h1>Project settings → Webhooks</h1>
      <div id="webhooks"></div>
      <p id="portal-path"></p>
    </main>
    <script type="module">
      import { mountPortal } from "/hookline-embed/index.js";
      const theme = ${js(JSON.stringify(theme))};
      window.portal = mountPortal(document.getElementById("webhooks"), {
        url: ${js(url)},
        // The session expired: ask this app's server for a fresh one (it checks the user's rights again).
        onExpired: async () => (await (await fetch("/portal-session", { method: "POST", body: theme })).json()).url,
        onNavigate: (path) => (document.getElementById("portal-path").textContent = "Portal page: " + path),
      });
    </script>
  </body>
</html>`;
}

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (req.method === "GET" && url.pathname === "/") {
      const theme = themeOf(url);
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page(await mintSession(theme), theme));
    } else if (req.method === "POST" && url.pathname === "/portal-session") {
      let body = "";
      for await (const chunk of req) body += chunk;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ url: await mintSession(JSON.parse(body || "{}")) }));
    } else if (req.method === "GET" && /^\/hookline-embed\/[a-z-]+\.js$/.test(url.pathname)) {
      const file = readFileSync(`${embedDir}/${url.pathname.slice("/hookline-embed/".length)}`);
      res.writeHead(200, { "content-type": "text/javascript" }).end(file);
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  } catch (err) {
    res.writeHead(502, { "content-type": "text/plain" }).end(String(err.message));
  }
});

server.listen(port, "127.0.0.1", () => {
  const { port: bound } = server.address();
  console.log(`Example host app: http://127.0.0.1:${bound}/ (embedding project "${project}" of ${hookline})`);
});
