import { describe, expect, it } from "vitest";
import { formatParameters, parametersText } from "./parameters.ts";

const base = {
  prompt: "a red circle on a blue square",
  steps: 20,
  scheduler: "euler-a",
  guidanceScale: 7.5,
  seed: 42,
  width: 512,
  height: 512,
  model: "shapes-v1",
};

describe("formatParameters", () => {
  it("writes AUTOMATIC1111's layout with the negative prompt on its own line", () => {
    expect(formatParameters({ ...base, negativePrompt: "blurry" })).toBe(
      "a red circle on a blue square\nNegative prompt: blurry\n" +
        "Steps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: shapes-v1",
    );
  });

  it("leaves out the negative prompt line when there is none", () => {
    expect(formatParameters({ ...base, guidanceScale: 7 })).toBe(
      "a red circle on a blue square\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: shapes-v1",
    );
  });

  it("maps class names to A1111 sampler names and keeps unknown ones as given", () => {
    expect(formatParameters({ ...base, scheduler: "DPMSolverMultistepScheduler" })).toContain(
      "Sampler: DPM++ 2M,",
    );
    expect(formatParameters({ ...base, scheduler: "dpm++2m-karras" })).toContain(
      "Sampler: DPM++ 2M Karras,",
    );
    expect(formatParameters({ ...base, scheduler: "pndm" })).toContain("Sampler: pndm,");
  });

  it("quotes values holding commas or colons as A1111 does", () => {
    expect(formatParameters({ ...base, model: "runwayml/sd, v1.5" })).toMatch(
      /Model: "runwayml\/sd, v1.5"$/,
    );
  });
});

describe("parametersText", () => {
  it("adds one key per setting beside the A1111 text", () => {
    expect(parametersText({ ...base, negativePrompt: "blurry" })).toEqual({
      parameters: formatParameters({ ...base, negativePrompt: "blurry" }),
      prompt: base.prompt,
      negative_prompt: "blurry",
      steps: "20",
      scheduler: "euler-a",
      guidance_scale: "7.5",
      seed: "42",
      size: "512x512",
      model: "shapes-v1",
    });
  });
});
