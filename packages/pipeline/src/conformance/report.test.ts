import { describe, expect, it } from "vitest";
import { createReport } from "./report.ts";

function collect() {
  const lines: string[] = [];
  return { lines, report: createReport((line) => lines.push(line)) };
}

describe("createReport", () => {
  it("prints one line per case and the summary, and exits 0 when nothing failed", () => {
    const { lines, report } = collect();
    report.pass("a");
    report.skip("b", "no expected values");
    expect(report.finish()).toBe(0);
    expect(lines).toEqual(["PASS a", "SKIP b no expected values", "1 passed, 0 failed"]);
  });

  it("exits 1 and prints got and expected when a case failed", () => {
    const { lines, report } = collect();
    report.fail("seed=0 randn(2)", "float64[1]=0.5", [1, 2]);
    expect(report.finish()).toBe(1);
    expect(lines).toEqual([
      "FAIL seed=0 randn(2) got float64[1]=0.5 expected [1,2]",
      "0 passed, 1 failed",
    ]);
    expect([report.passed, report.failed, report.skipped]).toEqual([0, 1, 0]);
  });

  it("keeps every case on one line, escaping newlines and cutting long values", () => {
    const { lines, report } = collect();
    report.fail("text=a\nb", "x".repeat(1000), "y");
    expect(lines[0]).toMatch(/^FAIL text=a\\nb got x{300}… expected y$/);
  });
});
