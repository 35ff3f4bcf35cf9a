/**
 * Errors of the Stable Diffusion pipeline. Everything the pipeline throws on purpose is a
 * {@link PipelineError}; the subclasses say which kind of failure it is so that a service can map
 * them to status codes (bad input -> 400, unknown model -> 500, cancelled -> 499) in one place.
 */

/** Options accepted by every pipeline error: the lower-level failure, when there is one. */
export interface PipelineErrorOptions {
  cause?: unknown;
}

/**
 * Base class of every error the pipeline throws on purpose. The message names the operation and
 * the values involved; `cause` keeps the lower-level error (onnxruntime's, the file system's).
 *
 * @example
 * try { await pipe.generate(req) } catch (e) { if (e instanceof PipelineError) log(e.message, e.cause) }
 */
export class PipelineError extends Error {
  override readonly name: string = "PipelineError";

  constructor(message: string, options: PipelineErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
  }
}

/**
 * A request parameter is out of range or inconsistent. `param` names it (as spelled in the
 * request) and `limit` states what would have been accepted, e.g. `"an integer in [1, 150]"`.
 *
 * @example
 * new InvalidParameterError("steps", "an integer in [1, 150]", 0)
 * // message: "steps must be an integer in [1, 150], got 0"
 */
export class InvalidParameterError extends PipelineError {
  override readonly name = "InvalidParameterError";
  readonly param: string;
  readonly limit: string;

  constructor(param: string, limit: string, got?: unknown, options: PipelineErrorOptions = {}) {
    super(
      `${param} must be ${limit}${got === undefined ? "" : `, got ${describeValue(got)}`}`,
      options,
    );
    this.param = param;
    this.limit = limit;
  }
}

/**
 * A model folder could not be loaded. `file` is the absolute path of the file that is missing,
 * unreadable or corrupt (or the folder itself when no single file is at fault).
 */
export class ModelLoadError extends PipelineError {
  override readonly name = "ModelLoadError";
  readonly file: string;

  constructor(file: string, message: string, options: PipelineErrorOptions = {}) {
    super(message, options);
    this.file = file;
  }
}

/**
 * The requested onnxruntime execution provider cannot be used on this machine (for example
 * `"cuda"` with the CPU-only onnxruntime-node binaries, or without the CUDA libraries).
 */
export class ExecutionProviderError extends PipelineError {
  override readonly name = "ExecutionProviderError";
  readonly provider: string;

  constructor(provider: string, message: string, options: PipelineErrorOptions = {}) {
    super(message, options);
    this.provider = provider;
  }
}

/**
 * Generation was cancelled through an `AbortSignal`. The check happens between denoising steps:
 * `step` is the number of steps that had completed, out of `total`. Its `name` is `"AbortError"`,
 * so code that checks `err.name === "AbortError"` (as for `fetch`) treats it the same way.
 */
export class PipelineAbortedError extends PipelineError {
  override readonly name = "AbortError";
  readonly step: number;
  readonly total: number;

  constructor(step: number, total: number, options: PipelineErrorOptions = {}) {
    super(`generation aborted after step ${step}/${total}`, options);
    this.step = step;
    this.total = total;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === "string")
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return String(value);
  }
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
