/**
 * Finds the parts of a Stable Diffusion model folder by what is present, in either of the two ONNX
 * layouts in use:
 *
 * - diffusers' ONNX export: `model_index.json`, `<component>/model.onnx` (the UNet's weights in
 *   `unet/weights.pb`), `tokenizer/`, `scheduler/`; component configs only when added by hand.
 * - Optimum's export: the same folders, each with a `config.json`, large weights in `model.onnx_data`.
 *
 * Loading is the same for both (inputs and dtypes come from the sessions); the layout is reported.
 *
 * Required: text_encoder, unet, vae_decoder, tokenizer (vocab.json + merges.txt) and
 * scheduler/scheduler_config.json. vae_encoder is optional (only image-to-image and inpainting use it).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ModelLoadError } from "../errors/index.ts";

/** Which exporter wrote the folder. */
export type ModelLayout = "diffusers" | "optimum";

/** One ONNX component: its folder, its model file and its config when the layout has one. */
export interface ComponentFiles {
  readonly dir: string;
  readonly model: string;
  /** `<dir>/config.json` when present (Optimum's layout). */
  readonly config: string | undefined;
}

/** The files of a model folder, all as absolute paths. */
export interface ModelFiles {
  readonly root: string;
  /** The folder's base name, used as the model's name in results and PNG metadata. */
  readonly name: string;
  readonly layout: ModelLayout;
  readonly modelIndex: string | undefined;
  readonly textEncoder: ComponentFiles;
  readonly unet: ComponentFiles;
  readonly vaeDecoder: ComponentFiles;
  readonly vaeEncoder: ComponentFiles | undefined;
  readonly tokenizerDir: string;
  readonly schedulerConfig: string;
  /** A torch-style `vae/config.json`, which some ONNX folders keep beside the ONNX parts. */
  readonly vaeTorchConfig: string | undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function requireFile(path: string, what: string): string {
  if (!isFile(path)) {
    throw new ModelLoadError(path, `missing required file ${path} (${what})`);
  }
  return path;
}

function optionalFile(path: string): string | undefined {
  return isFile(path) ? path : undefined;
}

function component(root: string, folder: string, what: string): ComponentFiles {
  const dir = join(root, folder);
  return {
    dir,
    model: requireFile(join(dir, "model.onnx"), what),
    config: optionalFile(join(dir, "config.json")),
  };
}

/**
 * Tells the two exporters apart by their fingerprints, strongest first: Optimum names external
 * weights `model.onnx_data`, diffusers' exporter `weights.pb`; diffusers' model_index.json names an
 * `Onnx...Pipeline` class, Optimum's the torch pipeline class; Optimum writes the text encoder's
 * CLIP config.json, diffusers' exporter writes none.
 */
function detectLayout(
  root: string,
  parts: readonly (ComponentFiles | undefined)[],
  modelIndex: string | undefined,
): ModelLayout {
  const present = parts.filter((p): p is ComponentFiles => p !== undefined);
  if (present.some((p) => isFile(join(p.dir, "model.onnx_data")))) return "optimum";
  if (present.some((p) => isFile(join(p.dir, "weights.pb")))) return "diffusers";
  if (modelIndex !== undefined) {
    try {
      const index = JSON.parse(readFileSync(modelIndex, "utf8")) as { _class_name?: unknown };
      if (typeof index._class_name === "string") {
        return index._class_name.startsWith("Onnx") ? "diffusers" : "optimum";
      }
    } catch {
      // An unreadable index does not stop loading; the other fingerprints decide.
    }
  }
  return isFile(join(root, "text_encoder", "config.json")) ? "optimum" : "diffusers";
}

/**
 * Locates every part of the model in `dir` and tells the layout apart. Throws a
 * {@link ModelLoadError} naming the first required file that is missing (as an absolute path).
 *
 * @example
 * const files = detectModelFiles("models/tiny-sd"); // files.layout === "optimum"
 */
export function detectModelFiles(dir: string): ModelFiles {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory()) {
    throw new ModelLoadError(root, `model folder not found: ${root}`);
  }
  const textEncoder = component(root, "text_encoder", "the CLIP text encoder");
  const unet = component(root, "unet", "the denoising UNet");
  const vaeDecoder = component(root, "vae_decoder", "the VAE decoder");
  const vaeEncoderModel = join(root, "vae_encoder", "model.onnx");
  const vaeEncoder = isFile(vaeEncoderModel)
    ? {
        dir: join(root, "vae_encoder"),
        model: vaeEncoderModel,
        config: optionalFile(join(root, "vae_encoder", "config.json")),
      }
    : undefined;
  const tokenizerDir = join(root, "tokenizer");
  requireFile(join(tokenizerDir, "vocab.json"), "the CLIP tokenizer's vocabulary");
  requireFile(join(tokenizerDir, "merges.txt"), "the CLIP tokenizer's BPE merges");
  const schedulerConfig = requireFile(
    join(root, "scheduler", "scheduler_config.json"),
    "the scheduler configuration",
  );
  const modelIndex = optionalFile(join(root, "model_index.json"));
  const layout = detectLayout(root, [textEncoder, unet, vaeDecoder, vaeEncoder], modelIndex);
  return {
    root,
    name: basename(root),
    layout,
    modelIndex,
    textEncoder,
    unet,
    vaeDecoder,
    vaeEncoder,
    tokenizerDir,
    schedulerConfig,
    vaeTorchConfig: optionalFile(join(root, "vae", "config.json")),
  };
}
