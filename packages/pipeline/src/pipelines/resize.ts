import { resizeRgb } from "../image/resize.ts";
import type { RgbImage } from "../image/types.ts";

/**
 * `img` at `width` x `height`: unchanged when it already is (the usual case, and the one diffusers'
 * goldens use), resampled with the image module's filter otherwise.
 */
export function resizeImage(img: RgbImage, width: number, height: number): RgbImage {
  return img.width === width && img.height === height ? img : resizeRgb(img, width, height);
}
