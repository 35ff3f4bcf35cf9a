import { describe, expect, it } from "vitest";
import { fieldForParam, toGenerationInput } from "./params.ts";

describe("toGenerationInput", () => {
  it("leaves empty fields out so the model's defaults apply", () => {
    expect(
      toGenerationInput({
        prompt: "a red circle",
        negative_prompt: "  ",
        scheduler: "",
        width: "",
        steps: " ",
        seed: "",
      }),
    ).toEqual({ prompt: "a red circle" });
  });

  it("converts the numeric fields and keeps the scheduler name", () => {
    expect(
      toGenerationInput({
        prompt: "p",
        negative_prompt: " blurry ",
        scheduler: "euler-a",
        width: "128",
        height: "96",
        steps: "20",
        guidance_scale: "7.5",
        seed: "4294967295",
        num_images: "2",
      }),
    ).toEqual({
      prompt: "p",
      negative_prompt: "blurry",
      scheduler: "euler-a",
      width: 128,
      height: 96,
      steps: 20,
      guidance_scale: 7.5,
      seed: 4294967295,
      num_images: 2,
    });
  });

  it("sends out-of-range values unchanged for the gateway to reject by name", () => {
    expect(toGenerationInput({ prompt: "p", steps: "500", width: "100" })).toEqual({
      prompt: "p",
      steps: 500,
      width: 100,
    });
  });
});

describe("fieldForParam", () => {
  it("maps the gateway's param to the form field", () => {
    expect(fieldForParam("input.steps")).toBe("steps");
    expect(fieldForParam("input.guidance_scale")).toBe("guidance_scale");
    expect(fieldForParam("prompt")).toBe("prompt");
  });

  it("returns null for params the form has no field for", () => {
    expect(fieldForParam(undefined)).toBeNull();
    expect(fieldForParam("model")).toBeNull();
    expect(fieldForParam("input.image")).toBeNull();
  });
});
