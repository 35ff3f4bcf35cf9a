import { EaselError } from "@easel/sdk";
import { describe, expect, it } from "vitest";
import { describeError, isAbort } from "./errors.ts";

describe("describeError", () => {
  it("keeps an EaselError's code, message, param and request id and names the field", () => {
    const error = new EaselError("invalid_parameter", "input.steps must be <= 150", {
      param: "input.steps",
      requestId: "req-1",
    });
    expect(describeError(error)).toEqual({
      code: "invalid_parameter",
      message: "input.steps must be <= 150",
      param: "input.steps",
      field: "steps",
      requestId: "req-1",
    });
  });

  it("adds what to check when a request got no answer at all (down, refused, CORS)", () => {
    const error = new EaselError("backend_unavailable", "request failed: Failed to fetch");
    const context = { baseUrl: "http://127.0.0.1:8787", origin: "http://127.0.0.1:5173" };
    expect(describeError(error, context)).toEqual({
      code: "backend_unavailable",
      message: "request failed: Failed to fetch",
      hint: "No answer from http://127.0.0.1:8787. Is the gateway running, and does its EASEL_CORS_ORIGINS include http://127.0.0.1:5173?",
    });
    const answered = new EaselError("backend_unavailable", "inference is down", {
      requestId: "req-2",
    });
    expect(describeError(answered, context).hint).toBeUndefined();
  });

  it("shows other failures as client errors with their message", () => {
    expect(describeError(new TypeError("createEaselClient: apiKey is required"))).toEqual({
      code: "client_error",
      message: "createEaselClient: apiKey is required",
    });
  });
});

describe("isAbort", () => {
  it("recognises the AbortError an aborted signal raises", () => {
    const controller = new AbortController();
    controller.abort();
    expect(isAbort(controller.signal.reason)).toBe(true);
    expect(isAbort(new EaselError("conflict", "job was canceled"))).toBe(false);
  });
});
