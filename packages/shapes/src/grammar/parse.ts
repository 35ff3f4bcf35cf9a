import { PromptParseError } from "../errors.ts";
import type { ObjectSpec, SceneSpec } from "../spec.ts";
import { COLOURS, type Colour, type Position, type Relation, SHAPES, type Size } from "../world.ts";
import {
  COLOUR_WORDS,
  COUNT_WORDS,
  POSITION_WORDS,
  PREPOSITIONS,
  RELATION_WORDS,
  SHAPE_WORDS,
  SIZE_WORDS,
  UNSUPPORTED_COUNT_WORDS,
} from "./vocabulary.ts";

interface NounPhrase {
  count: 1 | 2 | 3;
  /** The word that set the count, for error messages; null when implicit. */
  countWord: string | null;
  object: ObjectSpec;
}

function tokenize(text: string): string[] {
  const cleaned = text
    .toLowerCase()
    .replace(/\u2019/g, "'")
    .trim()
    .replace(/[.!]+$/, "");
  return cleaned.match(/[a-z0-9']+|,|[^\sa-z0-9',]+/g) ?? [];
}

/** A cursor over the prompt's words; `fail` builds errors that quote what was read so far. */
class Words {
  private index = 0;

  constructor(
    private readonly prompt: string,
    private readonly tokens: readonly string[],
  ) {}

  peek(offset = 0): string | undefined {
    return this.tokens[this.index + offset];
  }

  next(): string | undefined {
    const token = this.tokens[this.index];
    if (token !== undefined) this.index++;
    return token;
  }

  done(): boolean {
    return this.index >= this.tokens.length;
  }

  /** Consumes `words` if they come next, all of them. */
  accept(...words: string[]): boolean {
    if (!words.every((w, i) => this.peek(i) === w)) return false;
    this.index += words.length;
    return true;
  }

  mark(): number {
    return this.index;
  }

  reset(mark: number): void {
    this.index = mark;
  }

  readSoFar(): string {
    return this.tokens.slice(0, this.index).join(" ").replace(/ ,/g, ",");
  }

  fail(word: string | null, detail: string): never {
    throw new PromptParseError(this.prompt, word, detail);
  }
}

const COLOUR_LIST = COLOURS.join(", ");
const SHAPE_LIST = SHAPES.join(", ");

function parseDeterminer(words: Words): Pick<NounPhrase, "count" | "countWord"> {
  const implicit = { count: 1, countWord: null } as const;
  if (words.accept("a") || words.accept("an")) {
    if (words.accept("single")) return { count: 1, countWord: "a single" };
    if (words.accept("pair", "of")) return { count: 2, countWord: "a pair of" };
    return implicit;
  }
  // "the" may stand alone ("the red circle") or before a number ("the two red circles").
  words.accept("the");
  const word = words.peek();
  if (word === undefined) return implicit;
  const count = COUNT_WORDS.get(word);
  if (count !== undefined) {
    words.next();
    return { count, countWord: word };
  }
  if (UNSUPPORTED_COUNT_WORDS.has(word) || /^\d+$/.test(word)) {
    words.fail(word, `count "${word}" is not supported: counts are one, two or three`);
  }
  return implicit;
}

function parseNounPhrase(words: Words): NounPhrase {
  const { count, countWord } = parseDeterminer(words);
  let colour: Colour | undefined;
  let size: Size | undefined;
  for (;;) {
    const word = words.peek();
    const asSize = word === undefined ? undefined : SIZE_WORDS.get(word);
    const asColour = word === undefined ? undefined : COLOUR_WORDS.get(word);
    if (asSize !== undefined) {
      if (size !== undefined) words.fail(word!, `two sizes given ("${size}" and "${word}")`);
      size = asSize;
    } else if (asColour !== undefined) {
      if (colour !== undefined) words.fail(word!, `two colours given ("${colour}" and "${word}")`);
      colour = asColour;
    } else {
      break;
    }
    words.next();
  }
  const word = words.peek();
  if (word === undefined) {
    const read = words.readSoFar();
    words.fail(
      null,
      colour === undefined
        ? `missing colour${read ? ` after "${read}"` : ""} (expected one of ${COLOUR_LIST})`
        : `missing shape after "${read}" (expected one of ${SHAPE_LIST})`,
    );
  }
  const shape = SHAPE_WORDS.get(word);
  if (colour === undefined) {
    words.fail(
      word,
      shape === undefined
        ? `unknown colour "${word}" (expected one of ${COLOUR_LIST})`
        : `missing colour before "${word}" (expected one of ${COLOUR_LIST})`,
    );
  }
  if (shape === undefined) {
    words.fail(word, `unknown shape "${word}" (expected one of ${SHAPE_LIST})`);
  }
  words.next();
  const object: ObjectSpec = size === undefined ? { colour, shape } : { colour, shape, size };
  return { count, countWord, object };
}

/** "above", "on top of", "to the left of", "left of", ... Consumes nothing when absent. */
function parseRelation(words: Words): Relation | undefined {
  const start = words.mark();
  const single = RELATION_WORDS.get(words.peek() ?? "");
  if (single !== undefined) {
    words.next();
    return single;
  }
  if (words.accept("on", "top", "of")) return "above";
  if (PREPOSITIONS.has(words.peek() ?? "")) words.next();
  words.accept("the");
  const side = words.next();
  if ((side === "left" || side === "right") && words.accept("of")) {
    return side === "left" ? "left of" : "right of";
  }
  words.reset(start);
  return undefined;
}

/** "on the left", "in the middle", "on top", ", top", "left", ... Consumes nothing when absent. */
function parsePosition(words: Words): Position | undefined {
  const start = words.mark();
  if (words.accept("on", "top")) return "top";
  if (!words.accept(",") && PREPOSITIONS.has(words.peek() ?? "")) {
    words.next();
    words.accept("the");
  }
  const position = POSITION_WORDS.get(words.next() ?? "");
  if (position !== undefined) {
    words.accept("side");
    return position;
  }
  words.reset(start);
  return undefined;
}

function expectEnd(words: Words): void {
  const word = words.peek();
  if (word !== undefined) words.fail(word, `unexpected "${word}" after "${words.readSoFar()}"`);
}

function singleOrCount(phrase: NounPhrase, position: Position | undefined): SceneSpec {
  if (phrase.count === 1) {
    return position === undefined
      ? { form: "single", object: phrase.object }
      : { form: "single", object: phrase.object, position };
  }
  return { form: "count", object: phrase.object, count: phrase.count };
}

/**
 * Parses a prompt of the Easel Shapes grammar (see packages/shapes/GRAMMAR.md) into a `SceneSpec`.
 * Case, a trailing period and extra spaces are ignored. Throws `PromptParseError` naming the word
 * it could not place and what it expected.
 *
 * @example
 * parsePrompt("a big red circle on the left")
 * // { form: "single", object: { colour: "red", shape: "circle", size: "big" }, position: "left" }
 * parsePrompt("2 small blue squares") // { form: "count", object: {...}, count: 2 }
 * parsePrompt("a red circle to the left of a blue square") // { form: "relation", relation: "left of", ... }
 */
export function parsePrompt(text: string): SceneSpec {
  const words = new Words(text, tokenize(text));
  if (words.done()) words.fail(null, "the prompt is empty");
  if (!words.accept("there's")) {
    if (words.accept("there")) {
      if (!words.accept("is") && !words.accept("are")) {
        words.fail(words.peek() ?? null, `expected "is" or "are" after "there"`);
      }
    }
  }
  const first = parseNounPhrase(words);
  if (words.done()) return singleOrCount(first, undefined);

  const beforeVerb = words.mark();
  words.accept("is") || words.accept("are");
  const relation = parseRelation(words);
  if (relation !== undefined) {
    if (first.count !== 1) {
      words.fail(
        first.countWord,
        `a count ("${first.countWord}") cannot be combined with a relation`,
      );
    }
    if (words.done()) words.fail(null, `missing object after "${words.readSoFar()}"`);
    const second = parseNounPhrase(words);
    if (second.count !== 1) {
      words.fail(
        second.countWord,
        `a count ("${second.countWord}") cannot be combined with a relation`,
      );
    }
    expectEnd(words);
    return { form: "relation", subject: first.object, relation, reference: second.object };
  }

  const position = parsePosition(words);
  if (position !== undefined) {
    if (first.count !== 1) {
      words.fail(
        first.countWord,
        `a position cannot be combined with a count ("${first.countWord}")`,
      );
    }
    expectEnd(words);
    return singleOrCount(first, position);
  }
  words.reset(beforeVerb);
  const word = words.peek()!;
  return words.fail(word, `unexpected "${word}" after "${words.readSoFar()}"`);
}
