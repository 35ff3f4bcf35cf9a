// Bundles the SDK for publishing: @easel/schema is inlined (it is not published on its own);
// @trpc/client, eventsource and zod stay dependencies. @easel/api is imported as a type only, so
// no server code can reach the bundle (src/build.test.ts checks it).
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
