import { writeFile } from "node:fs/promises";
import { extname } from "node:path";
import { SCHEDULERS } from "@easel/schema";
import { createEaselClient } from "../client.ts";
import { EaselError } from "../errors.ts";
import { intFlag, numberFlag, parseArgs, stringFlag, UsageError } from "./args.ts";
import { progressBar } from "./progress.ts";

const HELP = `easel — generate images with Easel

Usage:
  easel generate "<prompt>" -o out.png [--seed N] [--steps N] [--size WxH] [--scheduler NAME]
                 [--n N] [--guidance G] [--negative "<text>"] [--model NAME] [--json]
  easel jobs list [--limit N] [--cursor C] [--json]
  easel jobs get <job-id> [--json]
  easel jobs cancel <job-id>
  easel models [--json]

Configuration (flags win over environment):
  --base-url URL   or EASEL_BASE_URL   (default http://127.0.0.1:8787)
  --api-key KEY    or EASEL_API_KEY

Schedulers: ${SCHEDULERS.join(", ")}
With --n > 1, images are written as out-1.png, out-2.png, ...`;

const BOOLEAN = new Set(["help", "json"]);

async function main(argv: string[]): Promise<number> {
  const { positionals, flags } = parseArgs(argv, BOOLEAN);
  const [command, ...rest] = positionals;
  if (flags.has("help") || !command) {
    process.stdout.write(`${HELP}\n`);
    return command || flags.has("help") ? 0 : 2;
  }
  const baseUrl =
    stringFlag(flags, "base-url") ?? process.env["EASEL_BASE_URL"] ?? "http://127.0.0.1:8787";
  const apiKey = stringFlag(flags, "api-key") ?? process.env["EASEL_API_KEY"];
  if (!apiKey) throw new UsageError("an API key is required: --api-key or EASEL_API_KEY");
  const easel = createEaselClient({ baseUrl, apiKey });
  const json = flags.has("json");
  const print = (value: unknown, text: string) =>
    process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);

  switch (command) {
    case "generate": {
      const prompt = rest[0];
      if (!prompt)
        throw new UsageError('generate needs a prompt: easel generate "a red circle" -o out.png');
      const output = stringFlag(flags, "output");
      if (!output) throw new UsageError("generate needs -o <file>");
      const size = stringFlag(flags, "size");
      const sizeMatch = size === undefined ? null : /^(\d+)x(\d+)$/.exec(size);
      if (size !== undefined && !sizeMatch)
        throw new UsageError(`--size must be WIDTHxHEIGHT, got ${size}`);
      const scheduler = stringFlag(flags, "scheduler");
      if (scheduler !== undefined && !(SCHEDULERS as readonly string[]).includes(scheduler)) {
        throw new UsageError(
          `--scheduler must be one of ${SCHEDULERS.join(", ")}, got ${scheduler}`,
        );
      }
      const input = {
        prompt,
        ...optional("negative_prompt", stringFlag(flags, "negative")),
        ...optional("seed", intFlag(flags, "seed")),
        ...optional("steps", intFlag(flags, "steps")),
        ...optional("guidance_scale", numberFlag(flags, "guidance")),
        ...optional("num_images", intFlag(flags, "n")),
        ...optional("scheduler", scheduler as (typeof SCHEDULERS)[number] | undefined),
        ...(sizeMatch ? { width: Number(sizeMatch[1]), height: Number(sizeMatch[2]) } : {}),
        ...optional("output_format", formatOf(output)),
      };
      const bar = progressBar(process.stderr, "generating");
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort(new Error("interrupted")));
      const model = stringFlag(flags, "model");
      const job = await easel.generate(input, {
        ...(model ? { model } : {}),
        base64: true,
        signal: controller.signal,
        onProgress: ({ step, total }) => bar.update(step, total),
      });
      const files = job.images.map((_, i) =>
        job.images.length === 1 ? output : numbered(output, i + 1),
      );
      await Promise.all(
        job.images.map((image, i) =>
          writeFile(files[i] ?? output, Buffer.from(image.b64_json ?? "", "base64")),
        ),
      );
      bar.done(`wrote ${files.join(", ")} (job ${job.id}, seed ${job.seed})`);
      if (json) print(job, "");
      return 0;
    }
    case "jobs": {
      const [sub, id] = rest;
      if (sub === "list") {
        const limit = intFlag(flags, "limit");
        const cursor = stringFlag(flags, "cursor");
        const page = await easel.jobs.list({
          ...optional("limit", limit),
          ...optional("cursor", cursor),
        });
        print(
          page,
          page.data
            .map((j) => `${j.id}  ${j.status.padEnd(10)} ${j.created_at}  ${j.input.prompt}`)
            .join("\n") || "(no jobs)",
        );
        return 0;
      }
      if ((sub === "get" || sub === "cancel") && id) {
        const job = sub === "get" ? await easel.jobs.get(id) : await easel.jobs.cancel(id);
        print(
          job,
          `${job.id}  ${job.status}${job.error ? `  ${job.error.code}: ${job.error.message}` : ""}`,
        );
        return 0;
      }
      throw new UsageError("usage: easel jobs list | easel jobs get <id> | easel jobs cancel <id>");
    }
    case "models": {
      const models = await easel.models.list();
      print(models, models.map((m) => m.id).join("\n"));
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${command}; see easel --help`);
  }
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function formatOf(file: string): "png" | "webp" | "jpeg" | undefined {
  const ext = extname(file).toLowerCase();
  if (ext === ".webp") return "webp";
  if (ext === ".jpg" || ext === ".jpeg") return "jpeg";
  return ext === ".png" ? "png" : undefined;
}

function numbered(file: string, n: number): string {
  const ext = extname(file);
  return `${file.slice(0, file.length - ext.length)}-${n}${ext}`;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`easel: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof EaselError) {
      process.stderr.write(`easel: ${error.code}: ${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`easel: ${(error as Error)?.message ?? String(error)}\n`);
    process.exit(1);
  },
);
