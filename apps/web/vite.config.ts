import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { defineConfig } from "vite";

/** Written by `node --import tsx apps/stack/src/main.ts up`: `{ baseUrl, apiKey }`. */
const STACK_FILE = resolve(import.meta.dirname, "../../.easel/stack.json");

/**
 * The web example is a static page: `vite` serves it on 127.0.0.1:5173, `vite build` writes dist/.
 * In dev, a running `up` stack prefills the connection unless VITE_EASEL_BASE_URL /
 * VITE_EASEL_API_KEY say otherwise; builds never pick the key up, so it cannot end up in a bundle.
 */
export default defineConfig(({ command }) => ({
  server: { host: "127.0.0.1", port: 5173 },
  preview: { host: "127.0.0.1", port: 4173 },
  define: command === "serve" ? stackDefaults() : {},
  build: {
    target: "es2022",
    sourcemap: true,
    rollupOptions: {
      onwarn(warning, warn) {
        // zod's sources carry explanatory comments next to @__PURE__ marks that Rollup reports
        // and drops; the output is unaffected.
        if (warning.code === "INVALID_ANNOTATION" && warning.id?.includes("node_modules")) return;
        warn(warning);
      },
    },
  },
}));

function stackDefaults(): Record<string, string> {
  if (!existsSync(STACK_FILE)) return {};
  const stack = JSON.parse(readFileSync(STACK_FILE, "utf8")) as {
    baseUrl?: string;
    apiKey?: string;
  };
  const defaults: Record<string, string> = {};
  if (!process.env["VITE_EASEL_BASE_URL"] && stack.baseUrl) {
    defaults["import.meta.env.VITE_EASEL_BASE_URL"] = JSON.stringify(stack.baseUrl);
  }
  if (!process.env["VITE_EASEL_API_KEY"] && stack.apiKey) {
    defaults["import.meta.env.VITE_EASEL_API_KEY"] = JSON.stringify(stack.apiKey);
  }
  return defaults;
}
