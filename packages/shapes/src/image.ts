/**
 * An 8-bit RGB image, 3 bytes per pixel, row-major. Structurally the same as `RgbImage` of
 * `@easel/pipeline`'s image module, so images pass between the packages without conversion.
 */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}
