import { describe, expect, it } from "vitest";
import { EaselError } from "./errors.ts";
import { generationInputSchema } from "./generation.ts";
import { parseOrThrow } from "./issues.ts";

function errorOf(value: unknown): EaselError {
  try {
    parseOrThrow(generationInputSchema, value);
  } catch (error) {
    if (error instanceof EaselError) return error;
    throw error;
  }
  throw new Error("expected the input to be rejected");
}

describe("parseOrThrow on generation input", () => {
  it("names the field and the limit for numbers out of range", () => {
    const error = errorOf({ prompt: "a red circle", steps: 500 });
    expect(error.code).toBe("invalid_parameter");
    expect(error.param).toBe("steps");
    expect(error.message).toBe("steps must be <= 150, got 500");
  });

  it("names the multiple a size must respect", () => {
    expect(errorOf({ prompt: "x", width: 100 }).message).toBe(
      "width must be a multiple of 8, got 100",
    );
  });

  it("rejects an empty or whitespace-only prompt", () => {
    expect(errorOf({ prompt: "   " }).message).toBe("prompt must not be empty");
  });

  it("rejects a missing prompt, naming it", () => {
    const error = errorOf({});
    expect(error.param).toBe("prompt");
    expect(error.message).toBe("prompt must be a string (missing)");
  });

  it("rejects unknown fields by name", () => {
    expect(errorOf({ prompt: "x", colour: "red" }).message).toBe("unknown field: colour");
  });

  it("lists the allowed schedulers for an unknown one", () => {
    expect(errorOf({ prompt: "x", scheduler: "magic" }).message).toMatch(
      /^scheduler must be one of "ddim", /,
    );
  });

  it("accepts a valid input unchanged", () => {
    const input = { prompt: "a red circle", width: 64, height: 64, steps: 20, seed: 0 };
    expect(parseOrThrow(generationInputSchema, input)).toEqual(input);
  });
});
