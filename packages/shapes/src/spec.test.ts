import { describe, expect, it } from "vitest";
import { ShapesError } from "./errors.ts";
import { isHeldOut, type SceneSpec, sceneObjects, validateSceneSpec } from "./spec.ts";

const single = (colour: string, shape: string): SceneSpec =>
  validateSceneSpec({ form: "single", object: { colour, shape } });
const relation = (a: string, rel: string, b: string): SceneSpec => {
  const [ca, sa] = a.split(" ");
  const [cb, sb] = b.split(" ");
  return validateSceneSpec({
    form: "relation",
    subject: { colour: ca, shape: sa },
    relation: rel,
    reference: { colour: cb, shape: sb },
  });
};

describe("isHeldOut", () => {
  it("holds out the four colour+shape pairs in any form", () => {
    expect(isHeldOut(single("purple", "triangle"))).toBe(true);
    expect(isHeldOut(single("orange", "circle"))).toBe(true);
    expect(isHeldOut(single("green", "star"))).toBe(true);
    expect(isHeldOut(single("red", "square"))).toBe(true);
    expect(
      isHeldOut({
        form: "count",
        object: { colour: "red", shape: "square", size: "big" },
        count: 3,
      }),
    ).toBe(true);
    expect(isHeldOut(relation("black circle", "left of", "green star"))).toBe(true);
  });

  it("keeps the same colours and shapes in other pairs", () => {
    expect(isHeldOut(single("purple", "circle"))).toBe(false);
    expect(isHeldOut(single("red", "triangle"))).toBe(false);
    expect(isHeldOut(single("green", "square"))).toBe(false);
    expect(isHeldOut(single("orange", "star"))).toBe(false);
  });

  it("holds out a yellow object above a blue one, stated either way round", () => {
    expect(isHeldOut(relation("yellow circle", "above", "blue square"))).toBe(true);
    expect(isHeldOut(relation("blue square", "below", "yellow circle"))).toBe(true);
  });

  it("keeps yellow beside blue and blue above yellow", () => {
    expect(isHeldOut(relation("yellow circle", "left of", "blue square"))).toBe(false);
    expect(isHeldOut(relation("yellow circle", "right of", "blue square"))).toBe(false);
    expect(isHeldOut(relation("blue circle", "above", "yellow square"))).toBe(false);
    expect(isHeldOut(relation("yellow circle", "below", "blue square"))).toBe(false);
  });
});

describe("sceneObjects", () => {
  it("lists count copies and relation objects in order", () => {
    expect(
      sceneObjects({ form: "count", object: { colour: "red", shape: "star" }, count: 3 }),
    ).toHaveLength(3);
    const objects = sceneObjects(relation("red circle", "above", "blue square"));
    expect(objects.map((o) => o.colour)).toEqual(["red", "blue"]);
  });
});

describe("validateSceneSpec", () => {
  it("names the first bad field", () => {
    expect(() =>
      validateSceneSpec({ form: "single", object: { colour: "pink", shape: "star" } }),
    ).toThrow(/object\.colour must be one of red, .*, got "pink"/);
    expect(() =>
      validateSceneSpec({ form: "count", object: { colour: "red", shape: "star" }, count: 4 }),
    ).toThrow(/count must be 2 or 3, got 4/);
    expect(() => validateSceneSpec({ form: "cloud" })).toThrow(ShapesError);
  });

  it("drops unknown keys and keeps optional fields only when present", () => {
    expect(
      validateSceneSpec({ form: "single", object: { colour: "red", shape: "star", extra: 1 } }),
    ).toStrictEqual({ form: "single", object: { colour: "red", shape: "star" } });
  });
});
