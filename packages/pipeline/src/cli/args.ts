/**
 * Command-line parsing for `easel-pipeline`. Only the shape of the arguments is checked here
 * (known flags, numbers that are numbers); ranges are the pipeline's job, so the CLI and the API
 * report the same limits.
 */
import { parseArgs } from "node:util";
import type { ImageFormat } from "../image/index.ts";
import type { ExecutionProvider } from "../models/session.ts";

/** Wrong command-line usage: printed with a hint, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** The parsed command line. */
export interface CliOptions {
  model: string;
  prompt: string;
  output: string;
  format: ImageFormat;
  negative?: string;
  steps?: number;
  guidance?: number;
  scheduler?: string;
  seed?: number;
  width?: number;
  height?: number;
  n?: number;
  eta?: number;
  image?: string;
  strength?: number;
  mask?: string;
  quality?: number;
  threads?: number;
  provider: ExecutionProvider;
  json: boolean;
}

/** The `--help` text. */
export const USAGE = `Usage: easel-pipeline --model DIR "prompt" [-o out.png] [options]

Generates images with a Stable Diffusion ONNX model (diffusers' or Optimum's export layout).

Options:
  --model DIR          model folder (required)
  -o, --output FILE    output file (default out.<format>); with --n > 1: FILE-1.png, FILE-2.png, ...
  --negative TEXT      negative prompt
  --steps N            denoising steps, 1-150 (default 25)
  --guidance X         classifier-free guidance scale, 0-30 (default 7.5; <= 1 disables guidance)
  --scheduler NAME     scheduler class or alias: ddim, pndm, euler, euler-a, heun, lms, dpm++2m,
                       dpm++2m-karras, unipc, lcm, ddpm (default: the model's scheduler_config.json)
  --seed N             0 - 4294967295 (default random, printed)
  --width N, --height N  multiples of the VAE factor, up to 2048 (default the model's sample size)
  --n N                images for the prompt, 1-8 (default 1)
  --eta X              DDIM eta, 0-1 (default 0)
  --image FILE         start image (PNG/JPEG) for image-to-image or inpainting
  --strength X         image-to-image strength, (0, 1] (default 0.8)
  --mask FILE          inpainting mask (white = repaint), same size as --image
  --format FMT         png | webp | jpeg (default from the output's extension, else png)
  --quality N          JPEG quality 1-100 (default 90)
  --threads N          onnxruntime intra-op threads (default: onnxruntime's choice)
  --provider NAME      cpu | cuda (default cpu)
  --json               print the result (files, seed, timings, parameters) as JSON on stdout
  -h, --help           show this help

Exit codes: 0 ok, 1 generation or model error, 2 usage error, 130 interrupted.`;

const FORMATS: readonly ImageFormat[] = ["png", "webp", "jpeg"];

function numberFlag(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new UsageError(`--${name} must be ${integer ? "an integer" : "a number"}, got "${raw}"`);
  }
  return value;
}

function formatOf(output: string | undefined, flag: string | undefined): ImageFormat {
  if (flag !== undefined) {
    const f = flag.toLowerCase() === "jpg" ? "jpeg" : flag.toLowerCase();
    if (!(FORMATS as readonly string[]).includes(f)) {
      throw new UsageError(`--format must be one of ${FORMATS.join(", ")}, got "${flag}"`);
    }
    return f as ImageFormat;
  }
  const ext = output?.toLowerCase().match(/\.([a-z]+)$/)?.[1];
  if (ext === "jpg" || ext === "jpeg") return "jpeg";
  if (ext === "webp") return "webp";
  return "png";
}

/**
 * Parses `argv` (without node and the script). Returns `"help"` for -h/--help; throws
 * {@link UsageError} for anything malformed.
 */
export function parseCliArgs(argv: readonly string[]): CliOptions | "help" {
  let parsed: ReturnType<typeof parseArgsStrict>;
  try {
    parsed = parseArgsStrict(argv);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help === true) return "help";
  if (values.model === undefined) throw new UsageError("--model DIR is required");
  if (positionals.length === 0)
    throw new UsageError('a prompt is required: easel-pipeline --model DIR "prompt"');
  if (positionals.length > 1) {
    throw new UsageError(
      `expected one prompt, got ${positionals.length} arguments (quote the prompt)`,
    );
  }
  const provider = values.provider ?? "cpu";
  if (provider !== "cpu" && provider !== "cuda") {
    throw new UsageError(`--provider must be cpu or cuda, got "${provider}"`);
  }
  const format = formatOf(values.output, values.format);
  const options: CliOptions = {
    model: values.model,
    prompt: positionals[0]!,
    output: values.output ?? `out.${format === "jpeg" ? "jpg" : format}`,
    format,
    provider,
    json: values.json === true,
  };
  const set = <K extends keyof CliOptions>(key: K, value: CliOptions[K] | undefined): void => {
    if (value !== undefined) options[key] = value;
  };
  set("negative", values.negative);
  set("scheduler", values.scheduler);
  set("image", values.image);
  set("mask", values.mask);
  set("steps", numberFlag("steps", values.steps, true));
  set("guidance", numberFlag("guidance", values.guidance, false));
  set("seed", numberFlag("seed", values.seed, true));
  set("width", numberFlag("width", values.width, true));
  set("height", numberFlag("height", values.height, true));
  set("n", numberFlag("n", values.n, true));
  set("eta", numberFlag("eta", values.eta, false));
  set("strength", numberFlag("strength", values.strength, false));
  set("quality", numberFlag("quality", values.quality, true));
  set("threads", numberFlag("threads", values.threads, true));
  if (options.threads !== undefined && options.threads < 1) {
    throw new UsageError(`--threads must be at least 1, got ${options.threads}`);
  }
  if (options.mask !== undefined && options.image === undefined) {
    throw new UsageError("--mask needs --image (the picture to inpaint)");
  }
  return options;
}

function parseArgsStrict(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: "string" },
      output: { type: "string", short: "o" },
      negative: { type: "string" },
      steps: { type: "string" },
      guidance: { type: "string" },
      scheduler: { type: "string" },
      seed: { type: "string" },
      width: { type: "string" },
      height: { type: "string" },
      n: { type: "string" },
      eta: { type: "string" },
      image: { type: "string" },
      strength: { type: "string" },
      mask: { type: "string" },
      format: { type: "string" },
      quality: { type: "string" },
      threads: { type: "string" },
      provider: { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** The file names for `count` images: `output` itself for one, `stem-1.ext`, `stem-2.ext`... otherwise. */
export function outputPaths(output: string, count: number): string[] {
  if (count === 1) return [output];
  const dot = output.lastIndexOf(".");
  const slash = Math.max(output.lastIndexOf("/"), output.lastIndexOf("\\"));
  const [stem, ext] = dot > slash ? [output.slice(0, dot), output.slice(dot)] : [output, ""];
  return Array.from({ length: count }, (_, i) => `${stem}-${i + 1}${ext}`);
}
