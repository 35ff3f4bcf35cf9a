import { describe, expect, it } from "vitest";
import { fitLatentProjection, grayProjection, projectLatents, sd1Projection } from "./preview.ts";

describe("projectLatents", () => {
  it("applies the SD 1.x factors per latent cell", () => {
    // One cell, latent (1, 0, 0, 0): RGB = first factor row (0.298, 0.207, 0.208) -> (v + 1) * 127.5.
    const img = projectLatents(new Float32Array([1, 0, 0, 0]), [1, 4, 1, 1], 0, sd1Projection());
    expect(Array.from(img.data)).toEqual([
      Math.round(1.298 * 127.5),
      Math.round(1.207 * 127.5),
      Math.round(1.208 * 127.5),
    ]);
  });

  it("renders the requested image of a batch at latent resolution", () => {
    const latents = new Float32Array(2 * 2 * 2 * 3);
    latents.fill(1, 12); // image 1 all ones
    const img = projectLatents(latents, [2, 2, 2, 3], 1, grayProjection(2));
    expect(img).toMatchObject({ width: 3, height: 2 });
    expect(Array.from(img.data)).toEqual(new Array(18).fill(255));
  });
});

describe("fitLatentProjection", () => {
  it("recovers the map of a decoder that is linear per cell", async () => {
    // A fake 3-channel-latent VAE with factor 2: each latent cell becomes a 2x2 block of
    // rgb = W^T (latent * scaling) + b, i.e. linear in the sampler's latents.
    const W = [
      [0.5, -0.25, 0.125],
      [0.1, 0.2, 0.3],
      [-0.4, 0.05, 0.6],
    ];
    const b = [0.1, -0.2, 0.05];
    const scaling = 0.5;
    const decode = async (
      latents: Float32Array,
      dims: readonly number[],
    ): Promise<Float32Array> => {
      const [, channels = 0, h = 0, w = 0] = dims;
      const H = h * 2;
      const Wd = w * 2;
      const out = new Float32Array(3 * H * Wd);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < Wd; x++) {
          const cell = Math.floor(y / 2) * w + Math.floor(x / 2);
          for (let k = 0; k < 3; k++) {
            let v = b[k]!;
            for (let c = 0; c < channels; c++)
              v += W[c]![k]! * latents[c * h * w + cell]! * scaling;
            out[k * H * Wd + y * Wd + x] = v;
          }
        }
      }
      return out;
    };
    const projection = await fitLatentProjection(3, 2, scaling, decode);
    for (let c = 0; c < 3; c++) {
      for (let k = 0; k < 3; k++) expect(projection.weights[c * 3 + k]).toBeCloseTo(W[c]![k]!, 4);
    }
    for (let k = 0; k < 3; k++) expect(projection.bias[k]).toBeCloseTo(b[k]!, 4);
  });

  it("fits a zero projection to a decoder that outputs only zeros", async () => {
    const projection = await fitLatentProjection(2, 1, 1, async () => new Float32Array(3 * 64));
    // All-zero targets fit to zero weights, which is a valid (black) projection, not a failure:
    expect(Array.from(projection.weights)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
