import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Optional `easel.json` in a model folder: the defaults a service should use for that model (the
 * Shapes model is trained for 64x64 at 20 steps, an SD 1.5 export wants 25 steps).
 */
export interface ServingDefaults {
  default_steps?: number;
  default_guidance_scale?: number;
  default_scheduler?: string;
}

/** Reads `dir/easel.json`; `{}` when the folder has none. */
export function readServingDefaults(dir: string): ServingDefaults {
  const file = join(dir, "easel.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as ServingDefaults) : {};
}
