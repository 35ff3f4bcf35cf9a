import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../../../..");
const FIXTURE = resolve(ROOT, "packages/pipeline/fixtures/tiny-sd");

describe("eval:model", () => {
  it("writes one verdict line per image with the input fields, and ends with the accuracies as JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "easel-eval-"));
    const prompts = join(dir, "prompts.jsonl");
    const out = join(dir, "results.jsonl");
    await writeFile(
      prompts,
      '{"prompt":"a red circle","tag":"t1"}\n\n{"prompt":"a purple triangle on the left"}\n',
    );
    // The random fixture model draws noise: this checks the interface, not the accuracy.
    const { stdout } = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "packages/shapes/src/cli/eval-model.ts",
        "--prompts",
        prompts,
        "--seeds",
        "2",
        "--steps",
        "2",
        "--model",
        FIXTURE,
        "--out",
        out,
      ],
      { cwd: ROOT, timeout: 120_000 },
    );
    const lines = stdout.trim().split("\n");
    const summary = JSON.parse(lines.at(-1) ?? "");
    expect(summary).toMatchObject({
      images: 4,
      prompts: 2,
      seeds: 2,
      steps: 2,
      counts: { seen: 2, held_out: 2 },
    });
    expect(Object.keys(summary.attributes)).toEqual([
      "colour",
      "shape",
      "count",
      "size",
      "position",
      "relation",
    ]);
    expect(lines[0]).toMatch(/^\| subset/);
    const rows = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatchObject({ tag: "t1", prompt: "a red circle", seed: 0, held_out: false });
    expect(rows[2]).toMatchObject({
      prompt: "a purple triangle on the left",
      seed: 0,
      held_out: true,
    });
    for (const row of rows) expect(typeof row.correct).toBe("boolean");
  }, 150_000);

  it("exits 2 naming the problem for a prompts line without a prompt", async () => {
    const dir = await mkdtemp(join(tmpdir(), "easel-eval-"));
    const prompts = join(dir, "bad.jsonl");
    await writeFile(prompts, '{"text":"a red circle"}\n');
    const error = await run(
      process.execPath,
      [
        "--import",
        "tsx",
        "packages/shapes/src/cli/eval-model.ts",
        "--prompts",
        prompts,
        "--model",
        FIXTURE,
      ],
      { cwd: ROOT, timeout: 60_000 },
    ).catch((e: { code: number; stderr: string }) => e);
    expect((error as { code: number }).code).toBe(2);
    expect((error as { stderr: string }).stderr).toContain(
      'bad.jsonl:1: needs a "prompt" string field',
    );
  }, 90_000);
});
