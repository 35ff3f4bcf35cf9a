import { ShapesError } from "../errors.ts";

/** Parses an integer CLI flag, naming the flag and the limits in the error. */
export function integerFlag(
  name: string,
  raw: string | undefined,
  fallback: number | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (raw === undefined) {
    if (fallback === undefined) throw new ShapesError(`--${name} is required`);
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new ShapesError(`--${name} must be an integer in [${min}, ${max}], got ${raw}`);
  }
  return value;
}
