import { EaselError } from "@easel/sdk";
import { type FieldName, fieldForParam } from "./params.ts";

/** What the page shows for a failed call. */
export interface ShownError {
  /** The wire code (`invalid_parameter`, `unauthorized`...), or `client_error` for local faults. */
  code: string;
  message: string;
  /** The offending parameter as the server named it (`input.steps`). */
  param?: string;
  /** The form field to mark invalid and focus. */
  field?: FieldName;
  requestId?: string;
  /** What to check, when the message alone will not tell (a request that never got an answer). */
  hint?: string;
}

/** Where the page was talking to, for hints about requests that never got an answer. */
export interface ErrorContext {
  baseUrl: string;
  /** The page's own origin (`location.origin`), which the gateway's CORS list must include. */
  origin: string;
}

/** True when a call ended because the user canceled it (an AbortSignal fired). */
export function isAbort(error: unknown): boolean {
  return (error as Error | undefined)?.name === "AbortError";
}

/**
 * Reduces whatever a call threw to what the error panel shows: an {@link EaselError} keeps its
 * code, message, param and request id; anything else is a `client_error` with its message.
 *
 * @example
 * describeError(new EaselError("invalid_parameter", "input.steps must be <= 150", { param: "input.steps" }));
 * // { code: "invalid_parameter", message: "input.steps must be <= 150", param: "input.steps", field: "steps" }
 */
export function describeError(error: unknown, context?: ErrorContext): ShownError {
  if (error instanceof EaselError) {
    const field = fieldForParam(error.param);
    // The browser hides why a fetch failed (refused, down, CORS): all a page sees is "Failed to fetch".
    const unanswered = error.code === "backend_unavailable" && !error.requestId && context;
    return {
      code: error.code,
      message: error.message,
      ...(error.param ? { param: error.param } : {}),
      ...(field ? { field } : {}),
      ...(error.requestId ? { requestId: error.requestId } : {}),
      ...(unanswered
        ? {
            hint: `No answer from ${context.baseUrl}. Is the gateway running, and does its EASEL_CORS_ORIGINS include ${context.origin}?`,
          }
        : {}),
    };
  }
  return { code: "client_error", message: (error as Error)?.message ?? String(error) };
}
