import { execFile } from "node:child_process";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { evalPromptSet } from "../dataset/eval-set.ts";
import { writeDataset } from "../dataset/write.ts";
import { parsePrompt } from "../grammar/parse.ts";
import { isHeldOut } from "../spec.ts";

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname);

function tsx(script: string, args: string[]) {
  return run(process.execPath, ["--import", "tsx", join(CLI, script), ...args], {
    timeout: 60_000,
  });
}

describe("swap-relations", () => {
  it("prints every relation prompt of the built-in set with subject and reference exchanged", async () => {
    const { stdout } = await tsx("swap-relations.ts", []);
    const lines = stdout
      .trimEnd()
      .split("\n")
      .map((line) => JSON.parse(line));
    const relations = evalPromptSet().filter((p) => p.form === "relation");
    expect(lines.map((l) => l.original)).toEqual(relations.map((p) => p.prompt));
    for (const line of lines) {
      const original = parsePrompt(line.original);
      const swapped = parsePrompt(line.prompt);
      if (original.form !== "relation" || swapped.form !== "relation") throw new Error(line.prompt);
      expect(swapped).toEqual({
        form: "relation",
        subject: original.reference,
        relation: original.relation,
        reference: original.subject,
      });
      expect(line.held_out).toBe(isHeldOut(swapped));
    }
  });
});

describe("judge-dataset", () => {
  it("accepts ground-truth renders, rejects images of other captions, and names a wrong-sized file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "easel-judge-"));
    writeDataset({ count: 60, seed: 3, split: "all", out: dir });
    const truth = await tsx("judge-dataset.ts", ["--dir", dir]);
    const summary = JSON.parse(truth.stdout.trimEnd().split("\n").at(-1)!);
    expect(summary.images).toBe(60);
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.98);
    // The same images, each judged against the caption of the scene 30 places on.
    const images = await readFile(join(dir, "images.u8"));
    const shifted = Buffer.concat([images.subarray(30 * 12288), images.subarray(0, 30 * 12288)]);
    await writeFile(join(dir, "shifted.u8"), shifted);
    const wrong = await tsx("judge-dataset.ts", ["--dir", dir, "--images", "shifted.u8"]);
    expect(JSON.parse(wrong.stdout.trimEnd().split("\n").at(-1)!).accuracy).toBeLessThan(0.2);
    await writeFile(join(dir, "short.u8"), images.subarray(0, 12288));
    await expect(tsx("judge-dataset.ts", ["--dir", dir, "--images", "short.u8"])).rejects.toThrow(
      /short\.u8: 12288 bytes, expected 60 x 12288/,
    );
  });
});
