import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { decodePng } from "../image/png.ts";
import { TINY_SD } from "../models/test-helpers.ts";
import { outputPaths, parseCliArgs, UsageError } from "./args.ts";
import { createProgressReporter } from "./progress.ts";

const BIN = resolve(import.meta.dirname, "../../bin/easel-pipeline.mjs");
const work = mkdtempSync(join(tmpdir(), "easel-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the real bin from an unrelated working directory, as a user would. */
function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: work,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("easel-pipeline (spawned)", () => {
  it("writes a PNG with the parameters embedded and prints plain progress lines when not on a TTY", () => {
    const out = join(work, "fox.png");
    const r = cli([
      "--model",
      TINY_SD,
      "a red fox",
      "-o",
      out,
      "--steps",
      "3",
      "--seed",
      "7",
      "--scheduler",
      "ddim",
    ]);
    expect(r.stderr).toContain("step 1/3");
    expect(r.stderr).toContain("step 3/3");
    expect(r.stderr).toContain(`wrote ${out} (seed 7,`);
    expect(r.status).toBe(0);
    const png = decodePng(readFileSync(out));
    expect(png).toMatchObject({ width: 64, height: 64 });
    expect(png.text["parameters"]).toContain(
      "a red fox\nSteps: 3, Sampler: DDIM, CFG scale: 7.5, Seed: 7",
    );
  });

  it("writes numbered files for --n 2 and reports them as JSON with --json", () => {
    const r = cli([
      "--model",
      TINY_SD,
      "a castle",
      "-o",
      "castle.webp",
      "--n",
      "2",
      "--steps",
      "2",
      "--json",
    ]);
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout) as {
      files: string[];
      seed: number;
      timings: { totalMs: number };
    };
    expect(report.files).toEqual(["castle-1.webp", "castle-2.webp"]);
    for (const f of report.files) expect(existsSync(join(work, f))).toBe(true);
    expect(readFileSync(join(work, "castle-1.webp")).subarray(0, 4).toString("latin1")).toBe(
      "RIFF",
    );
    expect(report.timings.totalMs).toBeGreaterThan(0);
  });

  it("prints help and exits 0", () => {
    const r = cli(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('Usage: easel-pipeline --model DIR "prompt"');
  });

  it("exits 2 with the message on usage errors", () => {
    const missingModel = cli(["a prompt"]);
    expect(missingModel.status).toBe(2);
    expect(missingModel.stderr).toContain("easel-pipeline: --model DIR is required");
    const badNumber = cli(["--model", TINY_SD, "p", "--steps", "ten"]);
    expect(badNumber.status).toBe(2);
    expect(badNumber.stderr).toContain('--steps must be an integer, got "ten"');
  });

  it("exits 2 with the pipeline's message for out-of-range values", () => {
    const r = cli(["--model", TINY_SD, "p", "--steps", "0"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("easel-pipeline: steps must be an integer in [1, 150], got 0");
  });

  it("exits 1 naming the file when the model folder is incomplete", () => {
    const r = cli(["--model", join(work, "nowhere"), "p"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`model folder not found: ${join(work, "nowhere")}`);
  });
});

describe("parseCliArgs", () => {
  it("fills defaults and reads the format from the output's extension", () => {
    expect(parseCliArgs(["--model", "m", "p"])).toEqual({
      model: "m",
      prompt: "p",
      output: "out.png",
      format: "png",
      provider: "cpu",
      json: false,
    });
    const jpeg = parseCliArgs(["--model", "m", "p", "-o", "x.JPG"]);
    expect(jpeg !== "help" && jpeg.format).toBe("jpeg");
  });

  it("rejects unknown formats, providers and a mask without an image", () => {
    expect(() => parseCliArgs(["--model", "m", "p", "--format", "gif"])).toThrow(UsageError);
    expect(() => parseCliArgs(["--model", "m", "p", "--provider", "tpu"])).toThrow(
      '--provider must be cpu or cuda, got "tpu"',
    );
    expect(() => parseCliArgs(["--model", "m", "p", "--mask", "m.png"])).toThrow(
      "--mask needs --image",
    );
    expect(() => parseCliArgs(["--model", "m", "p", "q"])).toThrow(
      "expected one prompt, got 2 arguments",
    );
  });
});

describe("outputPaths", () => {
  it("numbers files before the extension when there are several", () => {
    expect(outputPaths("out.png", 1)).toEqual(["out.png"]);
    expect(outputPaths("dir.v2/out.png", 2)).toEqual(["dir.v2/out-1.png", "dir.v2/out-2.png"]);
    expect(outputPaths("dir.v2/out", 2)).toEqual(["dir.v2/out-1", "dir.v2/out-2"]);
  });
});

describe("createProgressReporter", () => {
  it("redraws one line on a TTY and ends it when done", () => {
    const writes: string[] = [];
    const reporter = createProgressReporter({
      isTTY: true,
      columns: 60,
      write: (s: string) => writes.push(s),
    });
    reporter.onProgress({ step: 1, total: 2, timestep: 500, elapsedMs: 100 });
    reporter.onProgress({ step: 2, total: 2, timestep: 1, elapsedMs: 200 });
    reporter.done();
    expect(writes[0]).toBe("\r\x1b[2K[##########----------] 1/2 t=500 0.1s");
    expect(writes[1]!.startsWith("\r\x1b[2K[####################] 2/2")).toBe(true);
    expect(writes[2]).toBe("\n");
  });
});
