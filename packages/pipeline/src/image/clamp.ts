/** Clamps to the byte range [0, 255] (no rounding). */
export function clampByte(v: number): number {
  return Math.min(255, Math.max(0, v));
}
