import { mkdir, rm, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { createEaselClient } from "@easel/sdk";
import { progressBar } from "./progress.ts";
import { startStack } from "./stack.ts";

const REPO_ROOT = resolve(import.meta.dirname, "../../..");
/** Images, job records and stack.json; EASEL_DATA_DIR moves them (tests use a temporary one). */
const DATA_DIR = resolve(process.env["EASEL_DATA_DIR"] || resolve(REPO_ROOT, ".easel"));

const HELP = `Runs Easel locally: inference (CPU, embedded Shapes model) + storage (local directory) + gateway.

  infra/local/run.sh "<prompt>" [-o out.png] [--seed N] [--steps N] [--worker] [--verbose]
      starts the stack, generates the prompt through SDK -> gateway -> inference -> storage,
      writes the image (default easel.png), stops the stack
  infra/local/run.sh up [--worker] [--port 8787]
      starts the stack and leaves it running (for the web example and scripts); prints
      EASEL_BASE_URL and EASEL_API_KEY and writes them to .easel/stack.json; Ctrl-C stops it

--worker runs the gateway under wrangler dev (workerd) instead of Node.
EASEL_DATA_DIR (default .easel/ in the repository) holds images, job records and stack.json.
EASEL_MODELS=name=dir (and other EASEL_* settings of apps/inference) pass through to inference.`;

const VALUE_FLAGS = new Set(["-o", "--output", "--seed", "--steps", "--port"]);
const BOOLEAN_FLAGS = new Set(["--worker", "--verbose", "--help", "-h"]);

class UsageError extends Error {
  override readonly name = "UsageError";
}

interface Args {
  positionals: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { positionals: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (VALUE_FLAGS.has(arg)) {
      const value = argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      args.values.set(arg === "-o" ? "--output" : arg, value);
    } else if (BOOLEAN_FLAGS.has(arg)) args.flags.add(arg === "-h" ? "--help" : arg);
    else if (arg.startsWith("-") && arg.length > 1) throw new UsageError(`unknown option ${arg}`);
    else args.positionals.push(arg);
  }
  return args;
}

function intValue(args: Args, name: string): number | undefined {
  const value = args.values.get(name);
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UsageError(`${name} must be a non-negative integer, got ${value}`);
  return Number(value);
}

async function up(worker: boolean, verbose: boolean, port: number): Promise<number> {
  const stack = await startStack({
    worker,
    verbose,
    dataDir: DATA_DIR,
    gatewayPort: port,
    gatewayEnv: { EASEL_CORS_ORIGINS: "*" },
  });
  const file = resolve(DATA_DIR, "stack.json");
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify({ baseUrl: stack.baseUrl, apiKey: stack.apiKey, runtime: stack.runtime }, null, 2)}\n`,
  );
  process.stdout.write(
    `Easel is up (${stack.runtime} gateway).\nEASEL_BASE_URL=${stack.baseUrl}\nEASEL_API_KEY=${stack.apiKey}\n(also in ${file}). Ctrl-C to stop.\n`,
  );
  await new Promise<void>((done) => {
    process.once("SIGINT", done);
    process.once("SIGTERM", done);
  });
  process.stderr.write("stopping...\n");
  await stack.stop();
  await rm(file, { force: true }); // a stopped stack must not look reachable
  return 0;
}

async function generate(args: Args, worker: boolean, verbose: boolean): Promise<number> {
  const prompt = args.positionals.join(" ");
  const output = resolve(args.values.get("--output") ?? "easel.png");
  const seed = intValue(args, "--seed");
  const steps = intValue(args, "--steps");
  const bar = progressBar(process.stderr, "generating");
  bar.status(
    `starting the stack (inference + ${worker ? "workerd" : "Node"} gateway), loading the model`,
  );
  const stack = await startStack({ worker, verbose, dataDir: DATA_DIR });
  const controller = new AbortController();
  const interrupt = () => controller.abort(new Error("interrupted"));
  process.once("SIGINT", interrupt);
  try {
    const easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    const job = await easel.generate(
      {
        prompt,
        ...(seed === undefined ? {} : { seed }),
        ...(steps === undefined ? {} : { steps }),
      },
      {
        base64: true,
        signal: controller.signal,
        onJob: (accepted) => bar.status(`job ${accepted.id} ${accepted.status}`),
        onProgress: ({ step, total }) => bar.update(step, total),
      },
    );
    const image = job.images[0];
    if (!image?.b64_json) throw new Error(`job ${job.id} returned no image`);
    await writeFile(output, Buffer.from(image.b64_json, "base64"));
    bar.done(
      `wrote ${output} (${image.width}x${image.height}, seed ${job.seed}, job ${job.id}, model ${job.model})`,
    );
    return 0;
  } finally {
    process.off("SIGINT", interrupt);
    await stack.stop();
  }
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args.flags.has("--help") || args.positionals.length === 0) {
    process.stdout.write(`${HELP}\n`);
    return args.flags.has("--help") ? 0 : 2;
  }
  const worker = args.flags.has("--worker");
  const verbose = args.flags.has("--verbose");
  if (args.positionals.length === 1 && args.positionals[0] === "up") {
    return await up(worker, verbose, intValue(args, "--port") ?? 8787);
  }
  return await generate(args, worker, verbose);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\neasel: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
