import { describe, expect, it } from "vitest";
import { PromptParseError } from "../errors.ts";
import type { ObjectSpec, SceneSpec } from "../spec.ts";
import { parsePrompt } from "./parse.ts";

// Vocabulary written out here, not imported, so the test states the issue's grammar independently.
const COLOURS = ["red", "green", "blue", "yellow", "purple", "orange", "black"] as const;
const SHAPES = ["circle", "square", "triangle", "star"] as const;
const SIZES = [undefined, "small", "big"] as const;
const POSITIONS = [
  [undefined, ""],
  ["left", " on the left"],
  ["right", " on the right"],
  ["top", " at the top"],
  ["bottom", " at the bottom"],
  ["center", " in the center"],
] as const;
const RELATIONS = ["above", "below", "left of", "right of"] as const;

function object(colour: string, shape: string, size?: string): ObjectSpec {
  return (size === undefined ? { colour, shape } : { colour, shape, size }) as ObjectSpec;
}

describe("parsePrompt: canonical forms exactly as the issue writes them", () => {
  it("parses every 'a [small|big] <colour> <shape> [position]'", () => {
    let checked = 0;
    for (const colour of COLOURS) {
      for (const shape of SHAPES) {
        for (const size of SIZES) {
          for (const [position, phrase] of POSITIONS) {
            const text = `a ${size ? `${size} ` : ""}${colour} ${shape}${phrase}`;
            const expected: SceneSpec =
              position === undefined
                ? { form: "single", object: object(colour, shape, size) }
                : { form: "single", object: object(colour, shape, size), position };
            expect(parsePrompt(text), text).toStrictEqual(expected);
            checked++;
          }
        }
      }
    }
    expect(checked).toBe(7 * 4 * 3 * 6);
  });

  it("parses every 'two|three [small|big] <colour> <shape>s'", () => {
    for (const [word, count] of [
      ["two", 2],
      ["three", 3],
    ] as const) {
      for (const colour of COLOURS) {
        for (const shape of SHAPES) {
          for (const size of SIZES) {
            const text = `${word} ${size ? `${size} ` : ""}${colour} ${shape}s`;
            expect(parsePrompt(text), text).toStrictEqual({
              form: "count",
              object: object(colour, shape, size),
              count,
            });
          }
        }
      }
    }
  });

  it("parses every 'a <colour> <shape> above|below|left of|right of a <colour> <shape>'", () => {
    for (const relation of RELATIONS) {
      for (const c1 of COLOURS) {
        for (const s1 of SHAPES) {
          for (const c2 of COLOURS) {
            for (const s2 of SHAPES) {
              const text = `a ${c1} ${s1} ${relation} a ${c2} ${s2}`;
              expect(parsePrompt(text), text).toStrictEqual({
                form: "relation",
                subject: object(c1, s1),
                relation,
                reference: object(c2, s2),
              });
            }
          }
        }
      }
    }
  });
});

describe("parsePrompt: paraphrases map to the canonical spec", () => {
  const cases: [canonical: string, paraphrases: string[]][] = [
    [
      "a red circle",
      [
        "an red circle",
        "one red circle",
        "a single red circle",
        "there is a red circle",
        "red circle",
        "A Red Circle.",
        "  a   red circle ",
      ],
    ],
    ["an orange circle", ["a orange circle", "there's an orange circle", "the orange circle"]],
    [
      "a big green star in the center",
      [
        "one big green star in the middle",
        "a large green star in the centre",
        "a big green star at the center",
        "there is a huge green star in the middle",
        "big green star, center",
        "big green star, middle",
        "a big green star is in the center",
      ],
    ],
    [
      "a red circle at the top",
      [
        "red circle, top",
        "a red circle on top",
        "a red circle near the top",
        "red circle top",
        "a red circle, top",
      ],
    ],
    [
      "a small blue square on the left",
      [
        "a little blue square to the left",
        "a tiny blue square on the left side",
        "one small blue square at the left",
        "small blue square, left",
      ],
    ],
    [
      "a black triangle at the bottom",
      ["a black triangle on the bottom", "black triangle, bottom"],
    ],
    [
      "a yellow star on the right",
      ["a yellow star to the right", "a yellow star on the right side"],
    ],
    [
      "two small blue squares",
      [
        "2 small blue squares",
        "a pair of small blue squares",
        "there are two little blue squares",
        "two small blue square",
      ],
    ],
    [
      "three red stars",
      ["3 red stars", "there are three red stars", "three red star", "the three red stars"],
    ],
    [
      "a red circle left of a blue square",
      [
        "a red circle to the left of a blue square",
        "a red circle on the left of a blue square",
        "the red circle is to the left of the blue square",
        "there is a red circle left of a blue square",
        "a red circle is left of a blue square",
      ],
    ],
    [
      "a red circle right of a blue square",
      [
        "a red circle to the right of a blue square",
        "the red circle is on the right of the blue square",
      ],
    ],
    [
      "a purple star above a green triangle",
      [
        "a purple star over a green triangle",
        "a purple star on top of a green triangle",
        "the purple star is above the green triangle",
      ],
    ],
    [
      "a purple star below a green triangle",
      [
        "a purple star under a green triangle",
        "a purple star beneath a green triangle",
        "a purple star underneath a green triangle",
        "the purple star is below the green triangle",
      ],
    ],
  ];

  for (const [canonical, paraphrases] of cases) {
    it(`reads ${paraphrases.length} paraphrases of "${canonical}" as the same scene`, () => {
      const expected = parsePrompt(canonical);
      for (const text of paraphrases) expect(parsePrompt(text), text).toStrictEqual(expected);
    });
  }

  it("accepts sizes on both objects of a relation", () => {
    expect(parsePrompt("a big red circle above a small blue square")).toStrictEqual({
      form: "relation",
      subject: { colour: "red", shape: "circle", size: "big" },
      relation: "above",
      reference: { colour: "blue", shape: "square", size: "small" },
    });
  });
});

describe("parsePrompt: errors name what could not be parsed", () => {
  const errors: [string, RegExp, string | null][] = [
    ["", /the prompt is empty/, null],
    [
      "a pink circle",
      /unknown colour "pink" \(expected one of red, green, blue, yellow, purple, orange, black\)/,
      "pink",
    ],
    [
      "a red hexagon",
      /unknown shape "hexagon" \(expected one of circle, square, triangle, star\)/,
      "hexagon",
    ],
    ["a circle", /missing colour before "circle"/, "circle"],
    ["a red", /missing shape after "a red"/, null],
    ["four red circles", /count "four" is not supported: counts are one, two or three/, "four"],
    ["5 red circles", /count "5" is not supported/, "5"],
    ["a big small red circle", /two sizes given \("big" and "small"\)/, "small"],
    ["a red blue circle", /two colours given \("red" and "blue"\)/, "blue"],
    ["two red circles on the left", /a position cannot be combined with a count \("two"\)/, "two"],
    [
      "two red circles above a blue square",
      /a count \("two"\) cannot be combined with a relation/,
      "two",
    ],
    ["a red circle above", /missing object after "a red circle above"/, null],
    ["a red circle near a blue square", /unexpected "near" after "a red circle"/, "near"],
    ["a red circle, sideways", /unexpected "," after "a red circle"/, ","],
    ["there a red circle", /expected "is" or "are" after "there"/, "a"],
  ];
  for (const [text, message, word] of errors) {
    it(`rejects ${JSON.stringify(text)} with ${message.source}`, () => {
      let error: unknown;
      try {
        parsePrompt(text);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(PromptParseError);
      const parseError = error as PromptParseError;
      expect(parseError.message).toMatch(message);
      expect(parseError.message).toContain(JSON.stringify(text));
      expect(parseError.word).toBe(word);
      expect(parseError.prompt).toBe(text);
    });
  }
});
