import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..");

describe("the built SDK", () => {
  let bundle = "";
  beforeAll(() => {
    execFileSync(process.execPath, ["build.mjs"], { cwd: root, stdio: "pipe" });
    bundle = readFileSync(join(root, "dist/index.js"), "utf8");
  }, 180_000); // esbuild, then tsc for the declarations (slow on a loaded 2-core machine)

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

  it("ships declarations a strict TypeScript consumer can compile against (no any)", () => {
    // Inside the package so that "zod" resolves as it would for an installed @easel/sdk.
    const dir = mkdtempSync(join(root, ".consumer-"));
    try {
      writeFileSync(
        join(dir, "consumer.ts"),
        `import { createEaselClient, EaselError, LIMITS, type GenerationInput, type Job } from "../dist/index.js";
const easel = createEaselClient({ baseUrl: "http://127.0.0.1:8787", apiKey: "key" });
const input: GenerationInput = { prompt: "a red circle", steps: 20, scheduler: "dpm++2m" };
export async function firstUrl(): Promise<string | undefined> {
  const job: Job = await easel.generate(input, { onProgress: ({ step, total }) => void (step / total) });
  return job.images[0]?.url;
}
export const maxSteps: number = LIMITS.stepsMax;
export const limited = (e: unknown) => e instanceof EaselError && e.code === "rate_limited";
// @ts-expect-error steps is a number: fails to compile if the declarations degrade to any
export const wrongType: GenerationInput = { prompt: "x", steps: "20" };
// @ts-expect-error not a scheduler the API knows
export const wrongScheduler: GenerationInput = { prompt: "x", scheduler: "warp" };
`,
      );
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: "NodeNext",
            moduleResolution: "NodeNext",
            target: "ES2022",
            lib: ["ES2023", "DOM"],
            types: [],
            skipLibCheck: false,
          },
          files: ["consumer.ts"],
        }),
      );
      const tsc = createRequire(join(root, "package.json")).resolve("typescript/bin/tsc");
      execFileSync(process.execPath, [tsc, "-p", dir], { stdio: "pipe" });
    } catch (error) {
      const out = error as { stdout?: Buffer };
      throw new Error(`consumer did not compile:\n${out.stdout?.toString() ?? String(error)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
