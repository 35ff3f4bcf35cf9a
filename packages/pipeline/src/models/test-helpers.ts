/** Fixture paths and temp-copy helpers shared by the models/pipelines/cli tests. */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

/** packages/pipeline/fixtures: tiny random SD models made by fixtures/make_fixture.py. */
export const FIXTURES = resolve(import.meta.dirname, "../../fixtures");
/** diffusers' ONNX export layout (unet/weights.pb, float32 timestep, int32 input_ids). */
export const TINY_SD = join(FIXTURES, "tiny-sd");
/** Optimum's layout (model.onnx_data, int64 timestep and input_ids, latent_parameters encoder output). */
export const TINY_SD_OPTIMUM = join(FIXTURES, "tiny-sd-optimum");
/** A 9-channel inpainting UNet in diffusers' layout. */
export const TINY_SD_INPAINT = join(FIXTURES, "tiny-sd-inpaint");

/** Copies a fixture model into a fresh temp folder; `cleanup()` removes it. */
export function copyFixture(model: string): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), "easel-model-"));
  const dir = join(root, "model");
  cpSync(model, dir, { recursive: true });
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}
