/**
 * The JSON files of a model folder that the pipeline reads numbers from. Only the keys used are
 * declared; unknown keys are ignored (diffusers' configs carry dozens). Every reader names the file
 * in its errors.
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { ModelLoadError } from "../errors/index.ts";

/** The UNet keys the pipeline uses (unet/config.json). */
export const unetConfigSchema = z.object({
  in_channels: z.number().int().positive().optional(),
  out_channels: z.number().int().positive().optional(),
  sample_size: z
    .union([z.number().int().positive(), z.array(z.number().int().positive())])
    .optional(),
});
/** The parsed UNet config keys. */
export type UnetConfig = z.infer<typeof unetConfigSchema>;

/** The VAE keys the pipeline uses (vae_decoder/config.json in Optimum's layout, or vae/config.json). */
export const vaeConfigSchema = z.object({
  block_out_channels: z.array(z.number().int().positive()).min(1).optional(),
  scaling_factor: z.number().positive().optional(),
  latent_channels: z.number().int().positive().optional(),
});
/** The parsed VAE config keys. */
export type VaeConfig = z.infer<typeof vaeConfigSchema>;

/** Reads and parses a JSON file; a ModelLoadError naming the file when it is unreadable or invalid. */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new ModelLoadError(file, `cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError(file, `${file} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

/** Reads a JSON file and checks it against `schema`; the error names the file and the offending key. */
export function readConfig<T>(file: string, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(readJsonFile(file));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue === undefined || issue.path.length === 0 ? "" : ` at "${issue.path.join(".")}"`;
    throw new ModelLoadError(
      file,
      `invalid config ${file}${where}: ${issue?.message ?? "unknown error"}`,
      {
        cause: parsed.error,
      },
    );
  }
  return parsed.data;
}

/** Reads scheduler_config.json as a plain object (the scheduler registry validates it). */
export function readSchedulerConfig(file: string): Record<string, unknown> {
  const value = readJsonFile(file);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ModelLoadError(file, `${file} must hold a JSON object`);
  }
  return value as Record<string, unknown>;
}
