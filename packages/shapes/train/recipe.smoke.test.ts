import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const python = path.join(repoRoot, ".venv/bin/python");
const trainScript = path.join(repoRoot, "packages/shapes/train/train.py");
const checkScript = path.join(repoRoot, "packages/shapes/train/check_export.py");
const smokeConfig = path.join(repoRoot, "packages/shapes/train/configs/smoke.json");

function torchAvailable(): boolean {
  if (!existsSync(python)) return false;
  return (
    spawnSync(python, ["-c", "import torch, diffusers, transformers, onnxruntime"], {
      encoding: "utf8",
    }).status === 0
  );
}

const hasTorch = torchAvailable();
if (!hasTorch) {
  console.warn(
    `skipped: the training recipe needs ${python} with torch, diffusers, transformers and onnxruntime (see packages/shapes/train/requirements.txt)`,
  );
}

interface LogRecord {
  stage: string;
  [key: string]: unknown;
}

function readLog(file: string): LogRecord[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as LogRecord);
}

describe.skipIf(!hasTorch)("the Easel Shapes training recipe (smoke configuration)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "easel-shapes-smoke-"));
  const modelDir = path.join(work, "model");
  const logFile = path.join(work, "train-log.jsonl");
  const args = [
    trainScript,
    "--config",
    smokeConfig,
    "--run-dir",
    path.join(work, "run"),
    "--export-dir",
    modelDir,
    "--log",
    logFile,
  ];
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  function train() {
    return spawnSync(python, args, { cwd: repoRoot, encoding: "utf8", timeout: 420_000 });
  }

  it("runs every stage end to end and exports a diffusers ONNX folder", {
    timeout: 450_000,
  }, () => {
    const run = train();
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
    const stages = new Set(readLog(logFile).map((r) => r.stage));
    for (const stage of ["data", "tokenizer", "clip", "vae", "latents", "unet", "export", "done"]) {
      expect(stages.has(stage), `log lacks stage ${stage}`).toBe(true);
    }
    for (const file of [
      "model_index.json",
      "scheduler/scheduler_config.json",
      "tokenizer/vocab.json",
      "tokenizer/merges.txt",
      "tokenizer/tokenizer_config.json",
      "text_encoder/model.onnx",
      "unet/model.onnx",
      "unet/weights.pb",
      "vae_encoder/model.onnx",
      "vae_decoder/model.onnx",
    ]) {
      expect(existsSync(path.join(modelDir, file)), `${file} missing`).toBe(true);
    }
  });

  it("exports graphs whose names, dtypes, shapes and configs match the SD ONNX contract", {
    timeout: 120_000,
  }, () => {
    const check = spawnSync(python, [checkScript, modelDir], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 110_000,
    });
    expect(check.status, `${check.stdout}\n${check.stderr.slice(-4000)}`).toBe(0);
    expect(check.stdout).toContain("export ok");
  });

  it("resumes instead of retraining when the same command runs again", { timeout: 450_000 }, () => {
    const before = readLog(logFile).length;
    const run = train();
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
    const again = readLog(logFile).slice(before);
    const trainingSteps = again.filter(
      (r) => r.stage === "clip" || r.stage === "vae" || r.stage === "unet",
    );
    expect(trainingSteps).toEqual([]);
    expect(again.some((r) => r.stage === "done")).toBe(true);
  });

  it("continues from an exported folder (warm start) as release 4 did: bidirectional encoder, decoder fine-tune, grounding loss, position probe", {
    timeout: 450_000,
  }, () => {
    const smoke = JSON.parse(readFileSync(smokeConfig, "utf8"));
    const config = path.join(work, "continue.json");
    writeFileSync(
      config,
      JSON.stringify({
        ...smoke,
        init_from: modelDir,
        // As releases 3 and 4 did: the causal release's weights go on in a bidirectional encoder,
        // with the grounding loss, the position probe, fixed form shares and more high noise.
        text_encoder: { ...smoke.text_encoder, bidirectional: true },
        unet_train: {
          ...smoke.unet_train,
          steps: 2,
          text_encoder_lr_scale: 1.0,
          x0_weight_floor: 0.25,
          grounding_weight: 0.1,
          position_probe_weight: 1.0,
          form_share: { single: 0.3, count: 0.2, relation: 0.5 },
          high_noise_share: 0.3,
          high_noise_from: 600,
        },
        vae_decoder_train: {
          batch_size: 4,
          lr: 0.0002,
          steps: 3,
          warmup_steps: 1,
          edge_weight: 1.0,
          gan_weight: 0.1,
          feature_matching_weight: 1.0,
          gan_start: 0.3,
          disc_channels: 8,
          ema_decay: 0.999,
          log_every: 1,
        },
      }),
    );
    const continued = path.join(work, "continued");
    const continueLog = path.join(work, "continue-log.jsonl");
    const run = spawnSync(
      python,
      [
        trainScript,
        "--config",
        config,
        "--run-dir",
        path.join(work, "run2"),
        "--export-dir",
        continued,
        "--log",
        continueLog,
      ],
      { cwd: repoRoot, encoding: "utf8", timeout: 420_000 },
    );
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
    const records = readLog(continueLog);
    const stages = records.map((r) => r.stage);
    expect(stages).toContain("warm_start");
    // Both extra losses ran, on every logged step, with finite values.
    const unetSteps = records.filter((r) => r.stage === "unet");
    for (const r of unetSteps) {
      expect(Number.isFinite(r.grounding), JSON.stringify(r)).toBe(true);
      expect(Number.isFinite(r.position_probe), JSON.stringify(r)).toBe(true);
    }
    // Warm-started: the contrastive and autoencoder stages do not run again; the decoder is
    // fine-tuned (with its adversarial part from the second step on).
    expect(stages.filter((s) => s === "clip" || s === "vae")).toEqual([]);
    const decoderSteps = records.filter((r) => r.stage === "vae_decoder");
    expect(decoderSteps.map((r) => r.step)).toEqual([1, 2, 3]);
    expect(decoderSteps.at(-1)?.d).toBeGreaterThan(0);
    expect(stages.filter((s) => s === "unet").length).toBeGreaterThan(0);
    // The release's vocabulary is kept, and the folder still meets the SD ONNX contract.
    expect(readFileSync(path.join(continued, "tokenizer/vocab.json"), "utf8")).toBe(
      readFileSync(path.join(modelDir, "tokenizer/vocab.json"), "utf8"),
    );
    const encoderConfig = JSON.parse(
      readFileSync(path.join(continued, "text_encoder/config.json"), "utf8"),
    );
    expect(encoderConfig.easel_attention).toBe("bidirectional");
    const check = spawnSync(python, [checkScript, continued], {
      cwd: repoRoot,
      encoding: "utf8",
      timeout: 110_000,
    });
    expect(check.status, `${check.stdout}\n${check.stderr.slice(-4000)}`).toBe(0);
  });
});
