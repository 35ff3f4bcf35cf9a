/** Inputs, checks and golden-case suites shared by the scheduler tests. */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type RunnerDeps, runFullLoopCase } from "../conformance/schedulers.ts";
import { RandomState } from "../random/numpy.ts";
import { type Tensor, tensor } from "../tensor/index.ts";
import { parseSchedulerConfig, type SchedulerConfig } from "./config.ts";
import type { NoiseSource, Scheduler } from "./types.ts";

export { dummyModel } from "../conformance/schedulers.ts";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
/** diffusers' own scheduler test vectors: in ../shared/reference, absent from a fresh clone. */
const SHARED_VECTORS = path.resolve(
  REPO_ROOT,
  "../shared/reference/diffusers-scheduler-vectors.json",
);
/** The multistep solvers' goldens, generated from diffusers 0.42.1 by the committed script. */
const MULTISTEP_GOLDENS = fileURLToPath(
  new URL("./__goldens__/diffusers-multistep.json", import.meta.url),
);

/** Stable Diffusion 1.5's scheduler/scheduler_config.json as published (diffusers 0.6 era). */
export const SD15_SCHEDULER_CONFIG = {
  _class_name: "PNDMScheduler",
  _diffusers_version: "0.6.0",
  beta_end: 0.012,
  beta_schedule: "scaled_linear",
  beta_start: 0.00085,
  num_train_timesteps: 1000,
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
  clip_sample: false,
};

/** A sample of any shape holding `k / n` at flat index k. */
export function rampSample(dims: readonly number[]): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return tensor(
    Float32Array.from({ length: n }, (_, k) => k / n),
    dims,
  );
}

/** The largest elementwise |a - b| (0 means bit-equal but for signed zeros). */
export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** A NoiseSource of zeros that counts how many normals were drawn. */
export function countingNoise(): NoiseSource & { drawn: () => number } {
  let drawn = 0;
  return {
    drawn: () => drawn,
    randn: (n: number) => {
      drawn += n;
      return new Float32Array(n);
    },
  };
}

function casesOf(file: string, prefix: string): Record<string, unknown>[] {
  const doc = JSON.parse(readFileSync(file, "utf8")) as { full_loop: Record<string, unknown>[] };
  return doc.full_loop.filter((c) => String(c["id"]).startsWith(`${prefix}.`));
}

/**
 * One test per `<prefix>.*` full-loop case of diffusers' own vectors (skipped, with a warning, when
 * ../shared/reference is absent) and of the multistep goldens, each replayed by the conformance runner
 * on a scheduler built by `create` from the case's parsed config. `minShared`/`minGoldens` guard
 * against a filter that silently matches nothing.
 */
export function describeMultistepCases(options: {
  className: string;
  prefix: string;
  create: (config: SchedulerConfig) => Scheduler;
  minShared: number;
  minGoldens: number;
  /** What the goldens vary, for the test name ("solver", "predictor/corrector"). */
  variants: string;
}): void {
  const { className, prefix, minShared, minGoldens } = options;
  const deps: RunnerDeps = {
    createScheduler: (config) => options.create(parseSchedulerConfig(config, () => {})),
    numpyNoise: (seed) => new RandomState(seed),
  };
  const shared = existsSync(SHARED_VECTORS);
  describe.skipIf(!shared)(`${className} against diffusers' own tests`, () => {
    const cases = shared ? casesOf(SHARED_VECTORS, prefix) : [];
    it(`finds the ${prefix} cases in the shared vectors file`, () => {
      expect(cases.length).toBeGreaterThanOrEqual(minShared);
    });
    for (const c of cases) {
      it(`passes ${String(c["id"])} within diffusers' tolerance`, () => {
        // On failure the result lists each mismatching quantity, got against expected.
        expect(runFullLoopCase(c, deps)).toEqual({ id: c["id"], status: "pass" });
      });
    }
  });
  if (!shared) console.warn("skipped: ../shared/reference absent");

  describe(`${className} against goldens from diffusers 0.42.1`, () => {
    const cases = casesOf(MULTISTEP_GOLDENS, prefix);
    it(`has goldens for every ${options.variants} variant`, () => {
      expect(cases.length).toBeGreaterThanOrEqual(minGoldens);
    });
    for (const c of cases) {
      it(`reproduces ${String(c["id"])} (sums, values and timesteps)`, () => {
        // On failure the result lists each mismatching quantity, got against expected.
        expect(runFullLoopCase(c, deps)).toEqual({ id: c["id"], status: "pass" });
      });
    }
  });
}
