import { readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ModelLoadError } from "../errors/index.ts";
import { type LoadedModel, loadModel, normaliseSchedulerConfig } from "./load.ts";
import { copyFixture, TINY_SD, TINY_SD_INPAINT, TINY_SD_OPTIMUM } from "./test-helpers.ts";

async function withModel<T>(dir: string, fn: (model: LoadedModel) => T | Promise<T>): Promise<T> {
  const model = await loadModel(dir, { intraOpThreads: 1 });
  try {
    return await fn(model);
  } finally {
    await Promise.all(model.sessions.map((s) => s.release()));
  }
}

async function loadError(dir: string): Promise<ModelLoadError> {
  const error = await loadModel(dir).then(
    async (m) => {
      await Promise.all(m.sessions.map((s) => s.release()));
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ModelLoadError);
  return error as ModelLoadError;
}

describe("loadModel", () => {
  it("reads channels, VAE factors and sample size from the configs of the diffusers fixture", async () => {
    await withModel(TINY_SD, ({ info }) => {
      // unet/config.json: in_channels 4, sample_size 8; vae: 4 blocks (factor 2^3), scaling_factor 0.18215.
      expect(info).toMatchObject({
        name: "tiny-sd",
        layout: "diffusers",
        latentChannels: 4,
        unetInChannels: 4,
        vaeScaleFactor: 8,
        vaeScalingFactor: 0.18215,
        sampleSize: 64,
        hasVaeEncoder: true,
        isInpaint: false,
        defaultScheduler: "PNDMScheduler",
        timestepDtype: "float32",
      });
      expect(info.schedulers).toContain("euler-a");
    });
  });

  it("reads the Optimum fixture with its int64 timestep", async () => {
    await withModel(TINY_SD_OPTIMUM, ({ info, textEncoder }) => {
      expect(info.layout).toBe("optimum");
      expect(info.timestepDtype).toBe("int64");
      expect(textEncoder.input.dtype).toBe("int64");
      expect(info.latentChannels).toBe(4);
    });
  });

  it("recognises a 9-channel inpainting UNet as 4 latent channels + mask + masked latents", async () => {
    await withModel(TINY_SD_INPAINT, ({ info }) => {
      expect(info.unetInChannels).toBe(9);
      expect(info.latentChannels).toBe(4);
      expect(info.isInpaint).toBe(true);
    });
  });

  it("derives channels from the graphs and the VAE factor by a probe decode when no configs exist", async () => {
    const copy = copyFixture(TINY_SD);
    try {
      for (const part of ["unet", "vae_decoder", "vae_encoder"])
        rmSync(join(copy.dir, part, "config.json"), { force: true });
      await withModel(copy.dir, ({ info }) => {
        expect(info.latentChannels).toBe(4);
        expect(info.unetInChannels).toBe(4);
        expect(info.vaeScaleFactor).toBe(8);
        expect(info.vaeScalingFactor).toBe(0.18215);
        // No unet sample_size: 64 latent cells, diffusers' 512 for SD 1.x.
        expect(info.sampleSize).toBe(512);
      });
    } finally {
      copy.cleanup();
    }
  });

  it("names the missing weights.pb with its full path", async () => {
    const copy = copyFixture(TINY_SD);
    try {
      const weights = join(copy.dir, "unet", "weights.pb");
      rmSync(weights);
      const error = await loadError(copy.dir);
      expect(error.file).toBe(weights);
      expect(error.message).toContain(`missing external data file ${weights}`);
    } finally {
      copy.cleanup();
    }
  });

  it("names a truncated model.onnx_data", async () => {
    const copy = copyFixture(TINY_SD_OPTIMUM);
    try {
      const data = join(copy.dir, "unet", "model.onnx_data");
      truncateSync(data, 1000);
      const error = await loadError(copy.dir);
      expect(error.file).toBe(data);
      expect(error.message).toMatch(/is truncated/);
    } finally {
      copy.cleanup();
    }
  });

  it("turns a truncated model.onnx into a ModelLoadError naming it", async () => {
    const copy = copyFixture(TINY_SD);
    try {
      const file = join(copy.dir, "vae_decoder", "model.onnx");
      const bytes = readFileSync(file);
      writeFileSync(file, bytes.subarray(0, bytes.length - 100));
      const error = await loadError(copy.dir);
      expect(error.file).toBe(file);
      expect(error.message).toContain(`corrupt ONNX model ${file}`);
    } finally {
      copy.cleanup();
    }
  });

  it("turns garbage in model.onnx into a ModelLoadError naming it", async () => {
    const copy = copyFixture(TINY_SD);
    try {
      const file = join(copy.dir, "text_encoder", "model.onnx");
      writeFileSync(file, Buffer.alloc(4096, 0xff));
      const error = await loadError(copy.dir);
      expect(error.file).toBe(file);
    } finally {
      copy.cleanup();
    }
  });

  it("names a scheduler config it cannot use", async () => {
    const copy = copyFixture(TINY_SD);
    try {
      const file = join(copy.dir, "scheduler", "scheduler_config.json");
      writeFileSync(file, JSON.stringify({ _class_name: "NoSuchScheduler" }));
      const error = await loadError(copy.dir);
      expect(error.file).toBe(file);
      writeFileSync(file, "{ not json");
      expect((await loadError(copy.dir)).message).toContain(`${file} is not valid JSON`);
    } finally {
      copy.cleanup();
    }
  });
});

describe("normaliseSchedulerConfig", () => {
  it("forces steps_offset 1 and clip_sample false like diffusers' ONNX pipelines, on a copy", () => {
    const config = { _class_name: "DDIMScheduler", steps_offset: 0 };
    expect(normaliseSchedulerConfig(config)).toEqual({
      _class_name: "DDIMScheduler",
      steps_offset: 1,
      clip_sample: false,
    });
    expect(config.steps_offset).toBe(0);
  });
});
