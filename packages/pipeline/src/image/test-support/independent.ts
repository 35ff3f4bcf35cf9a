/**
 * Test support: independent decoders and encoders to check our codecs against. Pillow runs through
 * the repo's `.venv/bin/python` (pillow_codec.py beside this file) and `dwebp` from PATH; tests skip
 * with a message when either is missing. Not imported by production code.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll } from "vitest";
import type { RgbImage } from "../types.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../../../../..");
const PYTHON = path.join(REPO_ROOT, ".venv/bin/python");
const SCRIPT = path.join(here, "pillow_codec.py");

let pillowChecked: boolean | undefined;

/** True when the venv's Python can import Pillow and numpy. */
export function pillowAvailable(): boolean {
  if (pillowChecked === undefined) {
    pillowChecked =
      existsSync(PYTHON) &&
      spawnSync(PYTHON, ["-c", "import PIL, numpy"], { stdio: "ignore" }).status === 0;
    if (!pillowChecked) {
      console.warn("skipped: Pillow checks need .venv/bin/python with pillow and numpy");
    }
  }
  return pillowChecked;
}

/** True when `dwebp` (Debian package `webp`) is on PATH. */
export function dwebpAvailable(): boolean {
  const ok = spawnSync("dwebp", ["-version"], { stdio: "ignore" }).status === 0;
  if (!ok) console.warn("skipped: dwebp is not on PATH (apt-get install webp)");
  return ok;
}

/**
 * A temporary directory for one suite: created in `beforeAll`, deleted in `afterAll`, so a skipped
 * suite creates nothing. Call it at the top of the suite, before the suite's own `beforeAll`, and
 * read `.path` inside hooks and tests.
 */
export function scratchDir(): { path: string } {
  const handle = { path: "" };
  beforeAll(() => {
    handle.path = mkdtempSync(path.join(tmpdir(), "easel-image-test-"));
  });
  afterAll(() => rmSync(handle.path, { recursive: true, force: true }));
  return handle;
}

/** Runs pillow_codec.py on a list of jobs and returns its per-job results. */
export function runPillow(jobs: Record<string, unknown>[]): Record<string, unknown>[] {
  const dir = mkdtempSync(path.join(tmpdir(), "easel-pillow-jobs-"));
  try {
    const jobsPath = path.join(dir, "jobs.json");
    writeFileSync(jobsPath, JSON.stringify(jobs));
    const result = spawnSync(PYTHON, [SCRIPT, jobsPath], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`pillow_codec.py failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, unknown>[];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads raw RGB bytes written by pillow_codec.py. */
export function readRaw(file: string, width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(readFileSync(file)) };
}

/** Decodes a WebP file with `dwebp` into RGB (via its binary PPM output). */
export function dwebpDecode(webpPath: string): RgbImage {
  const out = `${webpPath}.ppm`;
  const result = spawnSync("dwebp", [webpPath, "-ppm", "-o", out], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`dwebp failed: ${result.stderr}`);
  return parsePpm(new Uint8Array(readFileSync(out)));
}

function parsePpm(bytes: Uint8Array): RgbImage {
  // "P6\n<w> <h>\n<max>\n" then binary RGB; dwebp writes exactly this layout.
  let pos = 0;
  const fields: string[] = [];
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(bytes[pos]!))) pos++;
    let token = "";
    while (!/\s/.test(String.fromCharCode(bytes[pos]!)))
      token += String.fromCharCode(bytes[pos++]!);
    fields.push(token);
  }
  pos++;
  const [magic, w, h, max] = fields;
  if (magic !== "P6" || max !== "255") throw new Error(`unexpected PPM header ${fields.join(" ")}`);
  const width = Number(w);
  const height = Number(h);
  return { width, height, data: bytes.slice(pos, pos + width * height * 3) };
}

/**
 * A deterministic test picture that looks roughly like a generated image: smooth gradients, a few
 * hard-edged discs and mild noise, so every filter, predictor and code path gets exercised.
 */
export function testImage(width: number, height: number, seed = 1): RgbImage {
  let state = seed >>> 0 || 1;
  const random = () => {
    // xorshift32: deterministic across platforms
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const discs = Array.from({ length: 4 }, () => ({
    x: random() * width,
    y: random() * height,
    r: (0.1 + random() * 0.25) * Math.min(width, height),
    color: [random() * 255, random() * 255, random() * 255],
  }));
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let rgb = [
        (x / width) * 200 + 20,
        (y / height) * 180 + 40,
        128 + 90 * Math.sin((x + 2 * y) / 23),
      ];
      for (const d of discs) if ((x - d.x) ** 2 + (y - d.y) ** 2 < d.r ** 2) rgb = d.color;
      for (let c = 0; c < 3; c++) {
        const v = Math.round(rgb[c]! + (random() - 0.5) * 6);
        data[(y * width + x) * 3 + c] = Math.min(255, Math.max(0, v));
      }
    }
  }
  return { width, height, data };
}

/** Uniform noise: the worst case for every compressor. */
export function noiseImage(width: number, height: number, seed = 7): RgbImage {
  const data = new Uint8Array(width * height * 3);
  let state = seed;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { width, height, data };
}

/** Largest per-byte difference between two equal-sized images. */
export function maxDiff(a: RgbImage, b: RgbImage): number {
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i]! - b.data[i]!));
  return max;
}

/** Mean absolute per-byte difference. */
export function meanDiff(a: RgbImage, b: RgbImage): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

/** Peak signal-to-noise ratio in dB. */
export function psnr(a: RgbImage, b: RgbImage): number {
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += (a.data[i]! - b.data[i]!) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.data.length));
}

/** Writes bytes to a file in `dir` and returns its path. */
export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}
