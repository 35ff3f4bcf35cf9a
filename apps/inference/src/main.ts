import { createObjectStore } from "@easel/storage";
import { serve } from "@hono/node-server";
import { configFromEnv } from "./config.ts";
import { EventHub } from "./events.ts";
import { createHttpApp } from "./http.ts";
import { Journal } from "./journal.ts";
import { createLogger } from "./logger.ts";
import { createMetrics } from "./metrics.ts";
import { ModelRegistry } from "./models.ts";
import { loadPipelineGenerator } from "./pipeline-generator.ts";
import { PredictionService } from "./service.ts";

/**
 * Starts the inference service: HTTP first (health says STARTING), then models are loaded and
 * warmed up, the journal is replayed, and the service turns READY. SIGTERM/SIGINT drain it.
 */
async function main(): Promise<void> {
  const logger = createLogger("inference");
  // Node's own warnings go to the JSON log too (run with --no-warnings to drop the plain-text copy).
  process.on("warning", (warning) => {
    logger.warn("node warning", { name: warning.name, warning: warning.message.split("\n")[0] });
  });
  const config = configFromEnv(process.env);
  const startedAt = performance.now();
  const store = createObjectStore(process.env);
  const events = new EventHub();
  const models = new ModelRegistry(
    config.models,
    (spec) =>
      loadPipelineGenerator(spec, {
        executionProvider: config.executionProvider,
        ...(config.intraOpThreads === undefined ? {} : { intraOpThreads: config.intraOpThreads }),
      }),
    config.memoryBudgetMb,
  );
  let service: PredictionService | undefined;
  const metrics = createMetrics(
    () => service?.queueDepth ?? 0,
    () => service?.inFlight ?? 0,
  );
  service = new PredictionService({
    config,
    journal: new Journal(config.stateDir),
    store,
    models,
    events,
    metrics,
    logger,
  });
  const app = createHttpApp({
    service,
    models,
    events,
    metrics,
    store,
    logger,
    secret: config.secret,
    queueCapacity: config.queueCapacity,
  });
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info) => {
    logger.info("listening", { host: config.host, port: info.port, store: store.location });
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info("draining", { signal, graceMs: config.graceMs });
    await service.shutdown(config.graceMs);
    server.close();
    await models.dispose();
    logger.info("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));

  try {
    await models.loadAll();
  } catch (error) {
    logger.error("model loading failed", { error: (error as Error).message });
    return; // keep serving /health = FAILED so the orchestrator sees why
  }
  await service.start();
  logger.info("ready", {
    coldStartMs: Math.round(performance.now() - startedAt),
    models: config.models.map((m) => m.name),
  });
}

main().catch((error) => {
  // Configuration errors name the variable and the rule, never its value (it may be the secret).
  createLogger("inference", (line) => process.stderr.write(`${line}\n`)).error("fatal", {
    error: String(error?.message ?? error),
  });
  process.exit(1);
});
