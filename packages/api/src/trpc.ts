import { describeIssue, EaselError, ERROR_STATUS, type ErrorCode, openAiErrorType } from "@easel/schema";
import { initTRPC, type TRPCError } from "@trpc/server";
import { ZodError } from "zod";
import type { ApiContext } from "./context.ts";

/** Our error for any error tRPC reports: the EaselError it wraps, or one derived from it. */
export function toEaselError(error: TRPCError): EaselError {
  const cause = error.cause;
  if (cause instanceof EaselError) return cause;
  if (cause instanceof ZodError) {
    const first = cause.issues[0];
    if (first) {
      const { param, message } = describeIssue(first);
      return new EaselError("invalid_parameter", message, { param });
    }
  }
  const byTrpcCode: Partial<Record<TRPCError["code"], ErrorCode>> = {
    PARSE_ERROR: "invalid_request",
    BAD_REQUEST: "invalid_request",
    UNAUTHORIZED: "unauthorized",
    FORBIDDEN: "forbidden",
    NOT_FOUND: "not_found",
    METHOD_NOT_SUPPORTED: "method_not_allowed",
    PAYLOAD_TOO_LARGE: "payload_too_large",
    UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    TOO_MANY_REQUESTS: "rate_limited",
  };
  const code = byTrpcCode[error.code] ?? "internal_error";
  return new EaselError(code, code === "internal_error" ? "internal error" : error.message);
}

/** Fields every tRPC error carries in `error.data`, so the SDK can rebuild our error class. */
export interface EaselErrorData {
  easel: { code: ErrorCode; type: string; status: number; param?: string; retryAfter?: number; requestId: string };
}

const t = initTRPC.context<ApiContext>().create({
  errorFormatter({ shape, error, ctx }) {
    const easel = toEaselError(error);
    const data: EaselErrorData["easel"] = {
      code: easel.code,
      type: openAiErrorType(easel.code),
      status: ERROR_STATUS[easel.code],
      requestId: ctx?.requestId ?? "",
      ...(easel.param === undefined ? {} : { param: easel.param }),
      ...(easel.retryAfter === undefined ? {} : { retryAfter: easel.retryAfter }),
    };
    return { ...shape, message: easel.message, data: { ...shape.data, stack: undefined, easel: data } };
  },
});

export const router = t.router;

/** Every Easel procedure needs an API key; the gateway's auth middleware has checked it already. */
export const authedProcedure = t.procedure.use(function requireKey({ ctx, next }) {
  if (!ctx.key) throw new EaselError("unauthorized", "missing or invalid API key");
  return next({ ctx: { ...ctx, key: ctx.key } });
});
