import { describe, expect, it } from "vitest";
import { BASE_SCHEDULER_DEFAULTS, parseSchedulerConfig, resolveSchedulerConfig } from "./config.ts";
import { DDIMScheduler } from "./ddim.ts";
import { SchedulerError } from "./errors.ts";
import { EulerDiscreteScheduler } from "./euler.ts";
import { LCMScheduler } from "./lcm.ts";
import { PNDMScheduler } from "./pndm.ts";
import { SD15_SCHEDULER_CONFIG as SD15 } from "./test-helpers.ts";

describe("parseSchedulerConfig", () => {
  it("accepts a real scheduler_config.json without warnings", () => {
    const warnings: string[] = [];
    const config = parseSchedulerConfig(SD15, (m) => warnings.push(m));
    expect(warnings).toEqual([]);
    expect(config._class_name).toBe("PNDMScheduler");
    expect(config.trained_betas).toBeNull();
  });

  it("warns about unknown keys through the callback and drops them", () => {
    const warnings: string[] = [];
    const config = parseSchedulerConfig({ ...SD15, tensor_format: "pt" }, (m) => warnings.push(m));
    expect(warnings).toEqual(['scheduler config: unknown key "tensor_format" ignored']);
    expect(config).not.toHaveProperty("tensor_format");
  });

  it("names the key, the expectation and the value of a bad setting", () => {
    const bad = (): unknown => parseSchedulerConfig({ beta_schedule: "cosine" }, () => {});
    expect(bad).toThrow(SchedulerError);
    expect(bad).toThrow(/beta_schedule: .*linear.*got "cosine"/);
    try {
      parseSchedulerConfig({ num_train_timesteps: 0 }, () => {});
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SchedulerError);
      expect((error as SchedulerError).param).toBe("num_train_timesteps");
      expect((error as SchedulerError).message).toMatch(/num_train_timesteps: .*, got 0/);
    }
  });

  it("rejects a config that is not an object", () => {
    expect(() => parseSchedulerConfig([1, 2], () => {})).toThrow(
      /must be a JSON object, got an array of 2/,
    );
  });

  it("reads -inf strings and null flags as diffusers' Python values would", () => {
    const config = parseSchedulerConfig(
      { lambda_min_clipped: "-inf", use_karras_sigmas: null, variance_type: null },
      () => {},
    );
    expect(config.lambda_min_clipped).toBe(-Infinity);
    expect(config.use_karras_sigmas).toBe(false);
    expect(config.variance_type).toBeNull();
  });
});

describe("resolveSchedulerConfig", () => {
  it("fills missing keys from the class defaults, then the base defaults", () => {
    const resolved = resolveSchedulerConfig({ beta_end: 0.03 }, { timestep_spacing: "linspace" });
    expect(resolved.beta_end).toBe(0.03);
    expect(resolved.timestep_spacing).toBe("linspace");
    expect(resolved.num_train_timesteps).toBe(BASE_SCHEDULER_DEFAULTS.num_train_timesteps);
    expect(resolved.solver_order).toBe(2);
  });

  it("lets explicit config values win over class defaults", () => {
    const resolved = resolveSchedulerConfig(
      { timestep_spacing: "trailing" },
      { timestep_spacing: "linspace" },
    );
    expect(resolved.timestep_spacing).toBe("trailing");
  });
});

describe("per-class defaults (from diffusers 0.42.1's __init__ signatures)", () => {
  it("gives DDIM leading spacing, clip_sample and set_alpha_to_one", () => {
    const c = new DDIMScheduler().config;
    expect([c.timestep_spacing, c.clip_sample, c.set_alpha_to_one]).toEqual([
      "leading",
      true,
      true,
    ]);
  });

  it("gives PNDM set_alpha_to_one false and the PRK warm-up", () => {
    const c = new PNDMScheduler().config;
    expect([c.set_alpha_to_one, c.skip_prk_steps]).toEqual([false, false]);
  });

  it("gives Euler linspace spacing", () => {
    expect(new EulerDiscreteScheduler().config.timestep_spacing).toBe("linspace");
  });

  it("gives LCM Stable Diffusion's betas, no clipping and 50 original steps", () => {
    const c = new LCMScheduler().config;
    expect([
      c.beta_start,
      c.beta_end,
      c.beta_schedule,
      c.clip_sample,
      c.original_inference_steps,
    ]).toEqual([0.00085, 0.012, "scaled_linear", false, 50]);
  });

  it("keeps keys of another class's config, as diffusers' from_config does", () => {
    const ddim = new DDIMScheduler(parseSchedulerConfig(SD15, () => {}));
    expect(ddim.config.set_alpha_to_one).toBe(false);
    expect(ddim.finalAlphaCumprod).toBe(ddim.alphasCumprod[0]);
  });
});
