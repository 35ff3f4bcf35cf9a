/**
 * numpy RandomState conformance runner: `pnpm --silent conformance:randn <file.json>`.
 *
 * Reads a file in the format of ../shared/reference/numpy-randn.json: `cases` of
 * `{ id?, seed, call, ...expected }`. `call` is the numpy expression up to an optional "->"
 * comment: one or more calls on one RandomState, run in order with their outputs joined
 * (`randn(3); randn(3)`), each one of randn / standard_normal (legacy Gaussian) or
 * random_sample / random / rand / ranf / sample (uniform), with integer sizes (`randn(1,4,8,8)`,
 * `random_sample((2,3))`, `standard_normal(size=7)`); `.astype(float32)` casts the result.
 *
 * Expected keys, all checked: `float64` / `float32` (every value, bit for bit), `*_firstN` /
 * `*_lastN`, `*_sha256` (of the little-endian bytes), and `sum_abs` / `sum` / `mean` (relative
 * tolerance 1e-10, since summation order differs from numpy's pairwise sum).
 *
 * Prints one PASS/FAIL/SKIP line per case and `N passed, N failed`; exits 1 if any case failed,
 * 2 if the file cannot be read or holds no cases.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { RandomState } from "../random/numpy.ts";
import { createReport, type Report, readJsonArgument } from "./report.ts";

/** One numpy call: which distribution and how many values. */
export interface RandomCall {
  kind: "gauss" | "uniform";
  count: number;
}

/** A parsed `call` string. */
export interface ParsedCall {
  /** The expression without its "->" comment, used in case ids. */
  expression: string;
  calls: RandomCall[];
  castToFloat32: boolean;
}

const GAUSS = new Set(["randn", "standard_normal"]);
const UNIFORM = new Set(["random_sample", "random", "rand", "ranf", "sample"]);
/** Names that may appear around the calls without drawing anything. */
const NOT_DRAWS = new Set([
  "astype",
  "RandomState",
  "seed",
  "float32",
  "float64",
  "reshape",
  "flatten",
  "ravel",
]);
const CALL = /([A-Za-z_][\w.]*)\s*\(((?:[^()]|\([^()]*\))*)\)/g;
const FLOAT32_CAST = /astype\(\s*(?:np\.|numpy\.)?["']?float32["']?\s*\)/;
const SUM_TOLERANCE = 1e-10;

/**
 * Parses a case's `call` string; throws with a readable message for forms it does not support.
 *
 * @example
 * parseCall("randn(1,4,8,8).astype(float32) -> flattened C-order");
 * // { expression: "randn(1,4,8,8).astype(float32)", calls: [{ kind: "gauss", count: 256 }], castToFloat32: true }
 */
export function parseCall(call: string): ParsedCall {
  const expression = call.split("->")[0]!.trim();
  const calls: RandomCall[] = [];
  for (const match of expression.matchAll(CALL)) {
    const name = match[1]!.split(".").at(-1)!;
    if (NOT_DRAWS.has(name)) continue;
    const kind = GAUSS.has(name) ? "gauss" : UNIFORM.has(name) ? "uniform" : undefined;
    if (!kind) throw new Error(`unsupported call ${name}(...) in "${expression}"`);
    const args = match[2]!.replace(/\bsize\s*=/, "").replace(/[()\s]/g, "");
    const dims = args === "" ? [] : args.split(",").filter((part) => part !== "");
    if (!dims.every((dim) => /^\d+$/.test(dim))) {
      throw new Error(
        `unsupported arguments in ${name}(${match[2]}): only integer sizes are supported`,
      );
    }
    calls.push({ kind, count: dims.reduce((product, dim) => product * Number(dim), 1) });
  }
  if (calls.length === 0) throw new Error(`no random call found in "${expression}"`);
  return { expression, calls, castToFloat32: FLOAT32_CAST.test(expression) };
}

/** Runs the calls on `RandomState(seed)` and joins the outputs (float32-rounded when cast). */
export function drawCase(seed: number, parsed: ParsedCall): Float64Array {
  const rng = new RandomState(seed);
  const out = new Float64Array(parsed.calls.reduce((total, c) => total + c.count, 0));
  let at = 0;
  for (const call of parsed.calls) {
    out.set(
      call.kind === "gauss" ? rng.standardNormalF64(call.count) : rng.randomSample(call.count),
      at,
    );
    at += call.count;
  }
  return parsed.castToFloat32 ? Float64Array.from(Float32Array.from(out)) : out;
}

function sha256(values: Float64Array | Float32Array): string {
  const bytes = new Uint8Array(values.byteLength);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => {
    if (values instanceof Float32Array) view.setFloat32(i * 4, value, true);
    else view.setFloat64(i * 8, value, true);
  });
  return createHash("sha256").update(bytes).digest("hex");
}

/** Why a case's expectation failed, as [got, expected]; undefined when it holds. */
type Mismatch = [string, string] | undefined;

function compareValues(
  key: string,
  got: ArrayLike<number>,
  expected: unknown,
  offset: number,
): Mismatch {
  if (!Array.isArray(expected) || !expected.every((v) => typeof v === "number")) {
    return [`${key} is not a number array`, "an array of numbers"];
  }
  if (got.length !== expected.length)
    return [`${got.length} values`, `${key} with ${expected.length} values`];
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(got[i], expected[i])) {
      return [`${key}[${offset + i}]=${got[i]}`, `${key}[${offset + i}]=${expected[i]}`];
    }
  }
  return undefined;
}

function checkKey(key: string, expected: unknown, values: Float64Array): Mismatch | "ignored" {
  const arrayKey = /^(float64|float32)(?:_(first|last)(\d+))?$/.exec(key);
  if (arrayKey) {
    const typed = arrayKey[1] === "float32" ? Float64Array.from(Float32Array.from(values)) : values;
    const n = arrayKey[3] === undefined ? typed.length : Number(arrayKey[3]);
    if (n > typed.length) return [`${typed.length} values drawn`, `${key} needs at least ${n}`];
    const slice = arrayKey[2] === "last" ? typed.subarray(typed.length - n) : typed.subarray(0, n);
    return compareValues(key, slice, expected, arrayKey[2] === "last" ? typed.length - n : 0);
  }
  const hashKey = /^(float64|float32)_sha256$/.exec(key);
  if (hashKey) {
    const actual = sha256(hashKey[1] === "float32" ? Float32Array.from(values) : values);
    return actual === expected ? undefined : [`${key}=${actual}`, `${key}=${String(expected)}`];
  }
  if (key === "sum_abs" || key === "sum" || key === "mean") {
    if (typeof expected !== "number") return [`${key} is not a number`, "a number"];
    let sum = 0;
    for (const v of values) sum += key === "sum_abs" ? Math.abs(v) : v;
    const actual = key === "mean" ? sum / values.length : sum;
    const ok = Math.abs(actual - expected) <= SUM_TOLERANCE * Math.max(1, Math.abs(expected));
    return ok
      ? undefined
      : [`${key}=${actual}`, `${key}=${expected} (relative tolerance ${SUM_TOLERANCE})`];
  }
  return "ignored";
}

/** Checks one case object into `report`. */
export function runRandnCase(raw: unknown, index: number, report: Report): void {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    report.fail(`cases[${index}]`, "not an object", "a case object");
    return;
  }
  const c = raw as Record<string, unknown>;
  const seed = c["seed"];
  const call = c["call"];
  const label = typeof call === "string" ? call.split("->")[0]!.trim() : `cases[${index}]`;
  const id = typeof c["id"] === "string" ? c["id"] : `seed=${String(seed)} ${label}`;
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
    report.fail(id, `seed ${JSON.stringify(seed)}`, "an integer seed in [0, 2^32 - 1]");
    return;
  }
  if (typeof call !== "string") {
    report.fail(id, "no call", 'a call such as "randn(12)"');
    return;
  }
  let values: Float64Array;
  try {
    values = drawCase(seed, parseCall(call));
  } catch (error) {
    report.fail(id, (error as Error).message, "a supported call");
    return;
  }
  let checked = 0;
  for (const [key, expected] of Object.entries(c)) {
    if (key === "id" || key === "seed" || key === "call") continue;
    const result = checkKey(key, expected, values);
    if (result === "ignored") continue;
    checked++;
    if (result) {
      report.fail(id, result[0], result[1]);
      return;
    }
  }
  if (checked === 0)
    report.skip(id, `no expected values to compare (keys: ${Object.keys(c).join(", ")})`);
  else report.pass(id);
}

/** CLI entry: returns the exit code. */
export function main(argv: readonly string[]): number {
  const input = readJsonArgument(argv, "conformance:randn", "<numpy-randn.json>");
  if (input === null) return 2;
  const { file, doc } = input;
  const cases = (doc as { cases?: unknown } | null)?.cases;
  if (!Array.isArray(cases) || cases.length === 0) {
    console.error(`conformance:randn: invalid file ${file}: expected a non-empty "cases" array`);
    return 2;
  }
  const report = createReport();
  for (const [i, raw] of cases.entries()) runRandnCase(raw, i, report);
  return report.finish();
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
