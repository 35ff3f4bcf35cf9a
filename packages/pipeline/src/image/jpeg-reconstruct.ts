import { clampByte } from "./clamp.ts";
import type { Component, Frame } from "./jpeg-frame.ts";
import { DCT_BASIS } from "./jpeg-tables.ts";
import type { RgbImage } from "./types.ts";

/** Dequantises and inverse-transforms one component into a plane of its padded size. */
function componentPlane(c: Component): { plane: Uint8Array; stride: number } {
  const stride = c.paddedBlocksPerLine * 8;
  const plane = new Uint8Array(stride * c.paddedBlocksPerColumn * 8);
  const q = c.quant ?? new Uint16Array(64).fill(1);
  const m = DCT_BASIS;
  const f = new Float64Array(64);
  const tmp = new Float64Array(64);
  for (let by = 0; by < c.paddedBlocksPerColumn; by++) {
    for (let bx = 0; bx < c.paddedBlocksPerLine; bx++) {
      const o = (by * c.paddedBlocksPerLine + bx) * 64;
      for (let i = 0; i < 64; i++) f[i] = c.coefs[o + i]! * q[i]!;
      // Columns: tmp[y][u] = sum_v m[v][y] * F[v][u]
      for (let u = 0; u < 8; u++) {
        for (let y = 0; y < 8; y++) {
          let s = 0;
          for (let v = 0; v < 8; v++) s += m[v * 8 + y]! * f[v * 8 + u]!;
          tmp[y * 8 + u] = s;
        }
      }
      // Rows: out[y][x] = sum_u m[u][x] * tmp[y][u]
      for (let y = 0; y < 8; y++) {
        const row = (by * 8 + y) * stride + bx * 8;
        for (let x = 0; x < 8; x++) {
          let s = 0;
          for (let u = 0; u < 8; u++) s += m[u * 8 + x]! * tmp[y * 8 + u]!;
          plane[row + x] = clampByte(Math.round(s + 128));
        }
      }
    }
  }
  return { plane, stride };
}

/**
 * Brings a component to full resolution. For 2x1 and 2x2 subsampling this is libjpeg's "fancy"
 * upsampling (a triangle filter with its exact rounding), so results match libjpeg-based decoders
 * closely; other factors replicate samples.
 */
function upsample(c: Component, frame: Frame): { plane: Uint8Array; stride: number } {
  const src = componentPlane(c);
  const fx = frame.hmax / c.h;
  const fy = frame.vmax / c.v;
  if (fx === 1 && fy === 1) return src;
  // The component's real extent; edge samples beyond it are padding and must not be blended in.
  const cw = Math.ceil((frame.width * c.h) / frame.hmax);
  const ch = Math.ceil((frame.height * c.v) / frame.vmax);
  const stride = cw * fx;
  const out = new Uint8Array(stride * ch * fy);
  const s = src.plane;
  const ss = src.stride;
  if (fx === 2 && fy <= 2 && cw >= 2) {
    const colsum = new Int32Array(cw);
    for (let y = 0; y < ch; y++) {
      for (let half = 0; half < fy; half++) {
        const o = (y * fy + half) * stride;
        if (fy === 1) {
          const r = y * ss;
          out[o] = s[r]!;
          out[o + 1] = (s[r]! * 3 + s[r + 1]! + 2) >> 2;
          for (let x = 1; x < cw - 1; x++) {
            const v = s[r + x]! * 3;
            out[o + 2 * x] = (v + s[r + x - 1]! + 1) >> 2;
            out[o + 2 * x + 1] = (v + s[r + x + 1]! + 2) >> 2;
          }
          out[o + 2 * cw - 2] = (s[r + cw - 1]! * 3 + s[r + cw - 2]! + 1) >> 2;
          out[o + 2 * cw - 1] = s[r + cw - 1]!;
        } else {
          const near = y * ss;
          const far = (half === 0 ? Math.max(0, y - 1) : Math.min(ch - 1, y + 1)) * ss;
          for (let x = 0; x < cw; x++) colsum[x] = s[near + x]! * 3 + s[far + x]!;
          out[o] = (colsum[0]! * 4 + 8) >> 4;
          out[o + 1] = (colsum[0]! * 3 + colsum[1]! + 7) >> 4;
          for (let x = 1; x < cw - 1; x++) {
            const v = colsum[x]! * 3;
            out[o + 2 * x] = (v + colsum[x - 1]! + 8) >> 4;
            out[o + 2 * x + 1] = (v + colsum[x + 1]! + 7) >> 4;
          }
          out[o + 2 * cw - 2] = (colsum[cw - 1]! * 3 + colsum[cw - 2]! + 8) >> 4;
          out[o + 2 * cw - 1] = (colsum[cw - 1]! * 4 + 7) >> 4;
        }
      }
    }
    return { plane: out, stride };
  }
  for (let y = 0; y < ch * fy; y++) {
    const r = Math.floor(y / fy) * ss;
    for (let x = 0; x < stride; x++) out[y * stride + x] = s[r + Math.floor(x / fx)]!;
  }
  return { plane: out, stride };
}

/**
 * Turns a fully decoded frame into RGB: dequantise and inverse DCT each component, upsample
 * subsampled ones, convert colour (greyscale, YCbCr, RGB, CMYK or YCCK as the headers say).
 */
export function reconstructRgb(frame: Frame, adobeTransform: number | undefined): RgbImage {
  const { width, height } = frame;
  const planes = frame.components.map((c) => upsample(c, frame));
  const out = new Uint8Array(width * height * 3);
  const n = planes.length;
  if (n === 1) {
    const { plane, stride } = planes[0]!;
    for (let y = 0; y < height; y++) {
      for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
        const g = plane[y * stride + x]!;
        out[o] = g;
        out[o + 1] = g;
        out[o + 2] = g;
      }
    }
    return { width, height, data: out };
  }
  // Adobe's transform flag decides; without it, JFIF means YCbCr unless the ids spell "RGB".
  const rgbIds = frame.components.map((c) => c.id).join() === "82,71,66";
  const transform = adobeTransform ?? (n === 3 && !rgbIds ? 1 : 0);
  const [p0, p1, p2] = [planes[0]!, planes[1]!, planes[2]!];
  const p3 = planes[3];
  const pixel: [number, number, number] = [0, 0, 0];
  for (let y = 0; y < height; y++) {
    for (let x = 0, o = y * width * 3; x < width; x++, o += 3) {
      let r = p0.plane[y * p0.stride + x]!;
      let g = p1.plane[y * p1.stride + x]!;
      let b = p2.plane[y * p2.stride + x]!;
      if (transform !== 0) {
        ycc(r, g, b, pixel);
        [r, g, b] = pixel;
      }
      if (p3 !== undefined) {
        const k = p3.plane[y * p3.stride + x]!;
        // YCCK encodes 255 - C, 255 - M, 255 - Y. Adobe files store CMYK inverted (255 = no ink),
        // others store ink amounts.
        if (transform === 2) {
          r = 255 - r;
          g = 255 - g;
          b = 255 - b;
        }
        if (adobeTransform !== undefined) {
          r = Math.round((r * k) / 255);
          g = Math.round((g * k) / 255);
          b = Math.round((b * k) / 255);
        } else {
          r = Math.round(((255 - r) * (255 - k)) / 255);
          g = Math.round(((255 - g) * (255 - k)) / 255);
          b = Math.round(((255 - b) * (255 - k)) / 255);
        }
      }
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
    }
  }
  return { width, height, data: out };
}

/** JFIF YCbCr -> RGB (the inverse of the encoder's matrix), rounded and clamped, into `out`. */
function ycc(y: number, cb: number, cr: number, out: [number, number, number]): void {
  const b1 = cb - 128;
  const r1 = cr - 128;
  out[0] = clampByte(Math.round(y + 1.402 * r1));
  out[1] = clampByte(Math.round(y - 0.344136286 * b1 - 0.714136286 * r1));
  out[2] = clampByte(Math.round(y + 1.772 * b1));
}
