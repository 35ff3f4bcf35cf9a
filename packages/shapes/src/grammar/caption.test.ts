import { describe, expect, it } from "vitest";
import { sampleSceneSpec } from "../dataset/sample.ts";
import { Rng } from "../rng.ts";
import { canonicalCaption, captionFor } from "./caption.ts";
import { parsePrompt } from "./parse.ts";

describe("captionFor", () => {
  it("writes the canonical wording by default", () => {
    const rng = new Rng(0);
    expect(
      captionFor(
        {
          form: "single",
          object: { colour: "red", shape: "circle", size: "big" },
          position: "left",
        },
        rng,
      ),
    ).toBe("a big red circle on the left");
    expect(
      captionFor(
        { form: "single", object: { colour: "orange", shape: "star" }, position: "center" },
        rng,
      ),
    ).toBe("an orange star in the center");
    expect(
      captionFor(
        { form: "count", object: { colour: "blue", shape: "square", size: "small" }, count: 2 },
        rng,
      ),
    ).toBe("two small blue squares");
    expect(
      canonicalCaption({
        form: "relation",
        subject: { colour: "yellow", shape: "triangle" },
        relation: "right of",
        reference: { colour: "black", shape: "star" },
      }),
    ).toBe("a yellow triangle right of a black star");
  });

  it("writes paraphrases that parse back to the same spec", () => {
    const rng = new Rng(11);
    const wordings = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const spec = sampleSceneSpec(rng, "all");
      const caption = captionFor(spec, rng, { paraphrase: true });
      wordings.add(caption);
      expect(parsePrompt(caption), caption).toStrictEqual(spec);
    }
    expect(wordings.size).toBeGreaterThan(1000);
  });

  it("varies the wording of one scene when paraphrasing", () => {
    const rng = new Rng(5);
    const spec = parsePrompt("a small red circle at the top");
    const wordings = new Set(
      Array.from({ length: 200 }, () => captionFor(spec, rng, { paraphrase: true })),
    );
    expect(wordings.size).toBeGreaterThanOrEqual(8);
  });
});
