import { readFile } from "node:fs/promises";
import path from "node:path";
import { BytePairEncoder } from "./bpe.ts";
import { toByteLevel } from "./byte-level.ts";
import { TokenizerError } from "./errors.ts";

/**
 * A special token as tokenizer configs spell it: a string, or an AddedToken object. `normalized`
 * (default false) means the token is also matched after lowercasing, as HF does for such tokens.
 */
export type SpecialTokenSpec = string | { content: string; normalized?: boolean };

/** Everything {@link ClipTokenizer.fromData} needs; the defaults are CLIP's (Stable Diffusion 1.x). */
export interface ClipTokenizerData {
  /** token -> id, as in vocab.json. */
  vocab: Record<string, number>;
  /** "left right" pairs in rank order, as in merges.txt after its "#version" line. */
  merges: readonly string[];
  /** Default "<|startoftext|>". */
  bosToken?: SpecialTokenSpec;
  /** Default "<|endoftext|>". */
  eosToken?: SpecialTokenSpec;
  /** Default: the eos token (SD 1.x). SD 2.x and SDXL's second encoder use "!" (id 0). */
  padToken?: SpecialTokenSpec;
  /** Replaces symbols missing from the vocabulary. Default "<|endoftext|>". */
  unkToken?: SpecialTokenSpec;
  /** Sequence length of the text encoder, used when padding without `maxLength`. Default 77. */
  modelMaxLength?: number;
  /** Further tokens matched whole in the text (tokenizer_config.json's added_tokens_decoder). */
  addedTokens?: readonly { content: string; id: number; normalized?: boolean }[];
}

/** Options of {@link ClipTokenizer.encode}. */
export interface EncodeOptions {
  /** Truncate to this many ids (bos and eos included, eos kept last). Default: no truncation, or `modelMaxLength` when padding. */
  maxLength?: number;
  /** Pad with the pad id up to `maxLength` (default `modelMaxLength`). Default false. */
  padding?: boolean;
}

const DEFAULT_BOS = "<|startoftext|>";
const DEFAULT_EOS = "<|endoftext|>";
const DEFAULT_MODEL_MAX_LENGTH = 77;
/** HF writes 1e30 ("no limit") when a config has no model_max_length; CLIP encoders take 77. */
const UNSET_MODEL_MAX_LENGTH_ABOVE = 1_000_000;

/**
 * CLIP's pre-tokenizer split, applied to normalized (lowercased) text. The special-token
 * alternatives of OpenAI's pattern are left out: HF's tokenizer splits those pieces again with
 * GPT-2's pattern ("<|", "startoftext", "|>"), and special tokens are matched before this step.
 * Case-sensitive on purpose, as in HF: the text is already lowercase, and /i would make "'ſ" match 's.
 */
const PRE_TOKEN = /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+/gu;
const WHITESPACE_RUN = /\p{White_Space}+/gu;
const CAPITAL_SIGMA = /\u03a3/g;

/**
 * HF's CLIP normalizer: NFC, whitespace runs to one space, lowercase. HF lowercases each character
 * on its own, so capital sigma always becomes "σ"; String#toLowerCase alone would give a final "ς".
 */
function normalize(text: string): string {
  return text
    .normalize("NFC")
    .replace(WHITESPACE_RUN, " ")
    .replace(CAPITAL_SIGMA, "\u03c3")
    .toLowerCase();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A matcher for whole tokens, leftmost-longest like HF's added-token matching; null if none. */
function tokenMatcher(contents: readonly string[]): RegExp | null {
  if (contents.length === 0) return null;
  const longestFirst = [...contents].sort((a, b) => b.length - a.length);
  return new RegExp(longestFirst.map(escapeRegExp).join("|"), "g");
}

/** Splits `text` into the runs between matches of `matcher`, and the matches themselves. */
function* splitOn(
  text: string,
  matcher: RegExp | null,
): Generator<{ text: string; matched: boolean }> {
  if (!matcher) {
    if (text) yield { text, matched: false };
    return;
  }
  let last = 0;
  for (const match of text.matchAll(matcher)) {
    if (match.index > last) yield { text: text.slice(last, match.index), matched: false };
    yield { text: match[0], matched: true };
    last = match.index + match[0].length;
  }
  if (last < text.length) yield { text: text.slice(last), matched: false };
}

function specContent(spec: SpecialTokenSpec): string {
  return typeof spec === "string" ? spec : spec.content;
}

function specNormalized(spec: SpecialTokenSpec): boolean {
  return typeof spec === "string" ? false : spec.normalized === true;
}

/**
 * CLIP's byte-level BPE tokenizer, matching HF transformers' CLIPTokenizer (5.x, the
 * tokenizers-backed one diffusers uses): NFC, whitespace collapsed, lowercased, CLIP's split
 * pattern, byte-level BPE with "</w>" ending each word; bos/eos around the ids, truncation that
 * keeps eos last, and padding with the pad id. Special tokens written in the prompt are matched
 * whole, as HF does (so with SD 2's pad token "!", a "!" in a prompt becomes id 0, as in diffusers).
 *
 * @example
 * const tokenizer = await ClipTokenizer.fromDirectory("models/sd15/tokenizer");
 * tokenizer.encode("a photo of a cat"); // [49406, 320, 1125, 539, 320, 2368, 49407]
 * tokenizer.encode("a photo of a cat", { padding: true }).length; // 77
 */
export class ClipTokenizer {
  /** Id of the start-of-text token (49406 for CLIP). */
  readonly bosId: number;
  /** Id of the end-of-text token (49407 for CLIP). */
  readonly eosId: number;
  /** Id used for padding: 49407 for SD 1.x, 0 ("!") for SD 2.x and SDXL's second encoder. */
  readonly padId: number;
  /** Id standing for symbols missing from the vocabulary. */
  readonly unkId: number;
  /** The text encoder's sequence length (77 for CLIP). */
  readonly modelMaxLength: number;

  private readonly vocab: ReadonlyMap<string, number>;
  private readonly bpe: BytePairEncoder;
  private readonly rawMatcher: RegExp | null;
  private readonly normalizedMatcher: RegExp | null;
  private readonly specialIds: ReadonlyMap<string, number>;
  private readonly unkContent: string;

  private constructor(data: ClipTokenizerData) {
    const vocab = new Map(Object.entries(data.vocab));
    this.vocab = vocab;
    this.bpe = new BytePairEncoder(vocab, data.merges);

    const idOf = (role: string, spec: SpecialTokenSpec): number => {
      const id = vocab.get(specContent(spec));
      if (id === undefined) {
        throw new TokenizerError(`${role} token "${specContent(spec)}" is not in the vocabulary`);
      }
      return id;
    };
    const bos = data.bosToken ?? DEFAULT_BOS;
    const eos = data.eosToken ?? DEFAULT_EOS;
    const unk = data.unkToken ?? DEFAULT_EOS;
    const pad = data.padToken ?? eos;
    this.bosId = idOf("bos", bos);
    this.eosId = idOf("eos", eos);
    this.unkId = idOf("unk", unk);
    this.padId = idOf("pad", pad);

    const modelMaxLength = data.modelMaxLength ?? DEFAULT_MODEL_MAX_LENGTH;
    if (!Number.isInteger(modelMaxLength) || modelMaxLength < 2) {
      throw new TokenizerError(`modelMaxLength must be an integer >= 2, got ${modelMaxLength}`);
    }
    this.modelMaxLength = modelMaxLength;

    // Later registrations win for the same text. Special tokens come first and then
    // added_tokens_decoder, whose flags HF treats as authoritative when a config has one.
    const ids = new Map<string, number>();
    const normalizedFlag = new Map<string, boolean>();
    for (const [role, spec] of [
      ["bos", bos],
      ["eos", eos],
      ["unk", unk],
      ["pad", pad],
    ] as const) {
      ids.set(specContent(spec), idOf(role, spec));
      normalizedFlag.set(specContent(spec), specNormalized(spec));
    }
    for (const added of data.addedTokens ?? []) {
      ids.set(added.content, added.id);
      normalizedFlag.set(added.content, added.normalized === true);
    }
    const contents = [...ids.keys()].filter((content) => content.length > 0);
    this.specialIds = ids;
    this.unkContent = specContent(unk);
    this.rawMatcher = tokenMatcher(contents.filter((c) => !normalizedFlag.get(c)));
    this.normalizedMatcher = tokenMatcher(contents.filter((c) => normalizedFlag.get(c)));
  }

  /**
   * Builds a tokenizer from vocabulary data, e.g. the result of `loadOpenAiVocab`.
   *
   * @example
   * const tokenizer = ClipTokenizer.fromData({ ...(await loadOpenAiVocab(gz)), padToken: "!" });
   * tokenizer.padId; // 0
   */
  static fromData(data: ClipTokenizerData): ClipTokenizer {
    return new ClipTokenizer(data);
  }

  /**
   * Loads a HF tokenizer folder: vocab.json and merges.txt (required), tokenizer_config.json and
   * special_tokens_map.json (optional; the latter wins where both name a token, as in HF).
   *
   * @example
   * const tokenizer = await ClipTokenizer.fromDirectory("models/sd2/tokenizer");
   * tokenizer.padId; // 0, from pad_token "!"
   */
  static async fromDirectory(dir: string): Promise<ClipTokenizer> {
    const { vocab, merges } = await readHfVocabulary(dir);
    const config = (await readJson(path.join(dir, "tokenizer_config.json"), false)) ?? {};
    const specialMap = (await readJson(path.join(dir, "special_tokens_map.json"), false)) ?? {};
    if (!isRecord(config) || !isRecord(specialMap)) {
      throw new TokenizerError(
        `tokenizer_config.json and special_tokens_map.json in ${dir} must be JSON objects`,
      );
    }

    const data: ClipTokenizerData = { vocab, merges };
    const roles = {
      bos_token: "bosToken",
      eos_token: "eosToken",
      pad_token: "padToken",
      unk_token: "unkToken",
    } as const;
    for (const [key, field] of Object.entries(roles)) {
      const spec = toSpec(specialMap[key] ?? config[key], key, dir);
      if (spec !== undefined) data[field] = spec;
    }
    const maxLength = config["model_max_length"];
    if (typeof maxLength === "number" && maxLength <= UNSET_MODEL_MAX_LENGTH_ABOVE) {
      data.modelMaxLength = maxLength;
    }
    const addedTokens = parseAddedTokens(config["added_tokens_decoder"], dir);
    if (addedTokens.length > 0) data.addedTokens = addedTokens;
    try {
      return new ClipTokenizer(data);
    } catch (cause) {
      throw new TokenizerError(`invalid tokenizer in ${dir}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /**
   * The prompt's BPE tokens, without bos/eos; word-final tokens end in "</w>".
   *
   * @example
   * tokenizer.tokenize("A photo!"); // ["a</w>", "photo</w>", "!</w>"]
   */
  tokenize(text: string): string[] {
    return this.segment(text).tokens;
  }

  /**
   * bos + the prompt's ids + eos. With `maxLength`, longer sequences keep their first
   * `maxLength - 2` content ids and end with eos; with `padding`, the pad id fills up to
   * `maxLength` (default `modelMaxLength`), as diffusers' `padding="max_length", truncation=True`.
   *
   * @example
   * tokenizer.encode(""); // [49406, 49407]
   * tokenizer.encode("cat ".repeat(100), { padding: true }); // 77 ids: bos, 75 x 2368, eos
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const { maxLength, padding = false } = options;
    if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 2)) {
      throw new TokenizerError(
        `encode: maxLength must be an integer >= 2 (room for bos and eos), got ${maxLength}`,
      );
    }
    const limit = maxLength ?? (padding ? this.modelMaxLength : Number.POSITIVE_INFINITY);
    const content = this.segment(text).ids;
    const ids = [this.bosId, ...content.slice(0, Math.max(0, limit - 2)), this.eosId];
    if (padding) while (ids.length < limit) ids.push(this.padId);
    return ids;
  }

  /** Number of content tokens (bos/eos not counted), e.g. to warn about prompts past 75 tokens. */
  countTokens(text: string): number {
    return this.segment(text).ids.length;
  }

  /** Tokens and their ids: special tokens matched whole, the rest normalized, split and BPE-encoded. */
  private segment(text: string): { tokens: string[]; ids: number[] } {
    const tokens: string[] = [];
    const ids: number[] = [];
    const addSpecial = (content: string) => {
      tokens.push(content);
      ids.push(this.specialIds.get(content)!);
    };
    for (const raw of splitOn(text, this.rawMatcher)) {
      if (raw.matched) {
        addSpecial(raw.text);
        continue;
      }
      for (const part of splitOn(normalize(raw.text), this.normalizedMatcher)) {
        if (part.matched) {
          addSpecial(part.text);
          continue;
        }
        for (const word of part.text.matchAll(PRE_TOKEN)) {
          for (const symbol of this.bpe.encodeWord(toByteLevel(word[0]))) {
            const id = this.vocab.get(symbol);
            tokens.push(id === undefined ? this.unkContent : symbol);
            ids.push(id ?? this.unkId);
          }
        }
      }
    }
    return { tokens, ids };
  }
}

/**
 * Reads a HF tokenizer folder's vocab.json and merges.txt (without the "#version" header line).
 *
 * @example
 * const tokenizer = ClipTokenizer.fromData({ ...(await readHfVocabulary(dir)), padToken: "!" });
 */
export async function readHfVocabulary(
  dir: string,
): Promise<{ vocab: Record<string, number>; merges: string[] }> {
  const vocabFile = path.join(dir, "vocab.json");
  const vocab = await readJson(vocabFile, true);
  if (!isRecord(vocab) || !Object.values(vocab).every(Number.isInteger)) {
    throw new TokenizerError(`${vocabFile} must map tokens to integer ids`);
  }
  const merges = parseMerges(await readText(path.join(dir, "merges.txt")));
  return { vocab: vocab as Record<string, number>, merges };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    throw new TokenizerError(`cannot read ${file}`, { cause });
  }
}

/** Parsed JSON; `undefined` when an optional file is absent. */
async function readJson(file: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new TokenizerError(`cannot read ${file}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new TokenizerError(`${file} is not valid JSON`, { cause });
  }
}

/** merges.txt lines after the optional "#version" header, blank lines dropped. */
function parseMerges(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines[0]?.startsWith("#version")) lines.shift();
  return lines.filter((line) => line.length > 0);
}

function toSpec(value: unknown, key: string, dir: string): SpecialTokenSpec | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (isRecord(value) && typeof value["content"] === "string") {
    return { content: value["content"], normalized: value["normalized"] === true };
  }
  throw new TokenizerError(
    `${key} in ${dir} must be a string or an object with "content", got ${JSON.stringify(value)}`,
  );
}

function parseAddedTokens(
  value: unknown,
  dir: string,
): { content: string; id: number; normalized: boolean }[] {
  if (value === undefined) return [];
  if (!isRecord(value))
    throw new TokenizerError(`added_tokens_decoder in ${dir} must be an object`);
  return Object.entries(value).map(([id, token]) => {
    if (!/^\d+$/.test(id) || !isRecord(token) || typeof token["content"] !== "string") {
      throw new TokenizerError(
        `added_tokens_decoder entry "${id}" in ${dir} must map an id to {"content": ...}`,
      );
    }
    return { content: token["content"], id: Number(id), normalized: token["normalized"] === true };
  });
}
