/**
 * Keeps docs/CONFIGURATION.md true to the code: every table after a `<!-- settings:NAME -->` marker
 * must list exactly the settings its component reads (found in the source, not copied from it), and
 * the defaults it states must be the ones the code applies.
 */
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULTS } from "@easel/pipeline";
import { storeConfigFromEnv } from "@easel/storage";
import { describe, expect, it } from "vitest";
import { gatewayEnvSchema } from "../../apps/gateway/src/env.ts";
import { configFromEnv, DEFAULT_MODEL } from "../../apps/inference/src/config.ts";
import { tables as allTables, codeSpans, type Table } from "./markdown.ts";
import {
  envReads,
  interfaceKeys,
  minus,
  REPO_ROOT,
  readRepoFile,
  schemaKeys,
  sorted,
  sources,
} from "./source.ts";

/** The marked tables of the page: `<!-- settings:NAME -->`, then a table of `NAME | default | …`. */
function documentedTables(markdown: string): Map<string, Map<string, string>> {
  const found = new Map<string, Map<string, string>>();
  for (const marker of markdown.matchAll(/^<!-- settings:([a-z-]+) -->$/gm)) {
    const name = marker[1] ?? "";
    // The first table after the marker, before any heading.
    const after = markdown.slice((marker.index ?? 0) + marker[0].length).split(/\n#/)[0];
    const table: Table | undefined = allTables(after ?? "")[0];
    if (!table) throw new Error(`CONFIGURATION.md: no table after settings:${name}`);
    const settings = new Map<string, string>();
    for (const row of table.rows) {
      const [setting] = codeSpans(row[0]);
      if (!setting || row[0] !== `\`${setting}\``)
        throw new Error(
          `CONFIGURATION.md settings:${name}: first cell must be \`NAME\`, got ${row[0]}`,
        );
      if (settings.has(setting)) throw new Error(`CONFIGURATION.md: ${setting} is listed twice`);
      settings.set(setting, row[1] ?? "");
    }
    found.set(name, settings);
  }
  return found;
}

/** The literal of a default cell when it is one (`` `120` `` -> "120"), else null. */
function literal(cell: string | undefined): string | null {
  return /^`([^`]*)`$/.exec(cell ?? "")?.[1] ?? null;
}

const tables = documentedTables(readRepoFile("docs/CONFIGURATION.md"));
const table = (name: string): Map<string, string> => {
  const found = tables.get(name);
  if (!found) throw new Error(`docs/CONFIGURATION.md has no <!-- settings:${name} --> table`);
  return found;
};

const GATEWAY_SHARED = schemaKeys("apps/gateway/src/env.ts", "gatewayEnvSchema");
const GATEWAY_NODE_FILES = ["apps/gateway/src/entry.node.ts", ...sources("apps/gateway/src/node")];
const GATEWAY_WORKER_FILES = [
  "apps/gateway/src/entry.worker.ts",
  ...sources("apps/gateway/src/worker"),
];

/** What each marked table must list, derived from the code that reads it. */
const READ_BY: Record<string, () => Set<string>> = {
  inference: () =>
    new Set([
      ...schemaKeys("apps/inference/src/config.ts", "envSchema"),
      ...envReads(sources("apps/inference/src")),
    ]),
  storage: () => envReads(sources("packages/storage/src")),
  gateway: () => GATEWAY_SHARED,
  "gateway-node": () => minus(envReads(GATEWAY_NODE_FILES), GATEWAY_SHARED),
  "gateway-workers": () =>
    minus(
      new Set([
        ...interfaceKeys("apps/gateway/src/worker/env.ts", "WorkerEnv"),
        ...envReads(GATEWAY_WORKER_FILES),
      ]),
      GATEWAY_SHARED,
    ),
  "easel-json": () =>
    interfaceKeys("packages/pipeline/src/models/serving-defaults.ts", "ServingDefaults"),
  stack: () => envReads(sources("apps/stack/src")),
  cli: () => envReads(sources("packages/sdk/src/cli")),
  web: () => envReads([...sources("apps/web/src"), "apps/web/vite.config.ts"]),
};

describe("docs/CONFIGURATION.md", () => {
  it("has one marked table per component and no other", () => {
    expect(sorted(tables.keys())).toEqual(sorted(Object.keys(READ_BY)));
  });

  for (const [name, read] of Object.entries(READ_BY)) {
    it(`lists exactly the settings the code reads in its ${name} table`, () => {
      const readByCode = read();
      expect(readByCode.size).toBeGreaterThan(0);
      expect(sorted(table(name).keys())).toEqual(sorted(readByCode));
    });
  }

  it("documents every setting that any app or package reads", () => {
    const srcDirs = ["apps", "packages"].flatMap((top) =>
      readdirSync(resolve(REPO_ROOT, top), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => `${top}/${e.name}/src`)
        .filter((dir) => existsSync(resolve(REPO_ROOT, dir))),
    );
    const everywhere = envReads([...srcDirs.flatMap(sources), "apps/web/vite.config.ts"]);
    const documented = new Set([...tables.values()].flatMap((t) => [...t.keys()]));
    expect(sorted(minus(everywhere, documented))).toEqual([]);
  });

  it("names every variable of wrangler.jsonc in the gateway's tables", () => {
    const wrangler = readRepoFile("apps/gateway/wrangler.jsonc");
    const mentioned = new Set(
      [...wrangler.matchAll(/\b(EASEL_[A-Z0-9_]+)\b/g)].map((m) => m[1] ?? ""),
    );
    expect(sorted(minus(mentioned, new Set(table("gateway").keys())))).toEqual([]);
  });

  it("states the gateway defaults that gatewayEnvSchema applies", () => {
    const parsed = gatewayEnvSchema.parse({
      EASEL_INFERENCE_URLS: "http://127.0.0.1:1",
      EASEL_SHARED_SECRET: "0123456789abcdef",
    }) as Record<string, unknown>;
    const gateway = table("gateway");
    for (const [key, value] of Object.entries(parsed)) {
      if (key === "EASEL_INFERENCE_URLS" || key === "EASEL_SHARED_SECRET") continue;
      const cell = gateway.get(key);
      if (value === "") expect(cell, key).toMatch(/^\(empty\b/);
      else expect(literal(cell), key).toBe(String(value));
    }
    expect(literal(table("gateway-node").get("EASEL_GATEWAY_DATA_DIR"))).toBe(".easel/gateway");
  });

  it("states the inference defaults that configFromEnv applies", () => {
    const config = configFromEnv({ EASEL_SHARED_SECRET: "0123456789abcdef" });
    const inference = table("inference");
    const fields: Record<string, unknown> = {
      EASEL_HOST: config.host,
      EASEL_PORT: config.port,
      EASEL_QUEUE_CAPACITY: config.queueCapacity,
      EASEL_MAX_BATCH: config.maxBatchSize,
      EASEL_BATCH_WAIT_MS: config.batchWaitMs,
      EASEL_BATCHING: config.batching,
      EASEL_DEADLINE_MS: config.deadlineMs,
      EASEL_GRACE_MS: config.graceMs,
      EASEL_PRESIGN_EXPIRY_S: config.presignExpiryS,
      EASEL_MEMORY_BUDGET_MB: config.memoryBudgetMb,
      EASEL_PROVIDER: config.executionProvider,
      EASEL_MAX_ATTEMPTS: config.maxAttempts,
      EASEL_RETENTION_HOURS: config.retentionMs / 3_600_000,
      EASEL_LOG_PROMPTS: config.logPrompts,
    };
    for (const [key, value] of Object.entries(fields)) {
      expect(literal(inference.get(key)), key).toBe(String(value));
    }
    expect(resolve(literal(inference.get("EASEL_STATE_DIR")) ?? "")).toBe(config.stateDir);
    expect(config.intraOpThreads).toBeUndefined();
    expect(inference.get("EASEL_THREADS")).toBe("onnxruntime's default");
    const [name, dir] = (literal(inference.get("EASEL_MODELS")) ?? "").split("=");
    expect(config.models).toEqual([{ name, dir: resolve(REPO_ROOT, dir ?? "") }]);
    expect(DEFAULT_MODEL.name).toBe(name);
  });

  it("states the storage and model-folder defaults the code applies", () => {
    const store = storeConfigFromEnv({});
    expect(store.kind).toBe("fs");
    expect(store.kind === "fs" && store.root).toBe(
      literal(table("storage").get("EASEL_STORE_DIR")),
    );
    const easelJson = table("easel-json");
    expect(literal(easelJson.get("default_steps"))).toBe(String(DEFAULTS.steps));
    expect(literal(easelJson.get("default_guidance_scale"))).toBe(String(DEFAULTS.guidanceScale));
  });
});
