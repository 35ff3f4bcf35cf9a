import {
  describeIssue,
  EaselError,
  ERROR_STATUS,
  type ErrorCode,
  openAiErrorType,
} from "@easel/schema";
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
  easel: {
    code: ErrorCode;
    type: string;
    status: number;
    param?: string;
    retryAfter?: number;
    requestId: string;
  };
}

/** The wire fields of an EaselError inside tRPC's `error.data`. */
export function easelErrorData(easel: EaselError, requestId: string): EaselErrorData["easel"] {
  return {
    code: easel.code,
    type: openAiErrorType(easel.code),
    status: ERROR_STATUS[easel.code],
    requestId,
    ...(easel.param === undefined ? {} : { param: easel.param }),
    ...(easel.retryAfter === undefined ? {} : { retryAfter: easel.retryAfter }),
  };
}

/**
 * tRPC's JSON error envelope for an error raised before tRPC runs (auth, rate limits, body size in
 * the gateway's middleware), so tRPC clients read it like any procedure error.
 */
export function trpcErrorEnvelope(easel: EaselError, requestId: string, path: string) {
  const status = ERROR_STATUS[easel.code];
  const trpcCode = TRPC_CODE_BY_STATUS[status] ?? "INTERNAL_SERVER_ERROR";
  return {
    error: {
      message: easel.message,
      code: TRPC_JSONRPC_CODES[trpcCode],
      data: { code: trpcCode, httpStatus: status, path, easel: easelErrorData(easel, requestId) },
    },
  };
}

const TRPC_CODE_BY_STATUS: Record<number, TRPCError["code"]> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  503: "SERVICE_UNAVAILABLE",
  504: "GATEWAY_TIMEOUT",
};

const TRPC_JSONRPC_CODES: Record<string, number> = {
  BAD_REQUEST: -32600,
  UNAUTHORIZED: -32001,
  FORBIDDEN: -32003,
  NOT_FOUND: -32004,
  METHOD_NOT_SUPPORTED: -32005,
  CONFLICT: -32009,
  PAYLOAD_TOO_LARGE: -32013,
  UNSUPPORTED_MEDIA_TYPE: -32015,
  UNPROCESSABLE_CONTENT: -32022,
  TOO_MANY_REQUESTS: -32029,
  SERVICE_UNAVAILABLE: -32603,
  GATEWAY_TIMEOUT: -32603,
  INTERNAL_SERVER_ERROR: -32603,
};

const t = initTRPC.context<ApiContext>().create({
  errorFormatter({ shape, error, ctx }) {
    const easel = toEaselError(error);
    const data = easelErrorData(easel, ctx?.requestId ?? "");
    // tRPC's own code follows our status too, so tRPC clients see NOT_FOUND rather than a 500.
    const trpcCode = TRPC_CODE_BY_STATUS[data.status] ?? "INTERNAL_SERVER_ERROR";
    return {
      ...shape,
      message: easel.message,
      code: TRPC_JSONRPC_CODES[trpcCode] ?? shape.code,
      data: {
        ...shape.data,
        code: trpcCode,
        httpStatus: data.status,
        stack: undefined,
        easel: data,
      },
    };
  },
});

export const router = t.router;

/** Every Easel procedure needs an API key; the gateway's auth middleware has checked it already. */
export const authedProcedure = t.procedure.use(function requireKey({ ctx, next }) {
  if (!ctx.key) throw new EaselError("unauthorized", "missing or invalid API key");
  return next({ ctx: { ...ctx, key: ctx.key } });
});
