// Prints the gateway's Wrangler configuration as Wrangler itself resolves it for each environment
// (inheritance included), as JSON. Run by templates.test.ts in a child process so that Wrangler's
// own module graph stays out of the test runner.
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const gatewayDir = resolve(import.meta.dirname, "../../apps/gateway");
const wranglerEntry = createRequire(resolve(gatewayDir, "package.json")).resolve("wrangler");
const { unstable_readConfig } = await import(pathToFileURL(wranglerEntry).href);

const out = {};
for (const env of ["", ...process.argv.slice(2)]) {
  const config = unstable_readConfig(
    { config: resolve(gatewayDir, "wrangler.jsonc"), env: env || undefined },
    { hideWarnings: true },
  );
  out[env || "top"] = {
    name: config.name,
    vars: config.vars,
    durableObjects: config.durable_objects.bindings,
    migrations: config.migrations,
    secretsRequired: config.secrets?.required ?? [],
    workersDev: config.workers_dev,
    routes: config.routes ?? [],
  };
}
process.stdout.write(JSON.stringify(out));
