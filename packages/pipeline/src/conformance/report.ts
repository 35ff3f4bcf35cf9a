/**
 * The line protocol shared by the conformance runners: one `PASS <id>`, `FAIL <id> got … expected …`
 * or `SKIP <id> <reason>` line per case, then `N passed, N failed`. Exit code 0 when nothing
 * failed, 1 otherwise (runners use 2 themselves for unreadable input).
 */

import { readFileSync } from "node:fs";
import path from "node:path";
/** Collects case results and prints them as they come. */
export interface Report {
  pass(id: string): void;
  /** `got` and `expected` are printed as is when strings, else as (shortened) JSON. */
  fail(id: string, got: unknown, expected: unknown): void;
  skip(id: string, reason: string): void;
  /** Prints the summary line and returns the process exit code. */
  finish(): number;
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

const MAX_VALUE_LENGTH = 300;

/** One line, whatever the value holds: control characters escaped, long values cut. */
function oneLine(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  const escaped = text.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => JSON.stringify(c).slice(1, -1));
  return escaped.length > MAX_VALUE_LENGTH ? `${escaped.slice(0, MAX_VALUE_LENGTH)}…` : escaped;
}

/**
 * Creates a report that writes each line through `write` (default: stdout).
 *
 * @example
 * const report = createReport();
 * report.pass("seed=0 randn(12)");
 * report.fail("seed=1 randn(12)", "float64[3]=0.1", "float64[3]=0.2");
 * process.exitCode = report.finish(); // prints "1 passed, 1 failed", returns 1
 */
export function createReport(write: (line: string) => void = (line) => console.log(line)): Report {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  return {
    pass(id) {
      passed++;
      write(`PASS ${oneLine(id)}`);
    },
    fail(id, got, expected) {
      failed++;
      write(`FAIL ${oneLine(id)} got ${oneLine(got)} expected ${oneLine(expected)}`);
    },
    skip(id, reason) {
      skipped++;
      write(`SKIP ${oneLine(id)} ${oneLine(reason)}`);
    },
    finish() {
      write(`${passed} passed, ${failed} failed`);
      return failed > 0 ? 1 : 0;
    },
    get passed() {
      return passed;
    },
    get failed() {
      return failed;
    },
    get skipped() {
      return skipped;
    },
  };
}

/**
 * The JSON file a runner's first argument names, resolved to an absolute path; `null` after printing
 * the usage line or `<command>: cannot read <file>: <why>` to stderr (the runner then exits with 2).
 *
 * @example
 * const input = readJsonArgument(argv, "conformance:randn", "<numpy-randn.json>");
 * if (input === null) return 2;
 */
export function readJsonArgument(
  argv: readonly string[],
  command: string,
  argument: string,
): { file: string; doc: unknown } | null {
  if (!argv[0]) {
    console.error(`usage: pnpm --silent ${command} ${argument}`);
    return null;
  }
  const file = path.resolve(argv[0]);
  try {
    return { file, doc: JSON.parse(readFileSync(file, "utf8")) };
  } catch (error) {
    console.error(`${command}: cannot read ${file}: ${(error as Error).message}`);
    return null;
  }
}
