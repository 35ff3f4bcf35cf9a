/**
 * Scheduler conformance runner: replays diffusers' scheduler test cases against our schedulers.
 *
 *     pnpm --silent conformance:schedulers ../shared/reference/diffusers-scheduler-vectors.json
 *
 * The input format is that of diffusers-scheduler-vectors.json (see its "common" section): `full_loop`
 * cases run a denoising loop with diffusers' dummy model on a deterministic sample and compare
 * sum/mean of |sample| (plus, when given, the timesteps and sample values); `exact` cases compare
 * timesteps, DDIM variances or previous timesteps. Prints `PASS <id>`, `FAIL <id> got … expected …` or
 * `SKIP <id> <reason>` per case, then `N passed, N failed` (./report.ts); exits 1 when a case failed,
 * 2 when the file cannot be read.
 *
 * Stochastic schedulers draw from numpy's legacy RandomState (our NoiseSource), never from torch's
 * generator: a case whose run draws noise passes only when it says which numpy stream diffusers used
 * (`"noise": {"source": "numpy_randn", "seed": S}`, see scripts/make_scheduler_goldens.py); otherwise
 * it is skipped as needing torch's RNG.
 */
import { pathToFileURL } from "node:url";
import type { NoiseSource, Scheduler } from "../schedulers/types.ts";
import { type Tensor, tensor } from "../tensor/index.ts";
import { createReport, readJsonArgument } from "./report.ts";

/** How the runner builds schedulers and numpy noise; injectable so tests can use fakes. */
export interface RunnerDeps {
  createScheduler(config: Record<string, unknown>, name: string): Scheduler;
  numpyNoise(seed: number): NoiseSource;
}

/** The outcome of one case: failures say what the run gave and what the case expected. */
export type CaseResult =
  | { id: string; status: "pass" }
  | { id: string; status: "fail"; got: string; expected: string }
  | { id: string; status: "skip"; reason: string };

/** One disagreement between a run and its case. */
interface Mismatch {
  what: string;
  got: string;
  expected: string;
}

const pass = (id: string): CaseResult => ({ id, status: "pass" });

/** A failure listing every mismatch, `what=got` against `what=expected`. */
function failure(id: string, mismatches: readonly Mismatch[]): CaseResult {
  return {
    id,
    status: "fail",
    got: mismatches.map((m) => `${m.what}=${m.got}`).join("; "),
    expected: mismatches.map((m) => `${m.what}=${m.expected}`).join("; "),
  };
}

/** A failure of a case the runner could not carry out (a bad field, a scheduler error). */
function unrunnable(id: string, problem: string): CaseResult {
  return { id, status: "fail", got: problem, expected: "a case the runner can run" };
}

/** diffusers test file stem (or case id prefix) -> scheduler class, for `exact` cases without `scheduler_class`. */
const TEST_FILE_CLASSES: Readonly<Record<string, string>> = {
  ddim: "DDIMScheduler",
  ddpm: "DDPMScheduler",
  pndm: "PNDMScheduler",
  lcm: "LCMScheduler",
  euler: "EulerDiscreteScheduler",
  euler_ancestral: "EulerAncestralDiscreteScheduler",
  heun: "HeunDiscreteScheduler",
  lms: "LMSDiscreteScheduler",
  dpm_multi: "DPMSolverMultistepScheduler",
  unipc: "UniPCMultistepScheduler",
};

/** Thrown by the noise source of cases that give no numpy stream: the run needed torch's RNG. */
class TorchRngRequired extends Error {}

const f32 = Math.fround;

/** Runs every case of a parsed vectors file, `full_loop` first, then `exact`. */
export function runSchedulerVectors(doc: unknown, deps: RunnerDeps): CaseResult[] {
  const root = asRecord(doc, "vectors file");
  const results: CaseResult[] = [];
  for (const raw of asArray(root["full_loop"] ?? [], "full_loop")) {
    results.push(guard(raw, (c) => runFullLoopCase(c, deps)));
  }
  for (const raw of asArray(root["exact"] ?? [], "exact")) {
    results.push(guard(raw, (c) => runExactCase(c, deps)));
  }
  return results;
}

function guard(raw: unknown, run: (c: Record<string, unknown>) => CaseResult): CaseResult {
  const c = asRecord(raw, "case");
  const id = typeof c["id"] === "string" ? c["id"] : "<case without id>";
  try {
    return run(c);
  } catch (error) {
    if (error instanceof TorchRngRequired) {
      return {
        id,
        status: "skip",
        reason: "draws noise from torch's RNG (no numpy noise stream given)",
      };
    }
    return unrunnable(id, `error: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// full-loop cases

/** Runs one `full_loop` case and compares its final sample with the expectations. */
export function runFullLoopCase(c: Record<string, unknown>, deps: RunnerDeps): CaseResult {
  const id = String(c["id"]);
  const className = String(c["scheduler_class"]);
  const scheduler = deps.createScheduler(caseConfig(c), className);
  const steps = Number(c["num_inference_steps"]);
  const loop = String(c["loop"]);
  const noise = noiseSourceOf(c, deps);
  const eta = typeof c["eta"] === "number" ? c["eta"] : 0;

  const sampleName = String(c["sample"] ?? "dummy_sample_deter");
  let sample = deterministicSample(sampleName, false);
  scheduler.setTimesteps(steps);
  const kDiffusion = loop === "k_diffusion_scaled";
  if (!kDiffusion && loop !== "plain" && loop !== "pndm_prk_then_plms") {
    return unrunnable(id, `unsupported loop "${loop}"`);
  }
  if (kDiffusion) sample = scale(sample, scheduler.initNoiseSigma);

  let timesteps = scheduler.timesteps;
  const start = c["add_noise_at_t_start"];
  if (typeof start === "number") {
    timesteps = timesteps.slice(start * scheduler.order);
    sample = scheduler.addNoise(sample, deterministicSample(sampleName, true), timesteps[0]!);
  }
  for (const t of timesteps) {
    // diffusers' k-diffusion tests pass the SCALED sample on to step(); so does this loop.
    if (kDiffusion) sample = scheduler.scaleModelInput(sample, t);
    const output = dummyModel(sample, t);
    sample = scheduler.step(output, t, sample, { eta, noise }).prevSample;
  }
  return compareFullLoop(id, asRecord(c["expected"], "expected"), sample, scheduler.timesteps);
}

function compareFullLoop(
  id: string,
  expected: Record<string, unknown>,
  sample: Tensor,
  allTimesteps: readonly number[],
): CaseResult {
  let sum = 0;
  for (const v of sample.data) sum += Math.abs(v);
  const mean = sum / sample.data.length;
  const problems: Mismatch[] = [];
  if (!Number.isFinite(sum))
    problems.push({ what: "abs_sum", got: String(sum), expected: "finite" });
  const check = (what: string, got: number, want: unknown, tol: unknown): void => {
    if (typeof want !== "number" || typeof tol !== "number") return;
    if (!(Math.abs(got - want) <= tol))
      problems.push({ what, got: String(got), expected: `${want} ± ${tol}` });
  };
  check("abs_sum", sum, expected["abs_sum"], expected["tol_sum"]);
  check("abs_mean", mean, expected["abs_mean"], expected["tol_mean"]);
  if (Array.isArray(expected["timesteps"])) {
    const mismatch = compareTimesteps(allTimesteps, expected["timesteps"]);
    if (mismatch !== null) problems.push(mismatch);
  }
  const values = expected["values"];
  if (values !== undefined && values !== null) {
    const v = asRecord(values, "expected.values");
    const indices = asArray(v["indices"], "expected.values.indices");
    const wants = asArray(v["values"], "expected.values.values");
    const tol = Number(v["tol"]);
    indices.forEach((index, k) => {
      const got = sample.data[Number(index)];
      const want = Number(wants[k]);
      if (got === undefined || !(Math.abs(got - want) <= tol)) {
        problems.push({ what: `value[${index}]`, got: String(got), expected: `${want} ± ${tol}` });
      }
    });
  }
  return problems.length === 0 ? pass(id) : failure(id, problems);
}

/** Timesteps agree when each differs by at most 1e-4 relative (exactly, for integer schedules). */
function compareTimesteps(got: readonly number[], want: readonly unknown[]): Mismatch | null {
  const same =
    got.length === want.length &&
    got.every(
      (t, i) => Math.abs(t - Number(want[i])) <= 1e-4 * Math.max(1, Math.abs(Number(want[i]))),
    );
  return same
    ? null
    : { what: "timesteps", got: `[${got.join(", ")}]`, expected: `[${want.join(", ")}]` };
}

/**
 * The noise source a case allows: a numpy RandomState stream when the case names one, else a source
 * that aborts the case as needing torch's RNG (diffusers' tests seed torch generators).
 */
function noiseSourceOf(c: Record<string, unknown>, deps: RunnerDeps): NoiseSource {
  const spec = c["noise"];
  if (spec !== undefined && spec !== null) {
    const n = asRecord(spec, "noise");
    if (n["source"] !== "numpy_randn")
      throw new Error(`unsupported noise source ${JSON.stringify(n["source"])}`);
    return deps.numpyNoise(Number(n["seed"]));
  }
  return {
    randn(): Float32Array {
      throw new TorchRngRequired();
    },
  };
}

/**
 * diffusers' `dummy_sample_deter` (and `dummy_noise_deter` when `flipped`) for any shape [B, ...rest]:
 * arange(n) reshaped to (...rest, B), divided by n in float32 and permuted batch-first.
 */
function deterministicSample(name: string, flipped: boolean): Tensor {
  const dims =
    name === "dummy_sample_deter"
      ? [4, 3, 8, 8]
      : name === "dummy_sample_deter_1d"
        ? [4, 3, 8]
        : null;
  if (dims === null) throw new Error(`unsupported sample "${name}"`);
  const n = dims.reduce((a, b) => a * b, 1);
  const batch = dims[0]!;
  const per = n / batch;
  const data = new Float32Array(n);
  for (let b = 0; b < batch; b++) {
    for (let r = 0; r < per; r++) {
      const k = r * batch + b;
      data[b * per + r] = (flipped ? n - 1 - k : k) / n;
    }
  }
  return tensor(data, dims);
}

/** diffusers' dummy model: `sample * t / (t + 1)` with t cast to float32. */
export function dummyModel(sample: Tensor, timestep: number): Tensor {
  const t = f32(timestep);
  const denominator = f32(t + 1);
  return tensor(
    sample.data.map((v) => f32(v * t) / denominator),
    sample.dims,
  );
}

function scale(sample: Tensor, factor: number): Tensor {
  return tensor(
    sample.data.map((v) => v * factor),
    sample.dims,
  );
}

// ---------------------------------------------------------------------------------------------------------
// exact cases

/** Capabilities some schedulers have beyond the Scheduler interface, which exact cases exercise. */
interface VarianceCapable {
  getVariance(timestep: number, prevTimestep: number): number;
}
interface CustomTimestepsCapable {
  setCustomTimesteps(timesteps: readonly number[]): void;
  previousTimestep(timestep: number): number;
}

/** Runs one `exact` case: expected_timesteps, `_get_variance` values or `previous_timestep` results. */
export function runExactCase(c: Record<string, unknown>, deps: RunnerDeps): CaseResult {
  const id = String(c["id"]);
  const className = exactCaseClass(c);
  const scheduler = deps.createScheduler(caseConfig(c), className);
  const call = String(c["call"] ?? "");
  const fail = (problem: string): CaseResult => unrunnable(id, problem);

  if (Array.isArray(c["expected_timesteps"])) {
    const n = /set_timesteps\((\d+)/.exec(call);
    if (n === null) return fail(`cannot read the step count from call "${call}"`);
    scheduler.setTimesteps(Number(n[1]));
    const mismatch = compareTimesteps(scheduler.timesteps, c["expected_timesteps"]);
    return mismatch === null ? pass(id) : failure(id, [mismatch]);
  }

  if (Array.isArray(c["expected_prev"])) {
    const list = /timesteps\s*=\s*\[([^\]]*)\]/.exec(call);
    if (
      list === null ||
      !hasMethods<CustomTimestepsCapable>(scheduler, ["setCustomTimesteps", "previousTimestep"])
    ) {
      return fail(`cannot run call "${call}" on ${className}`);
    }
    const timesteps = list[1]!.split(",").map((s) => Number(s.trim()));
    scheduler.setCustomTimesteps(timesteps);
    const got = timesteps.map((t) => scheduler.previousTimestep(t));
    const want = c["expected_prev"].map(Number);
    return got.every((g, i) => g === want[i])
      ? pass(id)
      : failure(id, [
          {
            what: "previous_timestep",
            got: `[${got.join(", ")}]`,
            expected: `[${want.join(", ")}]`,
          },
        ]);
  }

  if (call.includes("_get_variance") && c["expected"] !== undefined) {
    if (!hasMethods<VarianceCapable>(scheduler, ["getVariance"]))
      return fail(`${className} has no getVariance`);
    const tol = Number(c["tolerance"]);
    const problems: Mismatch[] = [];
    for (const [key, want] of Object.entries(asRecord(c["expected"], "expected"))) {
      const args = /\((-?\d+)\s*,\s*(-?\d+)\)/.exec(key);
      if (args === null) return fail(`cannot read the arguments "${key}"`);
      const got = scheduler.getVariance(Number(args[1]), Number(args[2]));
      if (!(Math.abs(got - Number(want)) <= tol)) {
        problems.push({
          what: `_get_variance${key}`,
          got: String(got),
          expected: `${want} ± ${tol}`,
        });
      }
    }
    return problems.length === 0 ? pass(id) : failure(id, problems);
  }
  return fail(`the runner cannot interpret this exact case (call "${call}")`);
}

function exactCaseClass(c: Record<string, unknown>): string {
  if (typeof c["scheduler_class"] === "string") return c["scheduler_class"];
  const stem =
    /test_scheduler_(\w+)\.py/.exec(String(c["file"] ?? ""))?.[1] ?? String(c["id"]).split(".")[0]!;
  const className = TEST_FILE_CLASSES[stem];
  if (className === undefined)
    throw new Error(`cannot tell the scheduler class of case ${String(c["id"])}`);
  return className;
}

function hasMethods<T>(value: object, names: readonly string[]): value is T & object {
  return names.every((n) => typeof (value as Record<string, unknown>)[n] === "function");
}

// ---------------------------------------------------------------------------------------------------------
// input helpers

/** A case's config: a JSON object, or the Python dict repr diffusers' tests print. */
function caseConfig(c: Record<string, unknown>): Record<string, unknown> {
  const config = c["config"];
  if (typeof config === "string") return asRecord(parsePythonLiteral(config), "config");
  return asRecord(config ?? {}, "config");
}

function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`${what} must be an array`);
  return value;
}

/**
 * Parses the Python literal subset `repr()` prints for test configs: dicts, lists, tuples (as arrays),
 * strings, ints, floats (`inf`, `-inf`, `nan`), `True`, `False` and `None`.
 *
 * @example
 * parsePythonLiteral("{'solver_order': 2, 'lambda_min_clipped': -inf, 'variance_type': None}")
 * // { solver_order: 2, lambda_min_clipped: -Infinity, variance_type: null }
 */
export function parsePythonLiteral(text: string): unknown {
  let pos = 0;
  const fail = (expected: string): never => {
    throw new SyntaxError(
      `python literal: expected ${expected} at offset ${pos}, near "${text.slice(pos, pos + 20)}"`,
    );
  };
  const skipSpace = (): void => {
    while (pos < text.length && /\s/.test(text[pos]!)) pos++;
  };
  const sequence = <T>(close: string, item: () => T): T[] => {
    const out: T[] = [];
    pos++;
    for (;;) {
      skipSpace();
      if (text[pos] === close) {
        pos++;
        return out;
      }
      out.push(item());
      skipSpace();
      if (text[pos] === ",") pos++;
      else if (text[pos] !== close) fail(`"," or "${close}"`);
    }
  };
  const string = (): string => {
    const quote = text[pos++]!;
    const escapes: Record<string, string> = {
      n: "\n",
      t: "\t",
      r: "\r",
      "\\": "\\",
      "'": "'",
      '"': '"',
    };
    let out = "";
    while (pos < text.length) {
      const ch = text[pos++]!;
      if (ch === quote) return out;
      if (ch === "\\") {
        const next = text[pos++] ?? "";
        out += escapes[next] ?? `\\${next}`;
      } else {
        out += ch;
      }
    }
    return fail(`closing ${quote}`);
  };
  const value = (): unknown => {
    skipSpace();
    const ch = text[pos];
    if (ch === "{") {
      const entries = sequence("}", () => {
        const key = value();
        skipSpace();
        if (text[pos] !== ":") fail('":"');
        pos++;
        return [String(key), value()] as const;
      });
      return Object.fromEntries(entries);
    }
    if (ch === "[") return sequence("]", value);
    if (ch === "(") return sequence(")", value);
    if (ch === "'" || ch === '"') return string();
    const rest = text.slice(pos);
    const word = /^(True|False|None|[-+]?inf|nan)\b/.exec(rest);
    if (word) {
      pos += word[0].length;
      const w = word[0];
      if (w === "True" || w === "False") return w === "True";
      if (w === "None") return null;
      if (w === "nan") return Number.NaN;
      return w.startsWith("-") ? -Infinity : Infinity;
    }
    const num = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(rest);
    if (num === null) return fail("a value");
    pos += num[0].length;
    return Number(num[0]);
  };
  const result = value();
  skipSpace();
  if (pos < text.length) fail("end of input");
  return result;
}

// ---------------------------------------------------------------------------------------------------------
// command line

/** The real dependencies, loaded on demand so the runner's logic can be imported without them. */
export async function defaultRunnerDeps(): Promise<RunnerDeps> {
  const { createScheduler } = await import("../schedulers/registry.ts");
  const { RandomState } = await import("../random/numpy.ts");
  return {
    createScheduler: (config, name) => createScheduler(config, name, { warn: () => {} }),
    numpyNoise: (seed) => new RandomState(seed),
  };
}

async function main(argv: readonly string[]): Promise<number> {
  const input = readJsonArgument(argv, "conformance:schedulers", "<vectors.json>");
  if (input === null) return 2;
  const report = createReport();
  for (const r of runSchedulerVectors(input.doc, await defaultRunnerDeps())) {
    if (r.status === "pass") report.pass(r.id);
    else if (r.status === "fail") report.fail(r.id, r.got, r.expected);
    else report.skip(r.id, r.reason);
  }
  return report.finish();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
