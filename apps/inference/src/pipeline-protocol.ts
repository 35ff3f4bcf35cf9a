import {
  type GenerateRequest,
  InvalidParameterError,
  type ModelInfo,
  PipelineAbortedError,
  PipelineError,
  type RgbImage,
  type SessionOptions,
} from "@easel/pipeline";

/** Messages from the service to the pipeline thread. `id` pairs each answer with its request. */
export type ToWorker =
  | { type: "load"; id: number; dir: string; options: SessionOptions }
  | { type: "validate"; id: number; request: GenerateRequest }
  | { type: "generate"; id: number; requests: GenerateRequest[]; previews: boolean }
  | { type: "abort"; id: number }
  | { type: "dispose"; id: number };

/** Messages from the pipeline thread to the service. */
export type ToMain =
  | { type: "loaded"; id: number; info: ModelInfo }
  | { type: "validated"; id: number }
  | { type: "progress"; id: number; step: number; total: number; previews: RgbImage[] | undefined }
  | { type: "result"; id: number; images: RgbImage[][] }
  | { type: "disposed"; id: number }
  | { type: "error"; id: number; error: SerializedError };

/** An error as it crosses threads: structured clone keeps neither classes nor extra fields. */
export interface SerializedError {
  name: string;
  message: string;
  param?: string;
  limit?: string;
  step?: number;
  total?: number;
}

export function serializeError(error: unknown): SerializedError {
  const e = error as {
    name?: string;
    message?: string;
    param?: unknown;
    limit?: unknown;
    step?: unknown;
    total?: unknown;
  };
  return {
    name: e?.name ?? "Error",
    message: e?.message ?? String(error),
    ...(typeof e?.param === "string" ? { param: e.param } : {}),
    ...(typeof e?.limit === "string" ? { limit: e.limit } : {}),
    ...(typeof e?.step === "number" ? { step: e.step } : {}),
    ...(typeof e?.total === "number" ? { total: e.total } : {}),
  };
}

/** Rebuilds the pipeline's error classes, so callers can still `instanceof` them. */
export function reviveError(e: SerializedError): Error {
  let error: Error;
  if (e.name === "InvalidParameterError" && e.param !== undefined && e.limit !== undefined) {
    error = new InvalidParameterError(e.param, e.limit);
  } else if (e.name === "AbortError" && e.step !== undefined && e.total !== undefined) {
    error = new PipelineAbortedError(e.step, e.total);
  } else {
    error = new PipelineError(e.message);
  }
  error.message = e.message;
  return error;
}
