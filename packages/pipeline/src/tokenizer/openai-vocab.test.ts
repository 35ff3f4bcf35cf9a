import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { TokenizerError } from "./errors.ts";
import { loadOpenAiVocab, OPENAI_MERGE_COUNT, openAiVocabFromText } from "./openai-vocab.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const GZ = path.resolve(repoRoot, "../shared/reference/clip/bpe_simple_vocab_16e6.txt.gz");
if (!existsSync(GZ)) console.warn(`skipped: ${GZ} absent`);

function fakeBpeText(merges: string[]): string {
  return ["#version: 0.2", ...merges].join("\n");
}

describe("openAiVocabFromText", () => {
  it("rejects a file with fewer merges than CLIP uses", () => {
    expect(() => openAiVocabFromText(fakeBpeText(["a b"]))).toThrow(TokenizerError);
    expect(() => openAiVocabFromText(fakeBpeText(["a b"]))).toThrow(/48894 merge lines.*got 1/);
  });

  it("orders ids as bytes, bytes with </w>, merges, then the two special tokens", () => {
    // A synthetic file: every merge "x y" with made-up symbols, enough of them to be accepted.
    const merges = Array.from({ length: OPENAI_MERGE_COUNT + 5 }, (_, i) => `m${i} x`);
    const { vocab, merges: used } = openAiVocabFromText(fakeBpeText(merges));
    expect(used).toHaveLength(OPENAI_MERGE_COUNT);
    expect(vocab["!"]).toBe(0);
    expect(vocab["!</w>"]).toBe(256);
    expect(vocab["m0x"]).toBe(512);
    expect(vocab[`m${OPENAI_MERGE_COUNT - 1}x`]).toBe(512 + OPENAI_MERGE_COUNT - 1);
    expect(vocab[`m${OPENAI_MERGE_COUNT}x`]).toBeUndefined();
    expect(vocab["<|startoftext|>"]).toBe(49406);
    expect(vocab["<|endoftext|>"]).toBe(49407);
  });
});

describe("loadOpenAiVocab", () => {
  it("names the file it cannot read", async () => {
    await expect(loadOpenAiVocab("/nonexistent/bpe.txt.gz")).rejects.toThrow(
      "cannot read OpenAI BPE vocabulary /nonexistent/bpe.txt.gz",
    );
  });

  it("reads gzipped and plain files alike", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "easel-bpe-"));
    const text = fakeBpeText(Array.from({ length: OPENAI_MERGE_COUNT }, (_, i) => `m${i} x`));
    await writeFile(path.join(dir, "bpe.txt.gz"), gzipSync(text));
    await writeFile(path.join(dir, "bpe.txt"), text);
    const gz = await loadOpenAiVocab(path.join(dir, "bpe.txt.gz"));
    const plain = await loadOpenAiVocab(path.join(dir, "bpe.txt"));
    expect(gz.vocab).toEqual(plain.vocab);
    expect(Object.keys(gz.vocab)).toHaveLength(49408);
  });

  it.skipIf(!existsSync(GZ))(
    "builds CLIP's 49,408-token vocabulary from OpenAI's file",
    async () => {
      const { vocab, merges } = await loadOpenAiVocab(GZ);
      expect(Object.keys(vocab)).toHaveLength(49408);
      expect(merges).toHaveLength(48894);
      expect(merges[0]).toBe("i n"); // line 2 of the file; line 1 is the header
      // Ids the reference vectors use: "a" 320, "cat" 2368, "!" at the end of a word 256.
      expect(vocab["a</w>"]).toBe(320);
      expect(vocab["cat</w>"]).toBe(2368);
      expect(vocab["!</w>"]).toBe(256);
    },
  );
});
