import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { drawCase, parseCall, runRandnCase } from "./randn.ts";
import { createReport } from "./report.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../../..");
const REFERENCE = path.resolve(repoRoot, "../shared/reference/numpy-randn.json");
const GOLDEN = path.resolve(here, "../random/fixtures/numpy-golden.json");
if (!existsSync(REFERENCE)) console.warn(`skipped: ${REFERENCE} absent`);

/**
 * Runs the runner: through its package script when `viaPnpm` (the documented interface), else with
 * node and tsx directly, which skips pnpm's start-up time.
 */
function runCli(file: string, viaPnpm = false) {
  const result = viaPnpm
    ? spawnSync("pnpm", ["--silent", "conformance:randn", file], {
        cwd: repoRoot,
        encoding: "utf8",
      })
    : spawnSync(process.execPath, ["--import", "tsx", path.join(here, "randn.ts"), file], {
        cwd: repoRoot,
        encoding: "utf8",
      });
  return { status: result.status, lines: result.stdout.trim().split("\n"), stderr: result.stderr };
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "easel-randn-"));
  tempDirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

function runOne(raw: unknown): string[] {
  const lines: string[] = [];
  runRandnCase(
    raw,
    0,
    createReport((line) => lines.push(line)),
  );
  return lines;
}

describe("parseCall", () => {
  it("reads sizes, several calls and the float32 cast", () => {
    expect(parseCall("randn(1,4,8,8).astype(float32) -> flattened C-order, first 16")).toEqual({
      expression: "randn(1,4,8,8).astype(float32)",
      calls: [{ kind: "gauss", count: 256 }],
      castToFloat32: true,
    });
    expect(
      parseCall("randn(3); random_sample((2,3)); standard_normal(size=7); randn()").calls,
    ).toEqual([
      { kind: "gauss", count: 3 },
      { kind: "uniform", count: 6 },
      { kind: "gauss", count: 7 },
      { kind: "gauss", count: 1 },
    ]);
    expect(parseCall("np.random.RandomState(7).rand(2)").calls).toEqual([
      { kind: "uniform", count: 2 },
    ]);
  });

  it("refuses calls it cannot reproduce", () => {
    expect(() => parseCall("normal(0, 1, 5)")).toThrow("unsupported call normal(...)");
    expect(() => parseCall("randn(n)")).toThrow("only integer sizes are supported");
    expect(() => parseCall("nothing here")).toThrow("no random call found");
  });
});

describe("runRandnCase", () => {
  it("passes a case whose values match and fails one whose last value differs", () => {
    const values = Array.from(drawCase(0, parseCall("randn(4)")));
    expect(runOne({ seed: 0, call: "randn(4)", float64: values })).toEqual([
      "PASS seed=0 randn(4)",
    ]);
    const tampered = [...values.slice(0, 3), values[3]! + 1e-15];
    expect(runOne({ seed: 0, call: "randn(4)", float64: tampered })[0]).toMatch(
      /^FAIL seed=0 randn\(4\) got float64\[3\]=\S+ expected float64\[3\]=\S+$/,
    );
  });

  it("skips a case with nothing to compare and fails a malformed one", () => {
    expect(runOne({ seed: 0, call: "randn(2)", note: "x" })[0]).toMatch(
      /^SKIP seed=0 randn\(2\) no expected values/,
    );
    expect(runOne({ seed: -1, call: "randn(2)", float64: [] })[0]).toMatch(
      /^FAIL seed=-1 randn\(2\) got seed -1/,
    );
    expect(runOne({ id: "mine", seed: 0, call: "gamma(2)", float64: [] })[0]).toMatch(
      /^FAIL mine got unsupported/,
    );
  });
});

describe("conformance:randn command", () => {
  it.skipIf(!existsSync(REFERENCE))(
    "passes every case of ../shared/reference/numpy-randn.json",
    () => {
      const { status, lines } = runCli(REFERENCE, true);
      expect(lines.at(-1)).toMatch(/^\d+ passed, 0 failed$/);
      expect(lines.filter((line) => line.startsWith("PASS")).length).toBeGreaterThan(0);
      expect(status).toBe(0);
    },
  );

  it("passes the numpy golden fixture, which adds uniform, multi-call and 4x64x64 cases", () => {
    const { status, lines } = runCli(GOLDEN);
    expect(lines.at(-1)).toBe("13 passed, 0 failed");
    expect(status).toBe(0);
  });

  it("exits non-zero with a FAIL line when an expected value is tampered with", async () => {
    const source = existsSync(REFERENCE) ? REFERENCE : GOLDEN;
    const file = JSON.parse(readFileSync(source, "utf8")) as {
      cases: { float64?: number[]; float32_first16?: number[] }[];
    };
    const target = file.cases.find((c) => c.float64) ?? file.cases.find((c) => c.float32_first16)!;
    const values = (target.float64 ?? target.float32_first16)!;
    values[values.length - 1] = -values[values.length - 1]!;
    const dir = await tempDir();
    const tampered = path.join(dir, "tampered.json");
    await writeFile(tampered, JSON.stringify(file));
    const { status, lines } = runCli(tampered);
    expect(status).not.toBe(0);
    expect(lines.filter((line) => line.startsWith("FAIL"))).toHaveLength(1);
    expect(lines.at(-1)).toMatch(/ passed, 1 failed$/);
  });

  it("exits 2 with a message for a missing or invalid file", async () => {
    const missing = runCli("/nonexistent/numpy-randn.json");
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("cannot read /nonexistent/numpy-randn.json");
    const dir = await tempDir();
    await writeFile(path.join(dir, "bad.json"), "{not json");
    expect(runCli(path.join(dir, "bad.json")).status).toBe(2);
    await writeFile(path.join(dir, "empty.json"), '{"cases": []}');
    const empty = runCli(path.join(dir, "empty.json"));
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('expected a non-empty "cases" array');
  });
});
