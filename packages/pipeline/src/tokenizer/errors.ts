import { PipelineError } from "../errors/index.ts";

/**
 * Base error for tokenizer loading and use. Messages name the file or option at fault; the
 * underlying error (a failed read, a JSON syntax error) is kept as `cause`. A `PipelineError`, so a
 * service catches it with the rest of the pipeline's errors.
 *
 * @example
 * try {
 *   await ClipTokenizer.fromDirectory("models/sd15/tokenizer");
 * } catch (error) {
 *   if (error instanceof TokenizerError) console.error(error.message, error.cause);
 * }
 */
export class TokenizerError extends PipelineError {
  override readonly name: string = "TokenizerError";
}
