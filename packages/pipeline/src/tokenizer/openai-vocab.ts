import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { END_OF_WORD } from "./bpe.ts";
import { BYTE_CHARS_IN_VOCAB_ORDER } from "./byte-level.ts";
import { TokenizerError } from "./errors.ts";

/** Merges CLIP uses: its 49,408 ids are 2 x 256 byte tokens, one per merge, and 2 special tokens. */
export const OPENAI_MERGE_COUNT = 49152 - 256 - 2;

/** A vocabulary in the shape of HF's vocab.json and merges.txt (without its header line). */
export interface BpeVocabulary {
  vocab: Record<string, number>;
  merges: string[];
}

/**
 * Builds CLIP's vocabulary from the text of OpenAI's `bpe_simple_vocab_16e6.txt`, with ids in the
 * order of HF's vocab.json: the 256 byte characters, the same each followed by "</w>", one token
 * per merge, then `<|startoftext|>` (49406) and `<|endoftext|>` (49407). Line 1 is a header; only
 * the first 48,894 merges are used, as CLIP does.
 *
 * @example
 * const { vocab, merges } = openAiVocabFromText(text);
 * vocab["a</w>"]; // 320
 */
export function openAiVocabFromText(text: string): BpeVocabulary {
  const lines = text.split("\n");
  const merges = lines.slice(1, 1 + OPENAI_MERGE_COUNT).map((line) => line.trim());
  const short = merges.findIndex((line) => line.split(" ").length !== 2);
  if (merges.length < OPENAI_MERGE_COUNT || short >= 0) {
    throw new TokenizerError(
      `OpenAI BPE file must have a header line and ${OPENAI_MERGE_COUNT} merge lines of two tokens, ` +
        (short >= 0 ? `line ${short + 2} is "${merges[short]}"` : `got ${merges.length}`),
    );
  }
  const tokens = [
    ...BYTE_CHARS_IN_VOCAB_ORDER,
    ...BYTE_CHARS_IN_VOCAB_ORDER.map((char) => char + END_OF_WORD),
    ...merges.map((merge) => merge.replace(" ", "")),
    "<|startoftext|>",
    "<|endoftext|>",
  ];
  return { vocab: Object.fromEntries(tokens.map((token, id) => [token, id])), merges };
}

/**
 * Reads OpenAI's `bpe_simple_vocab_16e6.txt.gz` (or the file gunzipped) and builds the HF-ordered
 * vocabulary (see {@link openAiVocabFromText}).
 *
 * @example
 * const tokenizer = ClipTokenizer.fromData(await loadOpenAiVocab("clip/bpe_simple_vocab_16e6.txt.gz"));
 */
export async function loadOpenAiVocab(file: string): Promise<BpeVocabulary> {
  let text: string;
  try {
    const bytes = await readFile(file);
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
    text = (gzipped ? gunzipSync(bytes) : bytes).toString("utf8");
  } catch (cause) {
    throw new TokenizerError(`cannot read OpenAI BPE vocabulary ${file}`, { cause });
  }
  try {
    return openAiVocabFromText(text);
  } catch (cause) {
    throw new TokenizerError(`invalid OpenAI BPE vocabulary ${file}: ${(cause as Error).message}`, {
      cause,
    });
  }
}
