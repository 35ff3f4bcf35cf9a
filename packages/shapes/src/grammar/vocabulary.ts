import {
  COLOURS,
  type Colour,
  type Position,
  type Relation,
  SHAPES,
  type Shape,
  type Size,
} from "../world.ts";

/** Canonical position phrases, exactly as the issue writes them. */
export const POSITION_PHRASE: Readonly<Record<Position, string>> = {
  left: "on the left",
  right: "on the right",
  top: "at the top",
  bottom: "at the bottom",
  center: "in the center",
};

/** Words that name a size. */
export const SIZE_WORDS: ReadonlyMap<string, Size> = new Map([
  ["small", "small"],
  ["little", "small"],
  ["tiny", "small"],
  ["big", "big"],
  ["large", "big"],
  ["huge", "big"],
]);

/** Words that name a colour (only the palette names). */
export const COLOUR_WORDS: ReadonlyMap<string, Colour> = new Map(COLOURS.map((c) => [c, c]));

/** Words that name a shape, singular and plural. */
export const SHAPE_WORDS: ReadonlyMap<string, Shape> = new Map(
  SHAPES.flatMap((s): [string, Shape][] => [
    [s, s],
    [`${s}s`, s],
  ]),
);

/** Words that name a position where a position may stand (after "on the", "at the", a comma, ...). */
export const POSITION_WORDS: ReadonlyMap<string, Position> = new Map([
  ["left", "left"],
  ["right", "right"],
  ["top", "top"],
  ["bottom", "bottom"],
  ["center", "center"],
  ["centre", "center"],
  ["middle", "center"],
]);

/** Number words and digits accepted as counts. */
export const COUNT_WORDS: ReadonlyMap<string, 1 | 2 | 3> = new Map([
  ["one", 1],
  ["1", 1],
  ["single", 1],
  ["two", 2],
  ["2", 2],
  ["three", 3],
  ["3", 3],
]);

/** Counts the grammar knows but the world does not draw, to name them in errors. */
export const UNSUPPORTED_COUNT_WORDS: ReadonlySet<string> = new Set([
  "zero",
  "no",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "ten",
  "many",
  "several",
]);

/** Single words that are a whole relation phrase. */
export const RELATION_WORDS: ReadonlyMap<string, Relation> = new Map([
  ["above", "above"],
  ["over", "above"],
  ["below", "below"],
  ["under", "below"],
  ["beneath", "below"],
  ["underneath", "below"],
]);

/** Prepositions that may open a position phrase ("on the left") or a side relation ("to the left of"). */
export const PREPOSITIONS: ReadonlySet<string> = new Set(["on", "at", "in", "to", "near"]);

/** "a" or "an" for the word that follows. */
export function article(nextWord: string): "a" | "an" {
  return /^[aeiou]/.test(nextWord) ? "an" : "a";
}
