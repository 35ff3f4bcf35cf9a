import { parseSchedulerConfig, type SchedulerConfig } from "./config.ts";
import { DDIMScheduler } from "./ddim.ts";
import { DDPMScheduler } from "./ddpm.ts";
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.ts";
import { SchedulerError } from "./errors.ts";
import { EulerDiscreteScheduler } from "./euler.ts";
import { EulerAncestralDiscreteScheduler } from "./euler-ancestral.ts";
import { HeunDiscreteScheduler } from "./heun.ts";
import { LCMScheduler } from "./lcm.ts";
import { LMSDiscreteScheduler } from "./lms.ts";
import { PNDMScheduler } from "./pndm.ts";
import type { Scheduler } from "./types.ts";
import { UniPCMultistepScheduler } from "./unipc.ts";

type SchedulerClass = new (config: SchedulerConfig) => Scheduler;

/** The scheduler classes, by diffusers class name (the `_class_name` of scheduler_config.json). */
const CLASSES: Readonly<Record<string, SchedulerClass>> = {
  DDIMScheduler,
  DDPMScheduler,
  PNDMScheduler,
  LCMScheduler,
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  HeunDiscreteScheduler,
  LMSDiscreteScheduler,
  DPMSolverMultistepScheduler,
  UniPCMultistepScheduler,
};

/**
 * Short names (lowercase) for the UI and the API: a class plus the config keys the name implies.
 * "dpm++2m" is DPM-Solver++ of order 2 (the sampler A1111 calls "DPM++ 2M"); "-karras" adds Karras sigmas.
 */
const ALIASES: Readonly<Record<string, { className: string; overrides: SchedulerConfig }>> = {
  ddim: { className: "DDIMScheduler", overrides: {} },
  ddpm: { className: "DDPMScheduler", overrides: {} },
  pndm: { className: "PNDMScheduler", overrides: {} },
  lcm: { className: "LCMScheduler", overrides: {} },
  euler: { className: "EulerDiscreteScheduler", overrides: {} },
  "euler-a": { className: "EulerAncestralDiscreteScheduler", overrides: {} },
  heun: { className: "HeunDiscreteScheduler", overrides: {} },
  lms: { className: "LMSDiscreteScheduler", overrides: {} },
  "dpm++2m": {
    className: "DPMSolverMultistepScheduler",
    overrides: { algorithm_type: "dpmsolver++", solver_order: 2, use_karras_sigmas: false },
  },
  "dpm++2m-karras": {
    className: "DPMSolverMultistepScheduler",
    overrides: { algorithm_type: "dpmsolver++", solver_order: 2, use_karras_sigmas: true },
  },
  unipc: { className: "UniPCMultistepScheduler", overrides: {} },
};

/** Every name `createScheduler` accepts: the diffusers class names, then the short aliases. */
export const SCHEDULER_NAMES: readonly string[] = Object.freeze([
  ...Object.keys(CLASSES),
  ...Object.keys(ALIASES),
]);

/** The class a name stands for and the config keys it implies; `undefined` for an unknown name. */
export function resolveSchedulerName(
  name: string,
): { className: string; overrides: SchedulerConfig } | undefined {
  if (Object.hasOwn(CLASSES, name)) return { className: name, overrides: {} };
  const lower = name.toLowerCase();
  if (Object.hasOwn(ALIASES, lower)) return ALIASES[lower];
  const className = Object.keys(CLASSES).find((c) => c.toLowerCase() === lower);
  return className === undefined ? undefined : { className, overrides: {} };
}

/**
 * Builds a scheduler from a raw scheduler_config.json object. `name` (a class name or an alias such
 * as "euler" or "dpm++2m-karras") overrides the config's `_class_name`, as diffusers'
 * `OtherScheduler.from_config(pipe.scheduler.config)` does: the config's keys carry over, and the
 * new class fills the keys it lacks with its own defaults. Unknown config keys go to `warn`.
 *
 * @throws SchedulerError when the name is unknown (the message lists the known names) or the config is invalid.
 * @example
 * const scheduler = createScheduler(JSON.parse(configText), "dpm++2m-karras");
 * scheduler.setTimesteps(25);
 */
export function createScheduler(
  config: Record<string, unknown>,
  name?: string,
  options: { warn?: (message: string) => void } = {},
): Scheduler {
  const requested = name ?? config["_class_name"];
  if (typeof requested !== "string" || requested === "") {
    throw new SchedulerError(
      `createScheduler: no scheduler name given and the config has no _class_name; known names: ${SCHEDULER_NAMES.join(", ")}`,
      { param: "name" },
    );
  }
  const resolved = resolveSchedulerName(requested);
  if (resolved === undefined) {
    throw new SchedulerError(
      `createScheduler: unknown scheduler "${requested}"; known names: ${SCHEDULER_NAMES.join(", ")}`,
      { param: "name" },
    );
  }
  const parsed = parseSchedulerConfig(config, options.warn);
  const Class = CLASSES[resolved.className]!;
  return new Class({ ...parsed, ...resolved.overrides });
}
