import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { expandText, locateVocab, readTokenizerCases } from "./tokenizer.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../../..");
const REFERENCE_DIR = path.resolve(repoRoot, "../shared/reference");
const VECTORS = path.join(REFERENCE_DIR, "clip-tokenizer-vectors.json");
const GZ = path.join(REFERENCE_DIR, "clip/bpe_simple_vocab_16e6.txt.gz");
const GOLDEN = path.resolve(here, "../tokenizer/fixtures/clip-golden.json");
const haveReference = existsSync(VECTORS) && existsSync(GZ);
if (!haveReference) console.warn(`skipped: ${REFERENCE_DIR} absent (CLIP vocabulary and vectors)`);

/**
 * Runs the runner: through its package script when `viaPnpm` (the documented interface), else with
 * node and tsx directly, which skips pnpm's start-up time.
 */
function runCli(file: string, viaPnpm = false) {
  const result = viaPnpm
    ? spawnSync("pnpm", ["--silent", "conformance:tokenizer", file], {
        cwd: repoRoot,
        encoding: "utf8",
      })
    : spawnSync(process.execPath, ["--import", "tsx", path.join(here, "tokenizer.ts"), file], {
        cwd: repoRoot,
        encoding: "utf8",
      });
  return { status: result.status, lines: result.stdout.trim().split("\n"), stderr: result.stderr };
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "easel-tok-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("tokenizer vectors parsing", () => {
  it("expands the Python repetition the reference file uses for its long prompt", () => {
    expect(expandText("'cat ' * 3 (joined by spaces)")).toBe("cat cat cat ");
    expect(expandText('"ab" * 2')).toBe("abab");
    expect(expandText("a photo of a cat")).toBe("a photo of a cat");
  });

  it("reads examples, cases and padded examples from the top level or from common", () => {
    const cases = readTokenizerCases({
      common: { model_max_length: 10, padded_example: { short: { text: "", ids: [1, 2] } } },
      examples: [{ text: "a", ids: [1, 5, 2] }],
      cases: [{ id: "own id", text: "b", ids: [1, 6, 2], max_length: 3, pad_token: "!" }],
    });
    expect(cases.map((c) => [c.id, c.padding, c.maxLength, c.padToken])).toEqual([
      ['text="a"', false, undefined, undefined],
      ["own id", false, 3, "!"],
      ["short", true, 10, undefined],
    ]);
  });

  it("finds the vocabulary beside the file by dropping leading folders of common.vocab", () => {
    const file = {
      common: { vocab: "shared/reference/clip/bpe.txt.gz (sha256 " + "ab".repeat(32) + "): notes" },
    };
    const location = locateVocab(file, "/data/ref");
    expect(location.spec).toBe("shared/reference/clip/bpe.txt.gz");
    expect(location.sha256).toBe("ab".repeat(32));
    expect(location.tried).toEqual([
      "/data/ref/shared/reference/clip/bpe.txt.gz",
      "/data/ref/reference/clip/bpe.txt.gz",
      "/data/ref/clip/bpe.txt.gz",
      "/data/ref/bpe.txt.gz",
    ]);
    expect(location.found).toBeUndefined();
  });
});

describe("conformance:tokenizer command", () => {
  it.skipIf(!haveReference)(
    "passes every case of ../shared/reference/clip-tokenizer-vectors.json",
    () => {
      const { status, lines } = runCli(VECTORS, true);
      expect(lines.at(-1)).toBe("9 passed, 0 failed");
      expect(status).toBe(0);
    },
  );

  it.skipIf(!haveReference)("passes the HF golden fixture", () => {
    const { status, lines } = runCli(GOLDEN);
    expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
    expect(status).toBe(0);
  });

  it.skipIf(!haveReference)(
    "exits non-zero with a FAIL line when an expected id is changed",
    async () => {
      const file = JSON.parse(readFileSync(VECTORS, "utf8")) as { examples: { ids: number[] }[] };
      file.examples[0]!.ids[1] = 321;
      const dir = await tempDir();
      await mkdir(path.join(dir, "clip"));
      await copyFile(GZ, path.join(dir, "clip", path.basename(GZ)));
      await writeFile(path.join(dir, "vectors.json"), JSON.stringify(file));
      const { status, lines } = runCli(path.join(dir, "vectors.json"));
      expect(status).not.toBe(0);
      expect(lines.filter((line) => line.startsWith("FAIL"))).toEqual([
        expect.stringMatching(
          /^FAIL text="a photo of a cat" got ids\[0\.\.\]=\[49406,320,.* expected ids\[0\.\.\]=\[49406,321,/,
        ),
      ]);
      expect(lines.at(-1)).toBe("8 passed, 1 failed");
    },
  );

  it("fails every case, saying why, when the vocabulary cannot be found", async () => {
    const dir = await tempDir();
    const file = path.join(dir, "vectors.json");
    await writeFile(
      file,
      JSON.stringify({
        common: { vocab: "clip/missing.txt.gz" },
        examples: [{ text: "a", ids: [49406, 320, 49407] }],
      }),
    );
    const { status, lines } = runCli(file);
    expect(status).toBe(1);
    expect(lines[0]).toMatch(
      /^FAIL text="a" got vocab "clip\/missing.txt.gz" not found \(tried .*\) expected/,
    );
    expect(lines.at(-1)).toBe("0 passed, 1 failed");
  });

  it("exits 2 with a message for an unreadable or invalid file", async () => {
    const missing = runCli("/nonexistent/vectors.json");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("cannot read /nonexistent/vectors.json");
    const dir = await tempDir();
    await writeFile(path.join(dir, "bad.json"), "[1, 2");
    expect(runCli(path.join(dir, "bad.json")).status).toBe(2);
    await writeFile(path.join(dir, "nocases.json"), '{"common": {}}');
    const noCases = runCli(path.join(dir, "nocases.json"));
    expect(noCases.status).toBe(2);
    expect(noCases.stderr).toContain("no cases");
  });
});
