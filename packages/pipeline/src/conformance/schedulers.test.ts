import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type CaseResult,
  defaultRunnerDeps,
  parsePythonLiteral,
  type RunnerDeps,
  runSchedulerVectors,
} from "./schedulers.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, "../../../..");
const SHARED = path.resolve(repoRoot, "../shared/reference/diffusers-scheduler-vectors.json");
const GOLDENS = path.resolve(here, "../schedulers/__goldens__");
const EXTRA = path.join(GOLDENS, "diffusers-extra.json");

const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, "utf8"));
/** Every case that did not pass, as the runner would print it. */
function failures(results: CaseResult[]): string[] {
  return results.flatMap((r) => {
    if (r.status === "fail") return [`FAIL ${r.id} got ${r.got} expected ${r.expected}`];
    return r.status === "skip" ? [`SKIP ${r.id} ${r.reason}`] : [];
  });
}

let deps: RunnerDeps;
beforeAll(async () => {
  deps = await defaultRunnerDeps();
});

if (!existsSync(SHARED))
  console.warn("skipped: ../shared/reference absent (diffusers' own scheduler test vectors)");

describe.skipIf(!existsSync(SHARED))("diffusers' own scheduler test vectors", () => {
  it("passes every full-loop and exact case", () => {
    const results = runSchedulerVectors(readJson(SHARED), deps);
    expect(failures(results)).toEqual([]);
    expect(results).toHaveLength(19);
  });
});

describe("goldens generated from diffusers 0.42.1 by the committed scripts", () => {
  for (const file of readdirSync(GOLDENS).filter((f) => f.endsWith(".json"))) {
    it(`passes every case of ${file}`, () => {
      const doc = readJson(path.join(GOLDENS, file));
      const results = runSchedulerVectors(doc, deps);
      expect(failures(results)).toEqual([]);
      expect(results.length).toBe(
        (doc["full_loop"] as unknown[]).length + ((doc["exact"] as unknown[]) ?? []).length,
      );
    });
  }

  it("covers every scheduler this package registers besides the multistep ones", () => {
    const classes = new Set(
      (readJson(EXTRA)["full_loop"] as { scheduler_class: string }[]).map((c) => c.scheduler_class),
    );
    expect([...classes].sort()).toEqual(
      [
        "DDIMScheduler",
        "DDPMScheduler",
        "EulerAncestralDiscreteScheduler",
        "EulerDiscreteScheduler",
        "HeunDiscreteScheduler",
        "LCMScheduler",
        "LMSDiscreteScheduler",
        "PNDMScheduler",
      ].sort(),
    );
  });
});

describe("runner behaviour", () => {
  const extraCase = (id: string): Record<string, unknown> => {
    const found = (readJson(EXTRA)["full_loop"] as Record<string, unknown>[]).find(
      (c) => c["id"] === id,
    );
    if (found === undefined) throw new Error(`no case ${id} in diffusers-extra.json`);
    return found;
  };

  it("fails a case whose expected sum is off, saying what it got", () => {
    const c = extraCase("ddim.eps_leading");
    const expected = c["expected"] as Record<string, number>;
    const tampered = { ...c, expected: { ...expected, abs_sum: expected["abs_sum"]! + 0.01 } };
    const [result] = runSchedulerVectors({ full_loop: [tampered] }, deps);
    expect(result).toMatchObject({
      status: "fail",
      got: expect.stringMatching(/^abs_sum=\d+\.\d+$/),
    });
    expect(result).toMatchObject({ expected: expect.stringMatching(/^abs_sum=\d+\.\d+ ± /) });
  });

  it("fails a case whose recorded sample values have the wrong sign", () => {
    const c = extraCase("euler.v_prediction");
    const expected = c["expected"] as { values: { values: number[] } };
    const flipped = { ...expected.values, values: expected.values.values.map((v) => -v) };
    const [result] = runSchedulerVectors(
      { full_loop: [{ ...c, expected: { ...expected, values: flipped } }] },
      deps,
    );
    expect(result).toMatchObject({ status: "fail", got: expect.stringMatching(/^value\[\d+\]=/) });
  });

  it("skips a stochastic case that gives no numpy noise stream (it would need torch's RNG)", () => {
    const { noise: _dropped, ...withoutNoise } = extraCase("euler_ancestral.linspace");
    const [result] = runSchedulerVectors({ full_loop: [withoutNoise] }, deps);
    expect(result).toEqual({
      id: "euler_ancestral.linspace",
      status: "skip",
      reason: "draws noise from torch's RNG (no numpy noise stream given)",
    });
  });

  it("reads configs written as Python dict reprs and finds the class of exact cases from the test file", () => {
    const exact = {
      id: "ddim.repr_config",
      file: "tests/schedulers/test_scheduler_ddim.py",
      config:
        "{'num_train_timesteps': 1000, 'steps_offset': 1, 'trained_betas': None, 'clip_sample': True}",
      call: "set_timesteps(5)",
      expected_timesteps: [801, 601, 401, 201, 1],
    };
    expect(runSchedulerVectors({ exact: [exact] }, deps)).toEqual([
      { id: "ddim.repr_config", status: "pass" },
    ]);
  });

  it("fails rather than guesses on a case format it cannot interpret", () => {
    const [result] = runSchedulerVectors(
      {
        exact: [
          {
            id: "ddim.unknown",
            config: {},
            call: "something_else()",
            file: "test_scheduler_ddim.py",
          },
        ],
      },
      deps,
    );
    expect(result).toMatchObject({
      status: "fail",
      got: expect.stringMatching(/cannot interpret/),
    });
  });
});

describe("parsePythonLiteral", () => {
  it("parses dicts, lists, tuples, strings, numbers and Python constants", () => {
    expect(
      parsePythonLiteral(
        "{'a': 1, \"b\": -2.5e-3, 'c': True, 'd': None, 'e': -inf, 'f': [1, (2, 3)], 'g': 'it\\'s', 'h': False,}",
      ),
    ).toEqual({
      a: 1,
      b: -0.0025,
      c: true,
      d: null,
      e: -Infinity,
      f: [1, [2, 3]],
      g: "it's",
      h: false,
    });
  });

  it("reports where the text stops being a literal", () => {
    expect(() => parsePythonLiteral("{'a': nope}")).toThrow(/expected a value at offset 6/);
    expect(() => parsePythonLiteral("[1, 2] x")).toThrow(/expected end of input/);
  });
});
