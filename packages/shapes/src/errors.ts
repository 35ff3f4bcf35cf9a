/**
 * Base class of every error thrown by `@easel/shapes`; carries the underlying `cause` when there is one.
 *
 * @example
 * try { parsePrompt("a pink circle") } catch (err) { if (err instanceof ShapesError) console.error(err.message) }
 */
export class ShapesError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * Thrown by `parsePrompt` when a prompt is outside the Easel Shapes grammar (see GRAMMAR.md).
 * The message names the word that could not be parsed and what was expected instead.
 */
export class PromptParseError extends ShapesError {
  /** The prompt as given. */
  readonly prompt: string;
  /** The offending word (normalised to lower case), or `null` when the prompt ended too early. */
  readonly word: string | null;

  constructor(prompt: string, word: string | null, detail: string) {
    super(`parsePrompt: ${detail} in ${JSON.stringify(prompt)}`);
    this.prompt = prompt;
    this.word = word;
  }
}
