import { describe, expect, it } from "vitest";
import { evalPromptSet } from "../dataset/eval-set.ts";
import { sampleSceneSpec } from "../dataset/sample.ts";
import { ShapesError } from "../errors.ts";
import { parsePrompt } from "../grammar/parse.ts";
import type { RgbImage } from "../image.ts";
import { renderScene } from "../render/index.ts";
import { mixSeed, Rng } from "../rng.ts";
import type { ObjectSpec, SceneSpec } from "../spec.ts";
import { evaluate, type VerdictAttributes } from "./evaluate.ts";

const COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black"] as const;
const SHAPES = ["circle", "square", "triangle", "star"] as const;
const POSITIONS = ["left", "right", "top", "bottom", "center"] as const;
const RELATIONS = ["above", "below", "left of", "right of"] as const;

/** A 3x3 box blur (edges clamped) plus uniform noise in [-amplitude, amplitude] per channel. */
function degrade(img: RgbImage, rng: Rng, amplitude: number): RgbImage {
  const { width, height, data } = img;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        let sum = 0;
        for (let dy = -1; dy <= 1; dy++) {
          for (let dx = -1; dx <= 1; dx++) {
            const yy = Math.min(height - 1, Math.max(0, y + dy));
            const xx = Math.min(width - 1, Math.max(0, x + dx));
            sum += data[(yy * width + xx) * 3 + c]!;
          }
        }
        const noisy = sum / 9 + rng.range(-amplitude, amplitude);
        out[(y * width + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(noisy)));
      }
    }
  }
  return { width, height, data: out };
}

function other<T>(values: readonly T[], not: T, rng: Rng): T {
  return rng.pick(values.filter((v) => v !== not));
}

type Attribute = keyof VerdictAttributes;

/** The same scene with exactly one attribute changed, or undefined when it does not apply. */
function variant(spec: SceneSpec, attribute: Attribute, rng: Rng): SceneSpec | undefined {
  const recolour = (o: ObjectSpec): ObjectSpec => ({ ...o, colour: other(COLOURS, o.colour, rng) });
  const reshape = (o: ObjectSpec): ObjectSpec => ({ ...o, shape: other(SHAPES, o.shape, rng) });
  const change = (edit: (o: ObjectSpec) => ObjectSpec): SceneSpec => {
    if (spec.form !== "relation") return { ...spec, object: edit(spec.object) };
    return rng.chance(0.5)
      ? { ...spec, subject: edit(spec.subject) }
      : { ...spec, reference: edit(spec.reference) };
  };
  switch (attribute) {
    case "colour":
      return change(recolour);
    case "shape":
      return change(reshape);
    case "size": {
      if (spec.form === "relation" || spec.object.size === undefined) return undefined;
      const size = spec.object.size === "big" ? "small" : "big";
      return { ...spec, object: { ...spec.object, size } };
    }
    case "position":
      if (spec.form !== "single" || spec.position === undefined) return undefined;
      return { ...spec, position: other(POSITIONS, spec.position, rng) };
    case "relation":
      if (spec.form !== "relation") return undefined;
      return { ...spec, relation: other(RELATIONS, spec.relation, rng) };
    case "count":
      if (spec.form === "single") {
        return spec.position === undefined
          ? { form: "count", object: spec.object, count: rng.pick([2, 3] as const) }
          : undefined;
      }
      if (spec.form === "count") {
        return rng.chance(0.5)
          ? { form: "single", object: spec.object }
          : { ...spec, count: spec.count === 2 ? 3 : 2 };
      }
      return undefined;
  }
}

describe("evaluate on ground-truth renders", () => {
  it("judges at least 99% of 600 evaluation prompts correct on their own renders", () => {
    const prompts = evalPromptSet({ seen: 400, heldOut: 200, seed: 1 });
    const failures: string[] = [];
    prompts.forEach(({ prompt }, i) => {
      const spec = parsePrompt(prompt);
      const verdict = evaluate(renderScene(spec, new Rng(mixSeed(77, i))), spec);
      if (!verdict.correct) failures.push(`${prompt}: ${JSON.stringify(verdict.attributes)}`);
    });
    const accuracy = 1 - failures.length / prompts.length;
    console.info(`evaluator accuracy on ${prompts.length} ground-truth renders: ${accuracy}`);
    expect(accuracy, failures.join("\n")).toBeGreaterThanOrEqual(0.99);
  });

  it("judges at least 95% correct after a 3x3 box blur and +-8 noise", () => {
    const rng = new Rng(31);
    let correct = 0;
    const total = 500;
    const failures: string[] = [];
    for (let i = 0; i < total; i++) {
      const spec = sampleSceneSpec(rng, "all");
      const verdict = evaluate(degrade(renderScene(spec, rng), rng, 8), spec);
      if (verdict.correct) correct++;
      else failures.push(`${JSON.stringify(spec)}: ${JSON.stringify(verdict.attributes)}`);
    }
    console.info(`evaluator accuracy on ${total} blurred + noisy renders: ${correct / total}`);
    expect(correct / total, failures.join("\n")).toBeGreaterThanOrEqual(0.95);
  });

  it("reports what it found and marks unmentioned attributes as not applicable", () => {
    const spec = parsePrompt("two big yellow stars");
    const verdict = evaluate(renderScene(spec, new Rng(2)), spec);
    expect(verdict.correct).toBe(true);
    expect(verdict.attributes).toEqual({
      colour: true,
      shape: true,
      count: true,
      size: true,
      position: null,
      relation: null,
    });
    expect(verdict.found.map((f) => [f.colour, f.shape, f.size])).toEqual([
      ["yellow", "star", "big"],
      ["yellow", "star", "big"],
    ]);
  });
});

describe("evaluate rejects renders of a prompt that differs in one attribute", () => {
  const attributes: Attribute[] = ["colour", "shape", "count", "size", "position", "relation"];
  for (const attribute of attributes) {
    it(`says ${attribute} is wrong for 80 scenes with a different ${attribute}`, () => {
      const rng = new Rng(mixSeed(500, attributes.indexOf(attribute)));
      let tested = 0;
      let othersRight = 0;
      while (tested < 80) {
        const spec = sampleSceneSpec(rng, "all");
        const changed = variant(spec, attribute, rng);
        if (changed === undefined) continue;
        tested++;
        const verdict = evaluate(renderScene(changed, rng), spec);
        const context = `${JSON.stringify(spec)} rendered as ${JSON.stringify(changed)}: ${JSON.stringify(verdict.attributes)}`;
        expect(verdict.correct, context).toBe(false);
        expect(verdict.attributes[attribute], context).toBe(false);
        const rest = Object.entries(verdict.attributes).filter(([k]) => k !== attribute);
        if (rest.every(([, v]) => v !== false)) othersRight++;
      }
      // The wrong attribute should be the one blamed: the others are mostly still judged right.
      expect(othersRight / tested).toBeGreaterThanOrEqual(0.9);
    });
  }
});

describe("evaluate edge cases", () => {
  it("finds nothing in a blank image and fails every applicable attribute", () => {
    const blank: RgbImage = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(240) };
    const verdict = evaluate(blank, parsePrompt("a red circle on the left"));
    expect(verdict.found).toEqual([]);
    expect(verdict.attributes).toEqual({
      colour: false,
      shape: false,
      count: false,
      size: null,
      position: false,
      relation: null,
    });
  });

  it("fails count when a stray object is added", () => {
    const spec = parsePrompt("a red circle");
    const img = renderScene(parsePrompt("a red circle left of a blue square"), new Rng(6));
    const verdict = evaluate(img, spec);
    expect(verdict.attributes.count).toBe(false);
    expect(verdict.attributes.colour).toBe(true);
    expect(verdict.attributes.shape).toBe(true);
  });

  it("judges images of other sizes by the same thirds", () => {
    const spec = parsePrompt("a big blue square on the right");
    const small = renderScene(spec, new Rng(1));
    // 2x nearest-neighbour upscale to 128x128.
    const data = new Uint8Array(128 * 128 * 3);
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        const s = ((y >> 1) * 64 + (x >> 1)) * 3;
        data.set(small.data.subarray(s, s + 3), (y * 128 + x) * 3);
      }
    }
    expect(evaluate({ width: 128, height: 128, data }, spec).correct).toBe(true);
  });

  it("names the mismatch when the image data has the wrong length", () => {
    const bad: RgbImage = { width: 64, height: 64, data: new Uint8Array(100) };
    expect(() => evaluate(bad, parsePrompt("a red circle"))).toThrow(ShapesError);
    expect(() => evaluate(bad, parsePrompt("a red circle"))).toThrow(
      "evaluate: image data length must be 64x64x3 = 12288, got 100",
    );
  });
});
