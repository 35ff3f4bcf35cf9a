import { describe, expect, it } from "vitest";
import { ImageCodecError } from "../image/errors.ts";
import { SchedulerError } from "../schedulers/errors.ts";
import { TokenizerError } from "../tokenizer/errors.ts";
import { PipelineError } from "./index.ts";

describe("pipeline errors", () => {
  it("makes every area's base error a PipelineError that keeps its own name, message and cause", () => {
    const cause = new Error("lower level");
    const errors = [
      new TokenizerError("cannot read vocab.json", { cause }),
      new ImageCodecError("PNG truncated at byte 12", { cause }),
      new SchedulerError("DDIMScheduler: bad config", { cause }),
    ];
    expect(errors.map((e) => e instanceof PipelineError)).toEqual([true, true, true]);
    expect(errors.map((e) => e.name)).toEqual([
      "TokenizerError",
      "ImageCodecError",
      "SchedulerError",
    ]);
    expect(errors.map((e) => e.message)).toEqual([
      "cannot read vocab.json",
      "PNG truncated at byte 12",
      "DDIMScheduler: bad config",
    ]);
    expect(errors.every((e) => e.cause === cause)).toBe(true);
  });

  it("leaves cause unset when none is given", () => {
    expect("cause" in new ImageCodecError("JPEG: no SOI marker")).toBe(false);
    expect("cause" in new TokenizerError("modelMaxLength must be an integer >= 2, got 1")).toBe(
      false,
    );
  });
});
