import { z } from "zod";
import { SchedulerError } from "./errors.ts";

/*
 * scheduler_config.json as diffusers writes it. Every key is optional here because diffusers' defaults
 * differ per class (Euler's timestep_spacing is "linspace", DDIM's "leading"; DDIM's clip_sample is true,
 * LCM's false; ...): a class fills the gaps with `resolveSchedulerConfig(config, ITS_DEFAULTS)`.
 * Keys of other schedulers are kept, as diffusers' `from_config` keeps them: a PNDM config loaded
 * into DDIM still says `set_alpha_to_one: false`.
 */

/** `null` in a boolean flag means "off", as a Python `None` would read in diffusers' `if flag:`. */
const flag = z
  .boolean()
  .nullable()
  .transform((v) => v ?? false);

/** JSON cannot hold infinities; diffusers' `-float("inf")` arrives as a string when written by hand. */
const extendedNumber = z.union([
  z.number(),
  z
    .enum(["-inf", "inf", "-Infinity", "Infinity"])
    .transform((v) => (v.startsWith("-") ? -1 : 1) * Infinity),
]);

const positive = z.number().positive();

/** The zod schema of a parsed `scheduler_config.json` (all keys optional, unknown keys stripped). */
export const schedulerConfigSchema = z.object({
  _class_name: z.string().optional(),
  _diffusers_version: z.string().optional(),
  num_train_timesteps: z.number().int().min(1).optional(),
  beta_start: z.number().nonnegative().optional(),
  beta_end: z.number().nonnegative().optional(),
  beta_schedule: z
    .enum(["linear", "scaled_linear", "squaredcos_cap_v2", "sigmoid", "exp", "laplace"])
    .optional(),
  trained_betas: z.array(z.number()).nullable().optional(),
  prediction_type: z.enum(["epsilon", "v_prediction", "sample", "flow_prediction"]).optional(),
  timestep_spacing: z.enum(["leading", "trailing", "linspace"]).optional(),
  steps_offset: z.number().int().min(0).optional(),
  set_alpha_to_one: flag.optional(),
  clip_sample: flag.optional(),
  clip_sample_range: positive.optional(),
  skip_prk_steps: flag.optional(),
  thresholding: flag.optional(),
  dynamic_thresholding_ratio: z.number().gt(0).max(1).optional(),
  sample_max_value: positive.optional(),
  use_karras_sigmas: flag.optional(),
  use_exponential_sigmas: flag.optional(),
  use_beta_sigmas: flag.optional(),
  use_lu_lambdas: flag.optional(),
  use_flow_sigmas: flag.optional(),
  flow_shift: positive.optional(),
  use_dynamic_shifting: flag.optional(),
  time_shift_type: z.enum(["exponential", "linear"]).optional(),
  shift_terminal: z.number().nullable().optional(),
  solver_order: z.number().int().min(1).max(3).optional(),
  algorithm_type: z
    .enum(["dpmsolver", "dpmsolver++", "sde-dpmsolver", "sde-dpmsolver++", "deis"])
    .optional(),
  solver_type: z.enum(["midpoint", "heun", "logrho", "bh1", "bh2"]).optional(),
  lower_order_final: flag.optional(),
  euler_at_final: flag.optional(),
  final_sigmas_type: z.enum(["zero", "sigma_min"]).optional(),
  lambda_min_clipped: extendedNumber.optional(),
  variance_type: z
    .enum([
      "fixed_small",
      "fixed_small_log",
      "fixed_large",
      "fixed_large_log",
      "learned",
      "learned_range",
    ])
    .nullable()
    .optional(),
  timestep_type: z.enum(["discrete", "continuous"]).optional(),
  interpolation_type: z.enum(["linear", "log_linear"]).optional(),
  rescale_betas_zero_snr: flag.optional(),
  original_inference_steps: z.number().int().min(1).optional(),
  timestep_scaling: z.number().optional(),
  predict_x0: flag.optional(),
  disable_corrector: z.array(z.number().int()).optional(),
  sigma_min: z.number().nullable().optional(),
  sigma_max: z.number().nullable().optional(),
  /** UniPC's `solver_p` holds a scheduler object in Python; a JSON file can only say null. */
  solver_p: z.null().optional(),
});

/** A parsed scheduler_config.json: only the keys the file had, validated. */
export type SchedulerConfig = z.output<typeof schedulerConfigSchema>;

type ConfigKey = Exclude<keyof SchedulerConfig, "_class_name" | "_diffusers_version" | "solver_p">;

/** Every setting with a value: what a scheduler class works from after `resolveSchedulerConfig`. */
export type ResolvedSchedulerConfig = {
  [K in ConfigKey]-?: Exclude<SchedulerConfig[K], undefined>;
};

/**
 * diffusers' most common `__init__` defaults (those of DDIMScheduler/DPMSolverMultistepScheduler).
 * Each class overrides the ones it declares differently, e.g. `{ timestep_spacing: "linspace" }` for Euler.
 */
export const BASE_SCHEDULER_DEFAULTS: Readonly<ResolvedSchedulerConfig> = Object.freeze({
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: "linear",
  trained_betas: null,
  prediction_type: "epsilon",
  timestep_spacing: "leading",
  steps_offset: 0,
  set_alpha_to_one: true,
  clip_sample: true,
  clip_sample_range: 1.0,
  skip_prk_steps: false,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  use_dynamic_shifting: false,
  time_shift_type: "exponential",
  shift_terminal: null,
  solver_order: 2,
  algorithm_type: "dpmsolver++",
  solver_type: "midpoint",
  lower_order_final: true,
  euler_at_final: false,
  final_sigmas_type: "zero",
  lambda_min_clipped: -Infinity,
  variance_type: null,
  timestep_type: "discrete",
  interpolation_type: "linear",
  rescale_betas_zero_snr: false,
  original_inference_steps: 50,
  timestep_scaling: 10.0,
  predict_x0: true,
  disable_corrector: [],
  sigma_min: null,
  sigma_max: null,
});

const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(schedulerConfigSchema.shape));

/**
 * Validates a raw scheduler_config.json object. Unknown keys are reported through `warn` (default:
 * `console.warn`) and dropped, never an error, because diffusers adds keys over versions. Bad values of
 * known keys throw a `SchedulerError` naming the key, the expectation and the value.
 *
 * @example
 * const config = parseSchedulerConfig(JSON.parse(await readFile("scheduler/scheduler_config.json", "utf8")));
 * const scheduler = new DDIMScheduler(config);
 */
export function parseSchedulerConfig(
  raw: unknown,
  warn: (message: string) => void = (m) => console.warn(m),
): SchedulerConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new SchedulerError(`scheduler config must be a JSON object, got ${describe(raw)}`);
  }
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KNOWN_KEYS.has(key)) warn(`scheduler config: unknown key "${key}" ignored`);
  }
  const result = schedulerConfigSchema.safeParse(record);
  if (!result.success) {
    const messages = result.error.issues.map((issue) => {
      const key = issue.path.map(String).join(".");
      const top = issue.path[0];
      const value = typeof top === "string" ? record[top] : undefined;
      return `${key}: ${issue.message}, got ${describe(value)}`;
    });
    const param = result.error.issues[0]?.path[0];
    throw new SchedulerError(
      `scheduler config invalid: ${messages.join("; ")}`,
      typeof param === "string" ? { cause: result.error, param } : { cause: result.error },
    );
  }
  return result.data;
}

/**
 * Fills every key the config lacks from the class defaults, then from `BASE_SCHEDULER_DEFAULTS`.
 * Explicit values in the config always win, as in diffusers' `from_config`.
 */
export function resolveSchedulerConfig(
  config: SchedulerConfig,
  classDefaults: Partial<ResolvedSchedulerConfig> = {},
): ResolvedSchedulerConfig {
  const resolved: Record<string, unknown> = { ...BASE_SCHEDULER_DEFAULTS, ...classDefaults };
  for (const [key, value] of Object.entries(config)) {
    if (
      value !== undefined &&
      key !== "_class_name" &&
      key !== "_diffusers_version" &&
      key !== "solver_p"
    ) {
      resolved[key] = value;
    }
  }
  return resolved as ResolvedSchedulerConfig;
}

function describe(value: unknown): string {
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
