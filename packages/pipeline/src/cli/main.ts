/**
 * `easel-pipeline`: generate images from the command line.
 *
 * @example
 * easel-pipeline --model models/sd15-onnx "a lighthouse at dusk" -o out.png --steps 20 --seed 42
 */
import { readFileSync, writeFileSync } from "node:fs";
import { InvalidParameterError, PipelineAbortedError, PipelineError } from "../errors/index.ts";
import { decodeImage, type RgbImage } from "../image/index.ts";
import { encodeResultImages } from "../pipelines/output.ts";
import { loadPipeline } from "../pipelines/stable-diffusion.ts";
import type { GenerateRequest } from "../pipelines/types.ts";
import { type CliOptions, outputPaths, parseCliArgs, USAGE, UsageError } from "./args.ts";
import { createProgressReporter, type ProgressStream } from "./progress.ts";

/** Where the CLI writes; the process streams by default, replaceable in tests. */
export interface CliIo {
  stdout: ProgressStream;
  stderr: ProgressStream;
}

/** Exit codes. */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;

function readImage(path: string, flag: string): RgbImage {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return decodeImage(bytes);
  } catch (error) {
    throw new UsageError(
      `${flag}: ${path} is not a readable PNG or JPEG: ${(error as Error).message}`,
    );
  }
}

function requestOf(
  o: CliOptions,
  onProgress: GenerateRequest["onProgress"],
  signal: AbortSignal,
): GenerateRequest {
  const req: GenerateRequest = { prompt: o.prompt, signal };
  if (onProgress !== undefined) req.onProgress = onProgress;
  if (o.negative !== undefined) req.negativePrompt = o.negative;
  if (o.steps !== undefined) req.steps = o.steps;
  if (o.guidance !== undefined) req.guidanceScale = o.guidance;
  if (o.scheduler !== undefined) req.scheduler = o.scheduler;
  if (o.seed !== undefined) req.seed = o.seed;
  if (o.width !== undefined) req.width = o.width;
  if (o.height !== undefined) req.height = o.height;
  if (o.n !== undefined) req.numImages = o.n;
  if (o.eta !== undefined) req.eta = o.eta;
  if (o.strength !== undefined) req.strength = o.strength;
  if (o.image !== undefined) req.image = readImage(o.image, "--image");
  if (o.mask !== undefined) req.mask = readImage(o.mask, "--mask");
  return req;
}

/**
 * Runs the CLI with `argv` (the arguments after the script name) and returns the exit code.
 * Ctrl-C cancels between steps (exit 130).
 */
export async function main(
  argv: readonly string[],
  io: CliIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let options: CliOptions;
  try {
    const parsed = parseCliArgs(argv);
    if (parsed === "help") {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.ok;
    }
    options = parsed;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`easel-pipeline: ${error.message}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    throw error;
  }

  const controller = new AbortController();
  const onSigint = (): void => controller.abort(new Error("interrupted (SIGINT)"));
  process.once("SIGINT", onSigint);
  const progress = createProgressReporter(io.stderr);
  try {
    const request = requestOf(options, progress.onProgress, controller.signal);
    const pipe = await loadPipeline(options.model, {
      executionProvider: options.provider,
      ...(options.threads === undefined ? {} : { intraOpThreads: options.threads }),
    });
    try {
      const result = await pipe.generate(request);
      progress.done();
      const files = encodeResultImages(result, {
        format: options.format,
        ...(options.quality === undefined ? {} : { quality: options.quality }),
      });
      const paths = outputPaths(options.output, files.length);
      for (const [i, bytes] of files.entries()) writeFileSync(paths[i]!, bytes);
      if (options.json) {
        io.stdout.write(
          `${JSON.stringify({ files: paths, seed: result.seed, parameters: result.parameters, timings: result.timings }, null, 2)}\n`,
        );
      } else {
        io.stderr.write(
          `wrote ${paths.join(", ")} (seed ${result.seed}, ${(result.timings.totalMs / 1000).toFixed(2)}s)\n`,
        );
      }
      return EXIT.ok;
    } finally {
      await pipe.release();
    }
  } catch (error) {
    progress.done();
    if (error instanceof UsageError || error instanceof InvalidParameterError) {
      io.stderr.write(`easel-pipeline: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof PipelineAbortedError) {
      io.stderr.write(`easel-pipeline: ${error.message}\n`);
      return EXIT.interrupted;
    }
    if (error instanceof PipelineError) {
      io.stderr.write(`easel-pipeline: ${error.message}\n`);
      return EXIT.failure;
    }
    io.stderr.write(
      `easel-pipeline: unexpected error: ${(error as Error).stack ?? String(error)}\n`,
    );
    return EXIT.failure;
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
}
