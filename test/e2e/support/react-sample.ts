/**
 * The React sample of docs/host-apps.md ("// sample: embed react"), as a host app would ship it:
 * type-checked against the package's published types (`hookline/embed` resolved through package.json
 * "exports"), bundled by Vite with React, and served with the session route it calls.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { build } from "vite";
import type { HostApp } from "./embed-host.js";

const ROOT = resolve(import.meta.dirname, "../../..");

export function reactSample(): string {
  const doc = readFileSync(join(ROOT, "docs/host-apps.md"), "utf8");
  const found = /```tsx\n(\/\/ sample: embed react\n[\s\S]*?)```/.exec(doc);
  if (!found) throw new Error('no tsx block "// sample: embed react" in docs/host-apps.md');
  return found[1];
}

/** Type-checks and bundles the sample; serves it on `port` with a session route that mints embedded sessions through `mint`. */
export async function startReactSampleHost(port: number, projectId: string, mint: () => Promise<string>): Promise<HostApp & { typeErrors: string }> {
  // Inside the package (.tmp/ is ignored by git), so "hookline/embed" resolves to this package.
  mkdirSync(join(ROOT, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(ROOT, ".tmp", "embed-react-"));
  writeFileSync(join(dir, "sample.tsx"), reactSample());
  writeFileSync(
    join(dir, "main.tsx"),
    `import { createRoot } from "react-dom/client";\nimport { WebhooksSettings } from "./sample";\n` +
      `createRoot(document.getElementById("app")!).render(<WebhooksSettings projectId=${JSON.stringify(projectId)} />);\n`,
  );
  writeFileSync(
    join(dir, "index.html"),
    `<!doctype html><html lang="en"><title>Settings</title><main><h1>Settings</h1><div id="app"></div></main><script type="module" src="./main.tsx"></script></html>`,
  );
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        jsx: "react-jsx",
        strict: true,
        module: "ESNext",
        moduleResolution: "Bundler",
        target: "ES2022",
        lib: ["ES2022", "DOM"],
        types: [],
        noEmit: true,
      },
      include: ["*.tsx"],
    }),
  );
  const typeErrors = await promisify(execFile)(process.execPath, [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", dir], { cwd: dir }).then(
    () => "",
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  await build({
    root: dir,
    logLevel: "warn",
    configFile: false,
    mode: "production",
    // Vitest's NODE_ENV=test would otherwise give React's development JSX runtime.
    oxc: { jsx: { runtime: "automatic", importSource: "react", development: false } },
    define: { "process.env.NODE_ENV": '"production"' },
    build: { outDir: join(dir, "dist"), emptyOutDir: true },
  });
  const server = createServer((req, res) => {
    void (async () => {
      if (req.method === "POST" && req.url === `/api/projects/${encodeURIComponent(projectId)}/webhooks-session`) {
        return res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ url: await mint() }));
      }
      const file = req.url === "/" ? "index.html" : (req.url ?? "").replace(/^\/+/, "");
      if (!/^(index\.html|assets\/[\w.-]+)$/.test(file)) return res.writeHead(404).end();
      const type = file.endsWith(".js") ? "text/javascript" : file.endsWith(".css") ? "text/css" : "text/html";
      res.writeHead(200, { "content-type": type }).end(readFileSync(join(dir, "dist", file)));
    })();
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${port}`,
    typeErrors,
    stop: () =>
      new Promise<void>((r) =>
        server.close(() => {
          rmSync(dir, { recursive: true, force: true });
          r();
        }),
      ),
  };
}
