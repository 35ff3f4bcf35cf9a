/**
 * Loads a model folder into sessions plus the numbers the pipeline needs (latent channels, VAE
 * factors, default size), read from the configs when present and from the ONNX graphs otherwise.
 * Nothing is hard-coded to SD 1.x: 4 channels and a factor of 8 are only what those models say.
 */
import { statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ExecutionProviderError, ModelLoadError, PipelineError } from "../errors/index.ts";
import { createScheduler, SCHEDULER_NAMES } from "../schedulers/registry.ts";
import { ClipTokenizer } from "../tokenizer/clip.ts";
import {
  readConfig,
  readSchedulerConfig,
  type UnetConfig,
  unetConfigSchema,
  type VaeConfig,
  vaeConfigSchema,
} from "./config.ts";
import {
  type ComponentFiles,
  detectModelFiles,
  type ModelFiles,
  type ModelLayout,
} from "./layout.ts";
import {
  convInputChannels,
  type OnnxFileSummary,
  OnnxFormatError,
  readOnnxSummary,
} from "./onnx-file.ts";
import { feedFor, ModelSession, type SessionOptions, type TensorSpec } from "./session.ts";

/** diffusers' default when a VAE config does not say (SD 1.x's value). */
export const DEFAULT_VAE_SCALING_FACTOR = 0.18215;

/** What a loaded model is, as reported by `pipe.info`. */
export interface ModelInfo {
  /** The model folder's base name. */
  readonly name: string;
  readonly layout: ModelLayout;
  /** Channels of the latent space (4 for SD 1.x/2.x). */
  readonly latentChannels: number;
  /** Channels the UNet's `sample` input takes: latentChannels, or 2 * latentChannels + 1 for inpainting UNets. */
  readonly unetInChannels: number;
  /** Pixels per latent cell along each axis: 2^(len(block_out_channels) - 1), 8 for SD. */
  readonly vaeScaleFactor: number;
  /** Multiplier from VAE latents to the UNet's latent space (vae config `scaling_factor`, default 0.18215). */
  readonly vaeScalingFactor: number;
  /** Default width and height in pixels: unet `sample_size` * vaeScaleFactor (512 for SD 1.5). */
  readonly sampleSize: number;
  readonly hasVaeEncoder: boolean;
  /** True when the UNet takes latents + mask + masked-image latents (a 9-channel SD inpainting UNet). */
  readonly isInpaint: boolean;
  /** diffusers class name from scheduler_config.json `_class_name`. */
  readonly defaultScheduler: string;
  /** Names and aliases `scheduler` accepts. */
  readonly schedulers: readonly string[];
  /** Element type of the UNet's timestep input (`float32` in diffusers' export, `int64` in Optimum's). */
  readonly timestepDtype: string;
  readonly executionProvider: string;
}

/** A model session with the input and output names the pipeline feeds and reads. */
export interface BoundSession {
  readonly session: ModelSession;
  readonly input: TensorSpec;
  readonly output: string;
}

/** The UNet session with its three inputs and its output. */
export interface UnetSession {
  readonly session: ModelSession;
  readonly sample: TensorSpec;
  readonly timestep: TensorSpec;
  readonly encoderHiddenStates: TensorSpec;
  readonly output: string;
}

/** Everything the pipeline needs from a model folder. */
export interface LoadedModel {
  readonly files: ModelFiles;
  readonly info: ModelInfo;
  readonly tokenizer: ClipTokenizer;
  /** scheduler_config.json with diffusers' ONNX-pipeline normalisation applied (see {@link normaliseSchedulerConfig}). */
  readonly schedulerConfig: Readonly<Record<string, unknown>>;
  readonly textEncoder: BoundSession;
  readonly unet: UnetSession;
  readonly vaeDecoder: BoundSession;
  readonly vaeEncoder: BoundSession | undefined;
  /** Every session, for timing (`onnxMs`) and release. */
  readonly sessions: readonly ModelSession[];
}

/** Options of {@link loadModel}: the session options. */
export type LoadOptions = SessionOptions;

/**
 * diffusers' ONNX pipelines rewrite the scheduler config on construction: a `steps_offset` other
 * than 1 (including the class default 0 when the file omits it) becomes 1, and a `clip_sample` that
 * is true (DDIM's and DDPM's default when omitted) becomes false. Doing the same on a copy keeps our
 * timesteps equal to theirs; classes without those keys ignore them.
 */
export function normaliseSchedulerConfig(config: Record<string, unknown>): Record<string, unknown> {
  return { ...config, steps_offset: 1, clip_sample: false };
}

/** Checks the ONNX file parses and that its external data files exist and are long enough. */
function inspectModelFile(file: string): OnnxFileSummary {
  let summary: OnnxFileSummary;
  try {
    summary = readOnnxSummary(file);
  } catch (cause) {
    if (cause instanceof OnnxFormatError) {
      throw new ModelLoadError(file, `corrupt ONNX model ${file}: ${cause.message}`, { cause });
    }
    throw new ModelLoadError(file, `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  const needed = new Map<string, number>();
  for (const ref of summary.externalData) {
    const end = ref.length === undefined ? ref.offset : ref.offset + ref.length;
    needed.set(ref.location, Math.max(needed.get(ref.location) ?? 0, end));
  }
  for (const [location, end] of needed) {
    const path = join(dirname(file), location);
    let size: number;
    try {
      size = statSync(path).size;
    } catch (cause) {
      throw new ModelLoadError(path, `missing external data file ${path} (weights of ${file})`, {
        cause,
      });
    }
    if (size < end) {
      throw new ModelLoadError(
        path,
        `external data file ${path} is truncated: ${file} needs ${end} bytes, the file has ${size}`,
      );
    }
  }
  return summary;
}

function pickInput(session: ModelSession, preferred: string): TensorSpec {
  const spec = session.input(preferred) ?? session.inputs[0];
  if (spec === undefined)
    throw new ModelLoadError(session.file, `model ${session.file} has no inputs`);
  return spec;
}

function pickOutput(session: ModelSession, preferred: string): string {
  const name = session.outputs.find((o) => o.name === preferred)?.name ?? session.outputs[0]?.name;
  if (name === undefined)
    throw new ModelLoadError(session.file, `model ${session.file} has no outputs`);
  return name;
}

function fixedDim(spec: TensorSpec, axis: number): number | undefined {
  const d = spec.dims[axis];
  return typeof d === "number" && d > 0 ? d : undefined;
}

function readVaeConfig(files: ModelFiles): VaeConfig | undefined {
  const file = files.vaeDecoder.config ?? files.vaeTorchConfig ?? files.vaeEncoder?.config;
  return file === undefined ? undefined : readConfig(file, vaeConfigSchema);
}

/** Runs the decoder on a small zero latent and compares sizes: the factor when no config states it. */
async function probeVaeScaleFactor(vae: BoundSession, latentChannels: number): Promise<number> {
  const side = 8;
  const latents = new Float32Array(latentChannels * side * side);
  const out = await vae.session.run(
    { [vae.input.name]: feedFor(vae.input, latents, [1, latentChannels, side, side]) },
    "VAE decoder probe (to find the VAE scale factor)",
    [vae.output],
  );
  const height = out[vae.output]!.dims[2];
  if (height === undefined || height % side !== 0 || height < side) {
    throw new ModelLoadError(
      vae.session.file,
      `cannot derive the VAE scale factor from ${vae.session.file}: an ${side}x${side} latent decoded to height ${height}`,
    );
  }
  return height / side;
}

function latentChannelsOf(
  vaeConfig: VaeConfig | undefined,
  vaeDecoder: BoundSession,
  vaeSummary: OnnxFileSummary,
): number | undefined {
  return (
    vaeConfig?.latent_channels ??
    fixedDim(vaeDecoder.input, 1) ??
    convInputChannels(vaeSummary, vaeDecoder.input.name)
  );
}

function unetInChannelsOf(
  unetConfig: UnetConfig | undefined,
  sample: TensorSpec,
  unetSummary: OnnxFileSummary,
): number | undefined {
  return (
    unetConfig?.in_channels ?? fixedDim(sample, 1) ?? convInputChannels(unetSummary, sample.name)
  );
}

async function openComponent(
  part: ComponentFiles,
  options: SessionOptions,
  opened: ModelSession[],
): Promise<ModelSession> {
  const session = await ModelSession.open(part.model, options);
  opened.push(session);
  return session;
}

/**
 * Loads the model in `dir` (either layout) and opens its onnxruntime sessions.
 * Throws {@link ModelLoadError} naming the file at fault, or {@link ExecutionProviderError}.
 *
 * @example
 * const model = await loadModel("fixtures/tiny-sd", { executionProvider: "cpu", intraOpThreads: 2 });
 */
export async function loadModel(dir: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const files = detectModelFiles(dir);
  const summaries = {
    textEncoder: inspectModelFile(files.textEncoder.model),
    unet: inspectModelFile(files.unet.model),
    vaeDecoder: inspectModelFile(files.vaeDecoder.model),
  };
  if (files.vaeEncoder !== undefined) inspectModelFile(files.vaeEncoder.model);
  const unetConfig =
    files.unet.config === undefined ? undefined : readConfig(files.unet.config, unetConfigSchema);
  const vaeConfig = readVaeConfig(files);

  const rawSchedulerConfig = readSchedulerConfig(files.schedulerConfig);
  const schedulerConfig = normaliseSchedulerConfig(rawSchedulerConfig);
  let defaultScheduler: string;
  try {
    defaultScheduler = createScheduler(schedulerConfig).name;
  } catch (cause) {
    throw new ModelLoadError(
      files.schedulerConfig,
      `cannot build the scheduler from ${files.schedulerConfig}: ${(cause as Error).message}`,
      { cause },
    );
  }

  let tokenizer: ClipTokenizer;
  try {
    tokenizer = await ClipTokenizer.fromDirectory(files.tokenizerDir);
  } catch (cause) {
    throw new ModelLoadError(
      files.tokenizerDir,
      `cannot load the tokenizer in ${files.tokenizerDir}: ${(cause as Error).message}`,
      { cause },
    );
  }

  const opened: ModelSession[] = [];
  try {
    const textEncoderSession = await openComponent(files.textEncoder, options, opened);
    const unetSession = await openComponent(files.unet, options, opened);
    const vaeDecoderSession = await openComponent(files.vaeDecoder, options, opened);
    const vaeEncoderSession =
      files.vaeEncoder === undefined
        ? undefined
        : await openComponent(files.vaeEncoder, options, opened);

    const textEncoder: BoundSession = {
      session: textEncoderSession,
      input: pickInput(textEncoderSession, "input_ids"),
      output: pickOutput(textEncoderSession, "last_hidden_state"),
    };
    const unet: UnetSession = {
      session: unetSession,
      sample: unetSession.requireInput("sample"),
      timestep: unetSession.requireInput("timestep"),
      encoderHiddenStates: unetSession.requireInput("encoder_hidden_states"),
      output: pickOutput(unetSession, "out_sample"),
    };
    const vaeDecoder: BoundSession = {
      session: vaeDecoderSession,
      input: pickInput(vaeDecoderSession, "latent_sample"),
      output: pickOutput(vaeDecoderSession, "sample"),
    };
    const vaeEncoder: BoundSession | undefined =
      vaeEncoderSession === undefined
        ? undefined
        : {
            session: vaeEncoderSession,
            input: pickInput(vaeEncoderSession, "sample"),
            output: pickOutput(vaeEncoderSession, "latent_sample"),
          };

    const unetInChannels = unetInChannelsOf(unetConfig, unet.sample, summaries.unet);
    if (unetInChannels === undefined) {
      throw new ModelLoadError(
        files.unet.model,
        `cannot tell how many channels ${files.unet.model} takes: its "sample" input has a symbolic channel ` +
          `dimension and no unet/config.json gives in_channels`,
      );
    }
    const vaeLatentChannels = latentChannelsOf(vaeConfig, vaeDecoder, summaries.vaeDecoder);
    // A 9-channel inpainting UNet takes latents, a 1-channel mask and the masked image's latents.
    const latentChannels =
      vaeLatentChannels ??
      (unetInChannels > 1 && unetInChannels % 2 === 1 ? (unetInChannels - 1) / 2 : unetInChannels);
    const isInpaint = unetInChannels === 2 * latentChannels + 1;
    if (unetInChannels !== latentChannels && !isInpaint) {
      throw new ModelLoadError(
        files.unet.model,
        `${files.unet.model} takes ${unetInChannels} channels but the VAE's latents have ${latentChannels}; ` +
          `expected ${latentChannels} (text-to-image) or ${2 * latentChannels + 1} (inpainting)`,
      );
    }
    const blocks = vaeConfig?.block_out_channels;
    const vaeScaleFactor =
      blocks === undefined
        ? await probeVaeScaleFactor(vaeDecoder, latentChannels)
        : 2 ** (blocks.length - 1);
    const configuredSample = unetConfig?.sample_size;
    const sampleCells = Array.isArray(configuredSample)
      ? configuredSample[0]
      : (configuredSample ?? fixedDim(unet.sample, 2) ?? 64);

    const info: ModelInfo = {
      name: files.name,
      layout: files.layout,
      latentChannels,
      unetInChannels,
      vaeScaleFactor,
      vaeScalingFactor: vaeConfig?.scaling_factor ?? DEFAULT_VAE_SCALING_FACTOR,
      sampleSize: (sampleCells ?? 64) * vaeScaleFactor,
      hasVaeEncoder: vaeEncoder !== undefined,
      isInpaint,
      defaultScheduler,
      schedulers: SCHEDULER_NAMES,
      timestepDtype: unet.timestep.dtype,
      executionProvider: options.executionProvider ?? "cpu",
    };
    return {
      files,
      info,
      tokenizer,
      schedulerConfig,
      textEncoder,
      unet,
      vaeDecoder,
      vaeEncoder,
      sessions: opened,
    };
  } catch (error) {
    await Promise.all(opened.map((s) => s.release().catch(() => undefined)));
    if (
      error instanceof ModelLoadError ||
      error instanceof ExecutionProviderError ||
      !(error instanceof PipelineError)
    ) {
      throw error;
    }
    throw new ModelLoadError(files.root, `cannot load model ${files.root}: ${error.message}`, {
      cause: error,
    });
  }
}
