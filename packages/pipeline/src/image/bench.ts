/**
 * Codec timings on a synthetic generated-like image. Run from the repo root:
 *   pnpm exec tsx packages/pipeline/src/image/bench.ts [size ...]   (default: 512 1024)
 * Prints, per codec and size, the median wall time of several runs after a warm-up and the mean
 * CPU time (process.cpuUsage, which a busy shared machine distorts less than wall time).
 */
import { decodeJpeg, encodeJpeg } from "./jpeg.ts";
import { decodePng, encodePng } from "./png.ts";
import { resizeRgb } from "./resize.ts";
import { testImage } from "./test-support/independent.ts";
import { decodeWebp, encodeWebp } from "./webp.ts";

function measure(f: () => unknown, runs: number): { wall: number; cpu: number } {
  for (let i = 0; i < 2; i++) f();
  const times: number[] = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpuStart);
  times.sort((a, b) => a - b);
  return { wall: times[Math.floor(runs / 2)]!, cpu: (cpu.user + cpu.system) / 1000 / runs };
}

const sizes = process.argv.slice(2).map(Number);
for (const size of sizes.length > 0 ? sizes : [512, 1024]) {
  const img = testImage(size, size);
  const runs = size > 600 ? 5 : 9;
  const png = encodePng(img, { parameters: "a prompt\nSteps: 20, Seed: 42" });
  const jpeg = encodeJpeg(img, 90);
  const webp = encodeWebp(img);
  const rows: [string, { wall: number; cpu: number }, number | string][] = [
    ["encodePng", measure(() => encodePng(img), runs), png.length],
    ["decodePng", measure(() => decodePng(png), runs), "-"],
    ["encodeJpeg q90 4:2:0", measure(() => encodeJpeg(img, 90), runs), jpeg.length],
    ["decodeJpeg", measure(() => decodeJpeg(jpeg), runs), "-"],
    ["encodeWebp (lossless)", measure(() => encodeWebp(img), runs), webp.length],
    ["decodeWebp", measure(() => decodeWebp(webp), runs), "-"],
    ["resizeRgb to half", measure(() => resizeRgb(img, size / 2, size / 2), runs), "-"],
  ];
  console.log(`\n${size}x${size} (raw ${size * size * 3} bytes), ${runs} runs:`);
  console.log(
    `  ${"".padEnd(24)} ${"wall ms".padStart(8)} ${"cpu ms".padStart(8)} ${"bytes".padStart(9)}`,
  );
  for (const [name, t, bytes] of rows) {
    const cells = [
      t.wall.toFixed(1).padStart(8),
      t.cpu.toFixed(1).padStart(8),
      String(bytes).padStart(9),
    ];
    console.log(`  ${name.padEnd(24)} ${cells.join(" ")}`);
  }
}
