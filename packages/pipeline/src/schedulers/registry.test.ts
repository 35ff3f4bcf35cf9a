import { describe, expect, it } from "vitest";
import { DPMSolverMultistepScheduler } from "./dpm-solver-multistep.ts";
import { SchedulerError } from "./errors.ts";
import { EulerDiscreteScheduler } from "./euler.ts";
import { createScheduler, resolveSchedulerName, SCHEDULER_NAMES } from "./registry.ts";
import { SD15_SCHEDULER_CONFIG as SD15 } from "./test-helpers.ts";

describe("scheduler registry", () => {
  it("knows every diffusers class and the aliases of the module contract", () => {
    const expected = [
      "DDIMScheduler",
      "DDPMScheduler",
      "PNDMScheduler",
      "LCMScheduler",
      "EulerDiscreteScheduler",
      "EulerAncestralDiscreteScheduler",
      "HeunDiscreteScheduler",
      "LMSDiscreteScheduler",
      "DPMSolverMultistepScheduler",
      "UniPCMultistepScheduler",
      ...[
        "ddim",
        "pndm",
        "euler",
        "euler-a",
        "heun",
        "lms",
        "dpm++2m",
        "dpm++2m-karras",
        "unipc",
        "lcm",
        "ddpm",
      ],
    ];
    expect([...SCHEDULER_NAMES].sort()).toEqual([...expected].sort());
  });

  it("builds the class named by _class_name", () => {
    const scheduler = createScheduler(SD15);
    expect(scheduler.name).toBe("PNDMScheduler");
  });

  it("lets a name override _class_name and keeps the config's keys", () => {
    const scheduler = createScheduler(SD15, "euler");
    expect(scheduler).toBeInstanceOf(EulerDiscreteScheduler);
    expect((scheduler as EulerDiscreteScheduler).config.steps_offset).toBe(1);
    expect((scheduler as EulerDiscreteScheduler).config.beta_schedule).toBe("scaled_linear");
  });

  it("maps every alias to a class whose name it reports", () => {
    for (const alias of [
      "ddim",
      "pndm",
      "euler",
      "euler-a",
      "heun",
      "lms",
      "lcm",
      "ddpm",
      "unipc",
    ]) {
      const scheduler = createScheduler(SD15, alias);
      expect(scheduler.name).toBe(resolveSchedulerName(alias)?.className);
    }
  });

  it("turns Karras sigmas on for dpm++2m-karras and off for dpm++2m", () => {
    const karras = createScheduler({ ...SD15, use_karras_sigmas: false }, "dpm++2m-karras");
    const plain = createScheduler({ ...SD15, use_karras_sigmas: true }, "dpm++2m");
    expect(karras).toBeInstanceOf(DPMSolverMultistepScheduler);
    expect((karras as DPMSolverMultistepScheduler).config.use_karras_sigmas).toBe(true);
    expect((plain as DPMSolverMultistepScheduler).config.use_karras_sigmas).toBe(false);
    expect((plain as DPMSolverMultistepScheduler).config.algorithm_type).toBe("dpmsolver++");
  });

  it("accepts class names in any case", () => {
    expect(createScheduler(SD15, "eulerdiscretescheduler").name).toBe("EulerDiscreteScheduler");
  });

  it("rejects an unknown name with a message listing the known ones", () => {
    const make = (): unknown => createScheduler(SD15, "k_dpm_9");
    expect(make).toThrow(SchedulerError);
    expect(make).toThrow(
      /unknown scheduler "k_dpm_9"; known names: DDIMScheduler, .*euler-a.*dpm\+\+2m-karras/,
    );
  });

  it("rejects a config without _class_name when no name is given", () => {
    expect(() => createScheduler({ beta_start: 0.001 })).toThrow(/no scheduler name given/);
  });

  it("passes unknown config keys to the warn callback", () => {
    const warnings: string[] = [];
    createScheduler({ ...SD15, tensor_format: "pt" }, undefined, { warn: (m) => warnings.push(m) });
    expect(warnings).toEqual(['scheduler config: unknown key "tensor_format" ignored']);
  });
});
