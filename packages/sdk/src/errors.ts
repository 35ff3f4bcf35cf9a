import { EaselError, type ErrorCode, isErrorCode } from "@easel/schema";
import { TRPCClientError } from "@trpc/client";

export { EaselError, type ErrorCode };

/**
 * Turns whatever a call threw into an {@link EaselError} carrying the server's error code, param
 * and request id. Network failures become `backend_unavailable`; aborts are re-thrown as they are.
 */
export function toEaselError(error: unknown): EaselError {
  if (error instanceof EaselError) return error;
  if (error instanceof TRPCClientError && error.shape === undefined && error.data === undefined) {
    // No server envelope: the request itself failed (network down, CORS refused, aborted).
    return toEaselError(error.cause ?? new Error(error.message));
  }
  if (error instanceof TRPCClientError) {
    const easel = (error.data as { easel?: Record<string, unknown> } | undefined)?.easel;
    const code = isErrorCode(easel?.["code"]) ? easel["code"] : "internal_error";
    return new EaselError(code, error.message, {
      ...(typeof easel?.["param"] === "string" ? { param: easel["param"] } : {}),
      ...(typeof easel?.["retryAfter"] === "number" ? { retryAfter: easel["retryAfter"] } : {}),
      ...(typeof easel?.["requestId"] === "string" ? { requestId: easel["requestId"] } : {}),
      cause: error,
    });
  }
  if ((error as Error)?.name === "AbortError") throw error;
  return new EaselError(
    "backend_unavailable",
    `request failed: ${(error as Error)?.message ?? String(error)}`,
    {
      cause: error,
    },
  );
}
