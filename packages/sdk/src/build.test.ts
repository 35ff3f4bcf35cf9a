import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

describe("the built SDK", () => {
  let bundle = "";
  beforeAll(() => {
    execFileSync(process.execPath, ["build.mjs"], { cwd: root, stdio: "pipe" });
    bundle = readFileSync(join(root, "dist/index.js"), "utf8");
  }, 60_000);

  it("imports only its declared runtime dependencies", () => {
    const imports = [...bundle.matchAll(/from\s*"([^"]+)"/g)].map((m) => m[1]);
    const allowed = new Set(["@trpc/client", "eventsource", "zod"]);
    expect(imports.filter((name) => !allowed.has(name ?? ""))).toEqual([]);
  });

  it("contains no server code: no tRPC server, Hono, routers or onnxruntime", () => {
    for (const marker of [
      "initTRPC",
      "fetchRequestHandler",
      "@trpc/server",
      "appRouter",
      "hono",
      "onnxruntime",
      "createApp",
    ]) {
      expect(bundle, `bundle mentions ${marker}`).not.toContain(marker);
    }
  });

  it("exports createEaselClient and the error class", async () => {
    const mod = await import(join(root, "dist/index.js"));
    expect(typeof mod.createEaselClient).toBe("function");
    expect(typeof mod.EaselError).toBe("function");
  });
});
