/**
 * Tokenizer conformance runner: `pnpm --silent conformance:tokenizer <file.json>`.
 *
 * Reads a file in the format of ../shared/reference/clip-tokenizer-vectors.json and checks every
 * case against {@link ClipTokenizer}:
 * - `common.vocab`: the vocabulary's path (first word of the string, or `{ path, sha256 }`),
 *   relative to the JSON file's folder; leading folders are dropped one by one until it exists
 *   (so "shared/reference/clip/x.gz" is found as "clip/x.gz" beside the file). An OpenAI
 *   `bpe_simple_vocab_16e6.txt(.gz)` or a HF tokenizer folder. A "sha256 <hex>" in it is checked.
 * - `examples` / `cases`: `{ id?, text, ids, tokens?, max_length?, padding?, pad_token?, pad_id? }`,
 *   unpadded and untruncated unless they say otherwise.
 * - `padded_example` (top level or inside `common`): `{ name: case }`, padded (and truncated)
 *   to `max_length`, default `common.model_max_length`.
 * A text of the form `'cat ' * 100` (a Python repetition, as the reference file writes its long
 * prompt) is expanded before tokenizing.
 *
 * Prints one PASS/FAIL/SKIP line per case and `N passed, N failed`; exits 1 if any case failed,
 * 2 if the file cannot be read or holds no cases.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ClipTokenizer, readHfVocabulary } from "../tokenizer/clip.ts";
import { type BpeVocabulary, loadOpenAiVocab } from "../tokenizer/openai-vocab.ts";
import { createReport, type Report, readJsonArgument } from "./report.ts";

/** One tokenizer case, normalized from any of the file's case lists. */
export interface TokenizerCase {
  id: string;
  text: string;
  ids: number[];
  tokens?: string[];
  maxLength?: number;
  padding: boolean;
  padToken?: string;
  padId?: number;
  /** Set when the case is malformed; it is reported as a failure. */
  invalid?: string;
}

/** The vocabulary a file points at: where it was looked for, what was found, its checksum. */
export interface VocabLocation {
  spec: string;
  tried: string[];
  found?: string;
  sha256?: string;
}

/** Thrown for files that cannot be used at all (exit code 2). */
export class ConformanceInputError extends Error {
  override readonly name: string = "ConformanceInputError";
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const REPETITION = /^(['"])(.*)\1\s*\*\s*(\d+)(?:\s*\(.*\))?$/s;

/** Expands a Python repetition such as `'cat ' * 100 (joined by spaces)`; other texts stay as they are. */
export function expandText(text: string): string {
  const match = REPETITION.exec(text.trim());
  return match ? match[2]!.repeat(Number(match[3])) : text;
}

function caseLabel(text: string): string {
  const quoted = JSON.stringify(text);
  return quoted.length > 60 ? `${quoted.slice(0, 57)}…"` : quoted;
}

function readCase(
  raw: unknown,
  fallbackId: string,
  defaults: { padding: boolean; maxLength?: number },
): TokenizerCase {
  if (!isRecord(raw))
    return { id: fallbackId, text: "", ids: [], padding: false, invalid: "case is not an object" };
  const text = raw["text"];
  const id =
    typeof raw["id"] === "string"
      ? raw["id"]
      : typeof text === "string"
        ? `text=${caseLabel(text)}`
        : fallbackId;
  const ids = raw["ids"] ?? raw["input_ids"];
  const out: TokenizerCase = {
    id,
    text: typeof text === "string" ? text : "",
    ids: [],
    padding: defaults.padding,
  };
  if (typeof text !== "string") out.invalid = "case has no string text";
  else if (!Array.isArray(ids) || !ids.every(Number.isInteger))
    out.invalid = "case has no integer array ids";
  else out.ids = ids as number[];
  if (Array.isArray(raw["tokens"])) out.tokens = raw["tokens"] as string[];
  const maxLength = raw["max_length"] ?? defaults.maxLength;
  if (typeof maxLength === "number") out.maxLength = maxLength;
  const padding = raw["padding"];
  if (padding !== undefined) out.padding = padding === true || padding === "max_length";
  if (typeof raw["pad_token"] === "string") out.padToken = raw["pad_token"];
  if (typeof raw["pad_id"] === "number") out.padId = raw["pad_id"];
  return out;
}

/** All cases of a parsed vectors file: examples, cases, then padded_example (top level, then in common). */
export function readTokenizerCases(file: unknown): TokenizerCase[] {
  if (!isRecord(file)) throw new ConformanceInputError("the file must hold a JSON object");
  const common = isRecord(file["common"]) ? file["common"] : {};
  const modelMaxLength =
    typeof common["model_max_length"] === "number" ? common["model_max_length"] : 77;
  const cases: TokenizerCase[] = [];
  for (const key of ["examples", "cases"]) {
    const list = file[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) throw new ConformanceInputError(`"${key}" must be an array`);
    for (const [i, raw] of list.entries()) {
      cases.push(readCase(raw, `${key}[${i}]`, { padding: false }));
    }
  }
  for (const [where, padded] of [
    ["padded_example", file["padded_example"]],
    ["common.padded_example", common["padded_example"]],
  ] as const) {
    if (padded === undefined) continue;
    if (!isRecord(padded)) throw new ConformanceInputError(`"${where}" must be an object`);
    for (const [name, raw] of Object.entries(padded)) {
      const c = readCase(raw, name, { padding: true, maxLength: modelMaxLength });
      if (!(isRecord(raw) && typeof raw["id"] === "string")) c.id = name;
      cases.push(c);
    }
  }
  if (cases.length === 0) {
    throw new ConformanceInputError(
      `no cases: expected "examples", "cases" or "padded_example" (top level or in "common")`,
    );
  }
  return cases;
}

/** Resolves `common.vocab` against the vectors file's folder (see the module comment). */
export function locateVocab(file: unknown, jsonDir: string): VocabLocation {
  const common = isRecord(file) && isRecord(file["common"]) ? file["common"] : {};
  const vocab = common["vocab"];
  let spec = "";
  let sha256: string | undefined;
  if (typeof vocab === "string") {
    spec = vocab.trim().split(/\s+/)[0] ?? "";
    sha256 = /sha256[\s:=]+([0-9a-f]{64})/i.exec(vocab)?.[1]?.toLowerCase();
  } else if (isRecord(vocab) && typeof vocab["path"] === "string") {
    spec = vocab["path"];
    if (typeof vocab["sha256"] === "string") sha256 = vocab["sha256"].toLowerCase();
  }
  const location: VocabLocation = { spec, tried: [] };
  if (sha256) location.sha256 = sha256;
  if (!spec) return location;
  const parts = spec.split(/[\\/]/).filter((part) => part.length > 0);
  const candidates = path.isAbsolute(spec)
    ? [spec]
    : parts.map((_, i) => path.resolve(jsonDir, ...parts.slice(i)));
  for (const candidate of candidates) {
    location.tried.push(candidate);
    if (existsSync(candidate)) {
      location.found = candidate;
      break;
    }
  }
  return location;
}

async function loadVocabulary(location: VocabLocation): Promise<BpeVocabulary> {
  const found = location.found!;
  if (statSync(found).isDirectory()) return readHfVocabulary(found);
  if (path.basename(found) === "vocab.json") return readHfVocabulary(path.dirname(found));
  if (location.sha256) {
    const actual = createHash("sha256").update(readFileSync(found)).digest("hex");
    if (actual !== location.sha256) {
      throw new Error(`vocab ${found} has sha256 ${actual}, the file says ${location.sha256}`);
    }
  }
  return loadOpenAiVocab(found);
}

function firstDifference(got: readonly unknown[], expected: readonly unknown[]): number {
  const n = Math.min(got.length, expected.length);
  for (let i = 0; i < n; i++) if (got[i] !== expected[i]) return i;
  return n;
}

/** `name[i..]=[...] (n)` around the first difference, so long id lists stay readable. */
function window(name: string, values: readonly unknown[], at: number): string {
  const from = Math.max(0, at - 2);
  return `${name}[${from}..]=${JSON.stringify(values.slice(from, from + 10))} (${values.length} total)`;
}

function checkCase(c: TokenizerCase, tokenizer: ClipTokenizer, report: Report): void {
  if (c.padId !== undefined && tokenizer.padId !== c.padId) {
    report.fail(c.id, `pad id ${tokenizer.padId}`, `pad id ${c.padId}`);
    return;
  }
  const text = expandText(c.text);
  const options =
    c.maxLength === undefined
      ? { padding: c.padding }
      : { padding: c.padding, maxLength: c.maxLength };
  const ids = tokenizer.encode(text, options);
  const at = firstDifference(ids, c.ids);
  if (at < ids.length || ids.length !== c.ids.length) {
    report.fail(c.id, window("ids", ids, at), window("ids", c.ids, at));
    return;
  }
  if (c.tokens) {
    const tokens = tokenizer.tokenize(text);
    const tokenAt = firstDifference(tokens, c.tokens);
    if (tokenAt < tokens.length || tokens.length !== c.tokens.length) {
      report.fail(c.id, window("tokens", tokens, tokenAt), window("tokens", c.tokens, tokenAt));
      return;
    }
  }
  report.pass(c.id);
}

/**
 * Runs every case of a parsed vectors file into `report`. Throws {@link ConformanceInputError}
 * only for a file without usable case lists; a missing vocabulary fails every case instead.
 */
export async function runTokenizerCases(
  file: unknown,
  jsonDir: string,
  report: Report,
): Promise<void> {
  const cases = readTokenizerCases(file);
  const location = locateVocab(file, jsonDir);
  let vocabulary: BpeVocabulary | undefined;
  let problem: string | undefined;
  if (!location.found) {
    problem = location.spec
      ? `vocab "${location.spec}" not found (tried ${location.tried.join(", ")})`
      : `no vocab path in common.vocab`;
  } else {
    try {
      vocabulary = await loadVocabulary(location);
    } catch (error) {
      problem = `vocab ${location.found} unusable: ${(error as Error).message}`;
    }
  }
  const tokenizers = new Map<string, ClipTokenizer>();
  for (const c of cases) {
    if (c.invalid) {
      report.fail(c.id, `invalid case: ${c.invalid}`, "a case with text and ids");
      continue;
    }
    if (!vocabulary) {
      report.fail(c.id, problem ?? "no vocabulary", `ids ${JSON.stringify(c.ids)}`);
      continue;
    }
    const key = c.padToken ?? "";
    let tokenizer = tokenizers.get(key);
    try {
      if (!tokenizer) {
        tokenizer = ClipTokenizer.fromData(
          c.padToken ? { ...vocabulary, padToken: c.padToken } : vocabulary,
        );
        tokenizers.set(key, tokenizer);
      }
      checkCase(c, tokenizer, report);
    } catch (error) {
      report.fail(c.id, `error: ${(error as Error).message}`, `ids ${JSON.stringify(c.ids)}`);
    }
  }
}

/** CLI entry: returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const input = readJsonArgument(argv, "conformance:tokenizer", "<vectors.json>");
  if (input === null) return 2;
  const { file, doc } = input;
  const report = createReport();
  try {
    await runTokenizerCases(doc, path.dirname(file), report);
  } catch (error) {
    if (error instanceof ConformanceInputError) {
      console.error(`conformance:tokenizer: invalid vectors file ${file}: ${error.message}`);
      return 2;
    }
    throw error;
  }
  return report.finish();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
