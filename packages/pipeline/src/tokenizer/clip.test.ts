import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { expandText } from "../conformance/tokenizer.ts";
import { ClipTokenizer } from "./clip.ts";
import { TokenizerError } from "./errors.ts";
import { type BpeVocabulary, loadOpenAiVocab } from "./openai-vocab.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const REFERENCE = path.resolve(repoRoot, "../shared/reference");
const VECTORS = path.join(REFERENCE, "clip-tokenizer-vectors.json");
const GZ = path.join(REFERENCE, "clip/bpe_simple_vocab_16e6.txt.gz");
const haveReference = existsSync(VECTORS) && existsSync(GZ);
if (!haveReference) console.warn(`skipped: ${REFERENCE} absent (CLIP vocabulary and vectors)`);

interface VectorCase {
  id?: string;
  text: string;
  ids: number[];
  tokens?: string[];
  max_length?: number;
  pad_token?: string;
  pad_id?: number;
}

/**
 * A hand-made vocabulary: the bytes "!", "a", "b", "c", "d" (with and without </w>), merges
 * "a b" -> "ab" and "ab c</w>" -> "abc</w>", and the two special tokens.
 */
function tinyVocabulary(): BpeVocabulary {
  const tokens = [
    "!",
    "a",
    "b",
    "c",
    "d",
    "!</w>",
    "a</w>",
    "b</w>",
    "c</w>",
    "d</w>",
    "ab",
    "abc</w>",
  ];
  tokens.push("<|startoftext|>", "<|endoftext|>");
  return {
    vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
    merges: ["a b", "ab c</w>"],
  };
}
const BOS = 12;
const EOS = 13;

const tempDirs: string[] = [];
async function tokenizerDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "easel-tokenizer-"));
  tempDirs.push(dir);
  for (const [name, content] of Object.entries(files))
    await writeFile(path.join(dir, name), content);
  return dir;
}
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function tinyFiles(config?: unknown, specialTokensMap?: unknown): Record<string, string> {
  const { vocab, merges } = tinyVocabulary();
  const files: Record<string, string> = {
    "vocab.json": JSON.stringify(vocab),
    "merges.txt": `#version: 0.2\n${merges.join("\n")}\n`,
  };
  if (config) files["tokenizer_config.json"] = JSON.stringify(config);
  if (specialTokensMap) files["special_tokens_map.json"] = JSON.stringify(specialTokensMap);
  return files;
}

describe("ClipTokenizer with a hand-made vocabulary", () => {
  const tokenizer = ClipTokenizer.fromData({ ...tinyVocabulary(), modelMaxLength: 8 });

  it("merges pairs by rank and marks word ends with </w>", () => {
    // "abc": a b -> ab, then ab c</w> -> abc</w>; "ab": no merge for "a b</w>"; "a": a</w>.
    expect(tokenizer.tokenize("abc ab a")).toEqual(["abc</w>", "a", "b</w>", "a</w>"]);
    expect(tokenizer.encode("abc")).toEqual([BOS, 11, EOS]);
  });

  it("lowercases and collapses whitespace before splitting", () => {
    expect(tokenizer.encode("  ABC \t\n a  ")).toEqual(tokenizer.encode("abc a"));
  });

  it("returns bos and eos alone for an empty prompt", () => {
    expect(tokenizer.encode("")).toEqual([BOS, EOS]);
    expect(tokenizer.countTokens("")).toBe(0);
  });

  it("truncates to maxLength and keeps eos last", () => {
    expect(tokenizer.encode("a a a a a", { maxLength: 4 })).toEqual([BOS, 6, 6, EOS]);
    expect(tokenizer.encode("a a a a a", { maxLength: 2 })).toEqual([BOS, EOS]);
    expect(tokenizer.encode("a a a a a")).toHaveLength(7);
  });

  it("pads with eos by default, up to modelMaxLength when no maxLength is given", () => {
    expect(tokenizer.encode("a", { padding: true })).toEqual([
      BOS,
      6,
      EOS,
      EOS,
      EOS,
      EOS,
      EOS,
      EOS,
    ]);
    expect(tokenizer.encode("a", { padding: true, maxLength: 4 })).toEqual([BOS, 6, EOS, EOS]);
    expect(tokenizer.encode("a a a a a a a a a", { padding: true })).toEqual([
      BOS,
      6,
      6,
      6,
      6,
      6,
      6,
      EOS,
    ]);
  });

  it("pads with id 0 when the pad token is '!'", () => {
    const sd2 = ClipTokenizer.fromData({ ...tinyVocabulary(), padToken: "!" });
    expect(sd2.padId).toBe(0);
    expect(sd2.encode("a", { padding: true, maxLength: 5 })).toEqual([BOS, 6, EOS, 0, 0]);
  });

  it("counts content tokens without bos and eos", () => {
    expect(tokenizer.countTokens("abc ab d")).toBe(4); // abc</w>, a, b</w>, d</w>
  });

  it("maps symbols missing from the vocabulary to the unk id", () => {
    expect(tokenizer.encode("z")).toEqual([BOS, EOS, EOS]);
    expect(tokenizer.tokenize("z")).toEqual(["<|endoftext|>"]);
  });

  it("rejects a maxLength without room for bos and eos", () => {
    expect(() => tokenizer.encode("a", { maxLength: 1 })).toThrow(
      "encode: maxLength must be an integer >= 2 (room for bos and eos), got 1",
    );
    expect(() => tokenizer.encode("a", { maxLength: 2.5 })).toThrow(TokenizerError);
  });

  it("rejects special tokens missing from the vocabulary and merges that make unknown tokens", () => {
    expect(() => ClipTokenizer.fromData({ ...tinyVocabulary(), padToken: "<pad>" })).toThrow(
      'pad token "<pad>" is not in the vocabulary',
    );
    expect(() => ClipTokenizer.fromData({ ...tinyVocabulary(), merges: ["c d"] })).toThrow(
      'merge 1 ("c d") makes "cd", which is not in the vocabulary',
    );
  });
});

describe("ClipTokenizer.fromDirectory", () => {
  it("loads vocab.json and merges.txt with CLIP's defaults when there is no config", async () => {
    const tokenizer = await ClipTokenizer.fromDirectory(await tokenizerDir(tinyFiles()));
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId]).toEqual([BOS, EOS, EOS]);
    expect(tokenizer.modelMaxLength).toBe(77);
    expect(tokenizer.encode("abc")).toEqual([BOS, 11, EOS]);
  });

  it("takes pad token and length from tokenizer_config.json (SD 2: pad '!' is id 0)", async () => {
    const config = {
      pad_token: "!",
      model_max_length: 6,
      bos_token: { content: "<|startoftext|>" },
    };
    const tokenizer = await ClipTokenizer.fromDirectory(await tokenizerDir(tinyFiles(config)));
    expect(tokenizer.padId).toBe(0);
    expect(tokenizer.encode("a", { padding: true })).toEqual([BOS, 6, EOS, 0, 0, 0]);
  });

  it("accepts AddedToken objects and lets special_tokens_map.json win over the config", async () => {
    const config = { pad_token: "<|endoftext|>" };
    const map = { pad_token: { __type: "AddedToken", content: "!", normalized: false } };
    const tokenizer = await ClipTokenizer.fromDirectory(await tokenizerDir(tinyFiles(config, map)));
    expect(tokenizer.padId).toBe(0);
  });

  it("treats HF's 'no limit' model_max_length as CLIP's 77", async () => {
    const config = { model_max_length: 1e30 };
    const tokenizer = await ClipTokenizer.fromDirectory(await tokenizerDir(tinyFiles(config)));
    expect(tokenizer.modelMaxLength).toBe(77);
  });

  it("names vocab.json when it is missing", async () => {
    const files = tinyFiles();
    delete files["vocab.json"];
    const dir = await tokenizerDir(files);
    await expect(ClipTokenizer.fromDirectory(dir)).rejects.toThrow(
      `cannot read ${path.join(dir, "vocab.json")}`,
    );
    await expect(ClipTokenizer.fromDirectory(dir)).rejects.toBeInstanceOf(TokenizerError);
  });

  it("names merges.txt when it is missing and a config file that is not JSON", async () => {
    const noMerges = tinyFiles();
    delete noMerges["merges.txt"];
    const dir = await tokenizerDir(noMerges);
    await expect(ClipTokenizer.fromDirectory(dir)).rejects.toThrow(
      `cannot read ${path.join(dir, "merges.txt")}`,
    );
    const badConfig = await tokenizerDir({ ...tinyFiles(), "tokenizer_config.json": "{nope" });
    await expect(ClipTokenizer.fromDirectory(badConfig)).rejects.toThrow(
      `${path.join(badConfig, "tokenizer_config.json")} is not valid JSON`,
    );
  });
});

describe.skipIf(!haveReference)("ClipTokenizer against reference ids", () => {
  let vocabulary: BpeVocabulary;
  const byPad = new Map<string, ClipTokenizer>();
  function tokenizerFor(padToken: string | undefined): ClipTokenizer {
    const key = padToken ?? "";
    if (!byPad.has(key)) {
      byPad.set(key, ClipTokenizer.fromData(padToken ? { ...vocabulary, padToken } : vocabulary));
    }
    return byPad.get(key)!;
  }
  beforeAll(async () => {
    vocabulary = await loadOpenAiVocab(GZ);
  });

  const vectors = haveReference
    ? (JSON.parse(readFileSync(VECTORS, "utf8")) as {
        common: {
          bos: number;
          eos: number;
          model_max_length: number;
          padded_example: Record<string, VectorCase>;
        };
        examples: VectorCase[];
      })
    : undefined;

  it("has the reference bos, eos and length", () => {
    const tokenizer = tokenizerFor(undefined);
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.modelMaxLength]).toEqual([
      vectors!.common.bos,
      vectors!.common.eos,
      vectors!.common.model_max_length,
    ]);
  });

  it.each(vectors?.examples ?? [])("encodes $text like HF's CLIPTokenizer", (c) => {
    expect(tokenizerFor(undefined).encode(c.text)).toEqual(c.ids);
  });

  it.each(Object.entries(vectors?.common.padded_example ?? {}))(
    "pads and truncates: %s",
    (_name, c) => {
      const tokenizer = tokenizerFor(c.pad_token);
      if (c.pad_id !== undefined) expect(tokenizer.padId).toBe(c.pad_id);
      const ids = tokenizer.encode(expandText(c.text), {
        padding: true,
        maxLength: c.max_length ?? vectors!.common.model_max_length,
      });
      expect(ids).toEqual(c.ids);
    },
  );

  // HF transformers 5.24.0 output for unicode, whitespace, punctuation and special-token prompts.
  const golden = JSON.parse(
    readFileSync(new URL("./fixtures/clip-golden.json", import.meta.url), "utf8"),
  ) as {
    examples: VectorCase[];
    padded_example: Record<string, VectorCase>;
    from_pretrained: Record<
      string,
      {
        tokenizer_config: unknown;
        special_tokens_map: unknown;
        pad_id: number;
        model_max_length: number;
        cases: { text: string; ids: number[] }[];
      }
    >;
  };

  it.each(golden.examples)("matches HF on $id: $text", (c) => {
    const tokenizer = tokenizerFor(c.pad_token);
    expect(tokenizer.encode(c.text)).toEqual(c.ids);
    expect(tokenizer.tokenize(c.text)).toEqual(c.tokens);
    expect(tokenizer.countTokens(c.text)).toBe(c.ids.length - 2);
  });

  it.each(Object.entries(golden.padded_example))(
    "matches HF padding and truncation: %s",
    (_name, c) => {
      expect(
        tokenizerFor(c.pad_token).encode(c.text, { padding: true, maxLength: c.max_length! }),
      ).toEqual(c.ids);
    },
  );

  it.each(Object.entries(golden.from_pretrained))(
    "loads a %s-style tokenizer folder like CLIPTokenizer.from_pretrained",
    async (_name, folder) => {
      const dir = await tokenizerDir({
        "vocab.json": JSON.stringify(vocabulary.vocab),
        "merges.txt": `#version: 0.2\n${vocabulary.merges.join("\n")}\n`,
        "tokenizer_config.json": JSON.stringify(folder.tokenizer_config),
        "special_tokens_map.json": JSON.stringify(folder.special_tokens_map),
      });
      const tokenizer = await ClipTokenizer.fromDirectory(dir);
      expect(tokenizer.padId).toBe(folder.pad_id);
      expect(tokenizer.modelMaxLength).toBe(folder.model_max_length);
      for (const c of folder.cases)
        expect([c.text, tokenizer.encode(c.text)]).toEqual([c.text, c.ids]);
    },
  );
});
