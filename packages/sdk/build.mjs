// Bundles the SDK for publishing: @easel/schema is inlined (it is not published on its own);
// @trpc/client, eventsource and zod stay dependencies. @easel/api is imported as a type only, so
// no server code can reach the bundle (src/build.test.ts checks it).
//
// Type declarations: tsc emits them for the SDK and for @easel/schema (tsconfig.dts.json maps
// the package to its sources so they are emitted too) into dist/types; the specifiers are then
// made publishable (".ts" -> ".js", "@easel/schema" -> its relative path) and dist/index.d.ts
// re-exports the SDK's entry.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { build } from "esbuild";

const common = {
  bundle: true,
  format: "esm",
  sourcemap: true,
  logLevel: "warning",
  external: ["@trpc/client", "eventsource", "zod"],
};

await build({
  ...common,
  entryPoints: ["src/index.ts"],
  outfile: "dist/index.js",
  platform: "neutral",
  target: "es2022",
});
await build({
  ...common,
  entryPoints: ["src/cli/main.ts"],
  outfile: "dist/cli.js",
  platform: "node",
  target: "node20",
  banner: { js: "#!/usr/bin/env node" },
});

rmSync("dist/types", { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", "tsconfig.dts.json"], { stdio: "inherit" });
const schemaEntry = "dist/types/schema/src/index.js";
for (const entry of readdirSync("dist/types", { recursive: true })) {
  const file = join("dist/types", String(entry));
  if (!file.endsWith(".d.ts")) continue;
  const toSchema = relative(dirname(file), schemaEntry).replaceAll("\\", "/");
  const text = readFileSync(file, "utf8")
    .replace(/(from\s+"\.{1,2}\/[^"]+)\.ts"/g, '$1.js"')
    .replace(
      /from\s+"@easel\/schema"/g,
      `from "${toSchema.startsWith(".") ? toSchema : `./${toSchema}`}"`,
    );
  writeFileSync(file, text);
}
writeFileSync("dist/index.d.ts", 'export * from "./types/sdk/src/index.js";\n');
