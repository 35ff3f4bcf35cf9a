import { describe, expect, it } from "vitest";
import { parsePrompt } from "../grammar/parse.ts";
import type { RgbImage } from "../image.ts";
import { Rng } from "../rng.ts";
import { layoutScene, renderScene } from "./index.ts";

// Facts stated by hand (the world), not read from the code under test.
const RED = [212, 30, 40];
const THIRD = 64 / 3;

function pixel(img: RgbImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
}

/** Box of the pixels clearly away from the background (more than half-way to a strong colour). */
function inkBox(img: RgbImage) {
  const bg = pixel(img, 0, 0);
  let x0 = 64;
  let x1 = -1;
  let y0 = 64;
  let y1 = -1;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const p = pixel(img, x, y);
      const d = Math.hypot(p[0]! - bg[0]!, p[1]! - bg[1]!, p[2]! - bg[2]!);
      if (d < 80) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  }
  return { cx: (x0 + x1 + 1) / 2, cy: (y0 + y1 + 1) / 2, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

describe("renderScene", () => {
  it("renders 64x64 RGB, identical for the same seed and different for another", () => {
    const spec = parsePrompt("a red circle above a blue square");
    const a = renderScene(spec, new Rng(1));
    const b = renderScene(spec, new Rng(1));
    const c = renderScene(spec, new Rng(2));
    expect([a.width, a.height, a.data.length]).toEqual([64, 64, 64 * 64 * 3]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    expect(Buffer.from(a.data).equals(Buffer.from(c.data))).toBe(false);
  });

  it("paints a light plain background and flat palette colour inside objects", () => {
    const rng = new Rng(4);
    for (let i = 0; i < 50; i++) {
      const img = renderScene(parsePrompt("a big red square in the center"), rng);
      for (const [x, y] of [
        [0, 0],
        [63, 0],
        [0, 63],
        [63, 63],
      ] as const) {
        for (const channel of pixel(img, x, y)) expect(channel).toBeGreaterThanOrEqual(228);
      }
      expect(pixel(img, 32, 32)).toEqual(RED);
    }
  });

  it("anti-aliases edges: some pixels lie strictly between background and colour", () => {
    const img = renderScene(parsePrompt("a big black circle in the center"), new Rng(9));
    let partial = 0;
    for (let i = 0; i < img.data.length; i += 3) {
      const g = img.data[i + 1]!;
      if (g > 40 && g < 220) partial++;
    }
    expect(partial).toBeGreaterThan(20);
  });

  it("places a positioned object's centre in the stated third", () => {
    const rng = new Rng(21);
    const cases = [
      ["left", (b: { cx: number }) => b.cx < THIRD],
      ["right", (b: { cx: number }) => b.cx > 2 * THIRD],
      ["top", (b: { cy: number }) => b.cy < THIRD],
      ["bottom", (b: { cy: number }) => b.cy > 2 * THIRD],
      [
        "center",
        (b: { cx: number; cy: number }) =>
          b.cx > THIRD && b.cx < 2 * THIRD && b.cy > THIRD && b.cy < 2 * THIRD,
      ],
    ] as const;
    const phrases = {
      left: "on the left",
      right: "on the right",
      top: "at the top",
      bottom: "at the bottom",
      center: "in the center",
    };
    for (const [position, inside] of cases) {
      for (const size of ["small", "big"]) {
        for (const shape of ["circle", "square", "triangle", "star"]) {
          for (let i = 0; i < 10; i++) {
            const prompt = `a ${size} blue ${shape} ${phrases[position]}`;
            const box = inkBox(renderScene(parsePrompt(prompt), rng));
            expect(inside(box), `${prompt}: ${JSON.stringify(box)}`).toBe(true);
          }
        }
      }
    }
  });

  it("draws small objects 12-16 px and big ones 24-29 px across", () => {
    const rng = new Rng(5);
    for (let i = 0; i < 40; i++) {
      const small = inkBox(renderScene(parsePrompt("a small green square"), rng));
      const big = inkBox(renderScene(parsePrompt("a big green circle"), rng));
      for (const side of [small.w, small.h]) expect(side).toBeGreaterThanOrEqual(11);
      for (const side of [small.w, small.h]) expect(side).toBeLessThanOrEqual(17);
      for (const side of [big.w, big.h]) expect(side).toBeGreaterThanOrEqual(23);
      for (const side of [big.w, big.h]) expect(side).toBeLessThanOrEqual(30);
    }
  });
});

describe("layoutScene", () => {
  const boxesApart = (
    a: { cx: number; cy: number; extent: number },
    b: { cx: number; cy: number; extent: number },
    gap: number,
  ) =>
    Math.abs(a.cx - b.cx) >= (a.extent + b.extent) / 2 + gap ||
    Math.abs(a.cy - b.cy) >= (a.extent + b.extent) / 2 + gap;

  it("keeps every object inside the image and count copies at least 4 px apart", () => {
    const rng = new Rng(8);
    for (let i = 0; i < 300; i++) {
      const layout = layoutScene(
        parsePrompt(i % 2 ? "three big red stars" : "two small blue circles"),
        rng,
      );
      expect(layout.objects).toHaveLength(i % 2 ? 3 : 2);
      for (const o of layout.objects) {
        expect(o.cx - o.extent / 2).toBeGreaterThanOrEqual(1);
        expect(o.cy + o.extent / 2).toBeLessThanOrEqual(63);
      }
      const [a, b, c] = layout.objects;
      expect(boxesApart(a!, b!, 4)).toBe(true);
      if (c) expect(boxesApart(a!, c, 4) && boxesApart(b!, c, 4)).toBe(true);
    }
  });

  it("separates relation objects along the stated axis and keeps the other axis secondary", () => {
    const rng = new Rng(3);
    for (const relation of ["above", "below", "left of", "right of"]) {
      for (let i = 0; i < 100; i++) {
        const [s, r] = layoutScene(
          parsePrompt(`a red circle ${relation} a blue star`),
          rng,
        ).objects;
        const along =
          relation === "above"
            ? r!.cy - s!.cy
            : relation === "below"
              ? s!.cy - r!.cy
              : relation === "left of"
                ? r!.cx - s!.cx
                : s!.cx - r!.cx;
        const across = relation === "above" || relation === "below" ? r!.cx - s!.cx : r!.cy - s!.cy;
        expect(along).toBeGreaterThanOrEqual((s!.extent + r!.extent) / 2 + 3 - 1e-9);
        expect(Math.abs(across)).toBeLessThanOrEqual(along / 2 + 1e-9);
      }
    }
  });
});
