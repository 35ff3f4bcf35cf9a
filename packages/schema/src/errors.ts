/**
 * The one wire contract for errors, shared by the gateway, the inference service and the SDK.
 * Every error on the wire is `{ error: { code, message, param?, requestId? } }` with the HTTP status
 * given by {@link ERROR_STATUS}; nothing else decides a status.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_parameter: 400,
  unauthorized: 401,
  invalid_signature: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  idempotency_in_progress: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  idempotency_mismatch: 422,
  rate_limited: 429,
  concurrency_limited: 429,
  internal_error: 500,
  backend_unavailable: 503,
  queue_full: 503,
  not_ready: 503,
  backend_timeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** Codes a failed prediction can carry (they are not HTTP errors: the prediction itself says so). */
export const FAILURE_CODES = [
  "invalid_parameter",
  "model_error",
  "deadline_exceeded",
  "interrupted",
  "storage_error",
  "internal_error",
] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/**
 * The wire shape. `type` is OpenAI's error category, so that OpenAI clients read our errors
 * unchanged; `code`, `message` and `param` mean the same in both.
 */
export interface ErrorBody {
  error: { code: ErrorCode; type: string; message: string; param?: string; requestId?: string };
}

/** OpenAI's error `type` for one of our codes. */
export function openAiErrorType(code: ErrorCode): string {
  const status = ERROR_STATUS[code];
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(ERROR_STATUS, value);
}

/**
 * The base error of Easel's wire contract: a code from {@link ERROR_STATUS}, a message naming the
 * operation and the values, and optionally the offending parameter.
 *
 * @example
 * throw new EaselError("invalid_parameter", "steps must be <= 150, got 500", { param: "steps" });
 */
export class EaselError extends Error {
  override readonly name = "EaselError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly param: string | undefined;
  /** Seconds a client should wait before retrying (429, 503). */
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { param?: string; retryAfter?: number; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.param = options.param;
    this.retryAfter = options.retryAfter;
    this.requestId = options.requestId;
  }

  toBody(requestId?: string): ErrorBody {
    const id = requestId ?? this.requestId;
    return {
      error: {
        code: this.code,
        type: openAiErrorType(this.code),
        message: this.message,
        ...(this.param === undefined ? {} : { param: this.param }),
        ...(id === undefined ? {} : { requestId: id }),
      },
    };
  }

  /** Rebuilds an error from a wire body (clients); unknown codes become `internal_error`. */
  static fromBody(body: unknown, fallbackStatus = 500): EaselError {
    const error = (body as { error?: Record<string, unknown> } | null)?.error;
    const code = isErrorCode(error?.["code"]) ? error["code"] : statusToCode(fallbackStatus);
    const message =
      typeof error?.["message"] === "string" ? error["message"] : `HTTP ${fallbackStatus}`;
    const param = typeof error?.["param"] === "string" ? error["param"] : undefined;
    const requestId = typeof error?.["requestId"] === "string" ? error["requestId"] : undefined;
    return new EaselError(code, message, {
      ...(param === undefined ? {} : { param }),
      ...(requestId === undefined ? {} : { requestId }),
    });
  }
}

function statusToCode(status: number): ErrorCode {
  const match = (Object.keys(ERROR_STATUS) as ErrorCode[]).find((c) => ERROR_STATUS[c] === status);
  return match ?? "internal_error";
}
