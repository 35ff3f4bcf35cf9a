/**
 * Codec timings on a synthetic generated-like image. Run from the repo root:
 *   pnpm exec tsx packages/pipeline/src/image/bench.ts [size ...]   (default: 512 1024)
 * Prints the median of several runs after a warm-up, per codec and size.
 */
import { decodeJpeg, encodeJpeg } from "./jpeg.ts";
import { decodePng, encodePng } from "./png.ts";
import { resizeRgb } from "./resize.ts";
import { testImage } from "./test-support/independent.ts";
import { decodeWebp, encodeWebp } from "./webp.ts";

function median(f: () => unknown, runs: number): number {
  for (let i = 0; i < 2; i++) f();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

const sizes = process.argv.slice(2).map(Number);
for (const size of sizes.length > 0 ? sizes : [512, 1024]) {
  const img = testImage(size, size);
  const runs = size > 600 ? 5 : 9;
  const png = encodePng(img, { parameters: "a prompt\nSteps: 20, Seed: 42" });
  const jpeg = encodeJpeg(img, 90);
  const webp = encodeWebp(img);
  const rows: [string, number, number | string][] = [
    ["encodePng", median(() => encodePng(img), runs), png.length],
    ["decodePng", median(() => decodePng(png), runs), "-"],
    ["encodeJpeg q90 4:2:0", median(() => encodeJpeg(img, 90), runs), jpeg.length],
    ["decodeJpeg", median(() => decodeJpeg(jpeg), runs), "-"],
    ["encodeWebp (lossless)", median(() => encodeWebp(img), runs), webp.length],
    ["decodeWebp", median(() => decodeWebp(webp), runs), "-"],
    ["resizeRgb to half", median(() => resizeRgb(img, size / 2, size / 2), runs), "-"],
  ];
  console.log(`\n${size}x${size} (raw ${size * size * 3} bytes), median of ${runs} runs:`);
  for (const [name, ms, bytes] of rows) {
    console.log(`  ${name.padEnd(24)} ${ms.toFixed(1).padStart(7)} ms   ${String(bytes).padStart(8)} bytes`);
  }
}
