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
