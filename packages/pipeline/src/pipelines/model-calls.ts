/**
 * The pipeline's calls into the models other than the UNet: tokenizing, the text encoder, the VAE
 * encoder and decoder. Each takes a {@link RunClock} so the time inside onnxruntime is counted
 * per generation.
 */
import { InvalidParameterError, PipelineError } from "../errors/index.ts";
import type { LoadedModel } from "../models/load.ts";
import { feedFor } from "../models/session.ts";
import type { Tensor } from "../tensor/index.ts";
import type { ResolvedRequest } from "./validate.ts";

/** Accumulates the time one generation spends inside onnxruntime's `run`. */
export interface RunClock {
  onnxMs: number;
}

/**
 * Tokenizes `text` to the text encoder's padded ids (bos, tokens, eos, padding to
 * model_max_length), rejecting text over the content-token limit (75 for CLIP's 77) with an
 * {@link InvalidParameterError} that gives the count. diffusers truncates with a warning instead;
 * rejecting keeps a user from silently losing the end of a prompt.
 */
export function tokenizePrompt(
  model: LoadedModel,
  text: string,
  r: ResolvedRequest,
  param: "prompt" | "negativePrompt",
): number[] {
  const tokenizer = model.tokenizer;
  const maxTokens = tokenizer.modelMaxLength - 2;
  const count = tokenizer.countTokens(text);
  if (count > maxTokens) {
    throw new InvalidParameterError(
      `${r.paramPrefix}${param}`,
      `at most ${maxTokens} CLIP tokens (the text encoder's context is ${tokenizer.modelMaxLength} with bos/eos)`,
      `${count} tokens`,
    );
  }
  return tokenizer.encode(text, { maxLength: tokenizer.modelMaxLength, padding: true });
}

/**
 * Runs the text encoder on rows of padded ids and returns [rows, seq, hidden]. One call for all
 * rows, or chunks of the model's batch size when its input_ids have a fixed batch dimension.
 */
export async function encodeText(
  model: LoadedModel,
  ids: readonly number[][],
  clock: RunClock,
): Promise<Tensor> {
  const te = model.textEncoder;
  const seqLen = ids[0]?.length ?? 0;
  const fixedBatch =
    typeof te.input.dims[0] === "number" && te.input.dims[0] > 0 ? te.input.dims[0] : 0;
  const chunk = fixedBatch > 0 ? fixedBatch : ids.length;
  const parts: Tensor[] = [];
  for (let first = 0; first < ids.length; first += chunk) {
    const rows = ids.slice(first, first + chunk);
    while (rows.length < chunk) rows.push(rows[rows.length - 1]!);
    const out = await te.session.run(
      { [te.input.name]: feedFor(te.input, rows.flat(), [rows.length, seqLen]) },
      "text encoder run",
      [te.output],
      clock,
    );
    parts.push(out[te.output]!);
  }
  if (parts.length === 1) return parts[0]!;
  const [, s = 0, d = 0] = parts[0]!.dims;
  const data = new Float32Array(ids.length * s * d);
  let row = 0;
  for (const part of parts) {
    const take = Math.min(chunk, ids.length - row);
    data.set(part.data.subarray(0, take * s * d), row * s * d);
    row += take;
  }
  return { data, dims: [ids.length, s, d] };
}

/**
 * VAE-encodes one [1, 3, H, W] image in [-1, 1] and returns its [1, C, H/f, W/f] latents times
 * the scaling factor (diffusers' `0.18215 * vae_encoder(sample=image)[0]`). An encoder that
 * returns the Gaussian's parameters (Optimum's `latent_parameters`: mean then log-variance, 2C
 * channels) contributes its mean.
 */
export async function encodeImage(
  model: LoadedModel,
  pixels: Float32Array,
  width: number,
  height: number,
  clock: RunClock,
): Promise<Float32Array> {
  const enc = model.vaeEncoder;
  if (enc === undefined) throw new PipelineError(`model ${model.info.name} has no VAE encoder`);
  const out = await enc.session.run(
    { [enc.input.name]: feedFor(enc.input, pixels, [1, 3, height, width]) },
    "VAE encoder run",
    [enc.output],
    clock,
  );
  const latents = out[enc.output]!;
  const C = model.info.latentChannels;
  const channels = latents.dims[1];
  if (channels !== C && channels !== 2 * C) {
    throw new PipelineError(
      `VAE encoder returned ${channels} channels; expected ${C} latents or ${2 * C} distribution parameters`,
    );
  }
  const cells = (latents.dims[2] ?? 0) * (latents.dims[3] ?? 0);
  const scaling = Math.fround(model.info.vaeScalingFactor);
  const result = new Float32Array(C * cells);
  for (let i = 0; i < result.length; i++) result[i] = scaling * latents.data[i]!;
  return result;
}

/** Runs the VAE decoder on latents already divided by the scaling factor; returns [N, 3, H, W] in about [-1, 1]. */
export async function decodeLatents(
  model: LoadedModel,
  latents: Float32Array,
  dims: readonly number[],
  clock: RunClock,
): Promise<Tensor> {
  const vae = model.vaeDecoder;
  const out = await vae.session.run(
    { [vae.input.name]: feedFor(vae.input, latents, dims) },
    "VAE decoder run",
    [vae.output],
    clock,
  );
  return out[vae.output]!;
}
