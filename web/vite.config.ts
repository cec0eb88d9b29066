import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const root = fileURLToPath(new URL(".", import.meta.url));

// Vite 8 transforms TSX with oxc; no React plugin needed (no fast refresh, full reload is fine).
export default defineConfig({
  root,
  base: "/",
  oxc: { jsx: { runtime: "automatic", importSource: "react" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    // TanStack Query marks its hooks "use client" (for React Server Components); meaningless in a SPA.
    rollupOptions: { onwarn: (w, warn) => w.code !== "MODULE_LEVEL_DIRECTIVE" && warn(w) },
  },
  server: {
    // `HOOKLINE_API=http://localhost:8080 npx vite --config web/vite.config.ts` for UI work.
    proxy: {
      "/api": { target: process.env.HOOKLINE_API ?? "http://localhost:8080", changeOrigin: true },
    },
  },
});
