import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { createEaselClient } from "@easel/sdk";
import { startStack } from "./stack.ts";

const HELP = `Runs Easel locally: inference (CPU, embedded Shapes model) + storage (local directory) + gateway.

  run.sh "<prompt>" [-o out.png] [--seed N] [--steps N] [--worker] [--verbose]
      starts the stack, generates the prompt through SDK -> gateway -> inference -> storage,
      writes the image, stops the stack
  run.sh up [--worker] [--port 8787]
      starts the stack and leaves it running (for the web example and scripts); Ctrl-C stops it

--worker runs the gateway under wrangler dev (workerd) instead of Node.`;

async function main(argv: string[]): Promise<number> {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string, short?: string) => {
    const i = argv.findIndex((a) => a === `--${name}` || (short !== undefined && a === `-${short}`));
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const positionals = argv.filter((a, i) => !a.startsWith("-") && !/^(-o|--output|--seed|--steps|--port)$/.test(argv[i - 1] ?? ""));
  if (flag("help") || positionals.length === 0) {
    process.stdout.write(`${HELP}\n`);
    return positionals.length === 0 && !flag("help") ? 2 : 0;
  }
  const worker = flag("worker");
  const verbose = flag("verbose");

  if (positionals[0] === "up") {
    const port = Number(value("port") ?? 8787);
    const stack = await startStack({ worker, verbose, gatewayPort: port, gatewayEnv: { EASEL_CORS_ORIGINS: "*" } });
    const info = { baseUrl: stack.baseUrl, apiKey: stack.apiKey };
    await writeFile(resolve(import.meta.dirname, "../../../.easel/stack.json"), JSON.stringify(info, null, 2));
    process.stdout.write(
      `Easel is up (${worker ? "workerd" : "Node"} gateway).\n  EASEL_BASE_URL=${stack.baseUrl}\n  EASEL_API_KEY=${stack.apiKey}\n(also in .easel/stack.json). Ctrl-C to stop.\n`,
    );
    await new Promise<void>((done) => {
      process.once("SIGINT", done);
      process.once("SIGTERM", done);
    });
    await stack.stop();
    return 0;
  }

  const prompt = positionals.join(" ");
  const output = resolve(value("output", "o") ?? "easel.png");
  const seed = value("seed");
  const steps = value("steps");
  process.stderr.write(`starting the stack (${worker ? "workerd" : "Node"} gateway)...\n`);
  const stack = await startStack({ worker, verbose });
  try {
    const easel = createEaselClient({ baseUrl: stack.baseUrl, apiKey: stack.apiKey });
    const job = await easel.generate(
      { prompt, ...(seed ? { seed: Number(seed) } : {}), ...(steps ? { steps: Number(steps) } : {}) },
      {
        base64: true,
        onProgress: ({ step, total }) => {
          if (total > 0) process.stderr.write(`\rgenerating ${"#".repeat(step)}${"-".repeat(Math.max(0, total - step))} ${step}/${total}`);
        },
      },
    );
    const image = job.images[0];
    if (!image?.b64_json) throw new Error(`job ${job.id} returned no image`);
    await writeFile(output, Buffer.from(image.b64_json, "base64"));
    process.stderr.write(`\nwrote ${output} (${image.width}x${image.height}, seed ${job.seed}, job ${job.id})\n`);
    return 0;
  } finally {
    await stack.stop();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\neasel: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
