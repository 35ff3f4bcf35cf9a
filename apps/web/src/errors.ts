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
export function describeError(error: unknown): ShownError {
  if (error instanceof EaselError) {
    const field = fieldForParam(error.param);
    return {
      code: error.code,
      message: error.message,
      ...(error.param ? { param: error.param } : {}),
      ...(field ? { field } : {}),
      ...(error.requestId ? { requestId: error.requestId } : {}),
    };
  }
  return { code: "client_error", message: (error as Error)?.message ?? String(error) };
}
