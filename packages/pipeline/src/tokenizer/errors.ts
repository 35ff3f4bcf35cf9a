/**
 * Base error for tokenizer loading and use. Messages name the file or option at fault; the
 * underlying error (a failed read, a JSON syntax error) is kept as `cause`.
 *
 * @example
 * try {
 *   await ClipTokenizer.fromDirectory("models/sd15/tokenizer");
 * } catch (error) {
 *   if (error instanceof TokenizerError) console.error(error.message, error.cause);
 * }
 */
export class TokenizerError extends Error {
  override readonly name: string = "TokenizerError";

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
