import { describe, expect, it } from "vitest";
import { progressBar } from "./progress.ts";

function recorder(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, columns: 100, write: (t: string) => writes.push(t) }, writes };
}

describe("progressBar", () => {
  it("redraws one terminal line with a 30-cell bar, the count, the percentage and the time", () => {
    const { stream, writes } = recorder(true);
    let now = 1000;
    const bar = progressBar(stream, "generating", () => now);
    now = 1500;
    bar.update(3, 10);
    expect(writes).toEqual([
      "\r\x1b[2Kgenerating [#########---------------------]  3/10  30%  0.5 s",
    ]);
    bar.done("wrote out.png");
    expect(writes.at(-1)).toBe("\r\x1b[2Kwrote out.png\n");
  });

  it("drops repeated and late steps instead of moving backwards", () => {
    const { stream, writes } = recorder(true);
    const bar = progressBar(stream, "g", () => 0);
    bar.update(2, 4);
    bar.update(2, 4);
    bar.update(1, 4);
    bar.update(3, 4);
    expect(writes).toHaveLength(2);
    expect(writes[1]).toContain("3/4");
  });

  it("ignores progress while the total is unknown", () => {
    const { stream, writes } = recorder(true);
    progressBar(stream, "g").update(1, 0);
    expect(writes).toEqual([]);
  });

  it("writes one plain line per quarter when the stream is not a terminal", () => {
    const { stream, writes } = recorder(false);
    const bar = progressBar(stream, "generating");
    for (let step = 1; step <= 9; step++) bar.update(step, 9);
    expect(writes).toEqual([
      "generating 1/9 11%\n",
      "generating 3/9 33%\n",
      "generating 5/9 56%\n",
      "generating 7/9 78%\n",
      "generating 9/9 100%\n",
    ]);
  });

  it("keeps a long status within the terminal's width", () => {
    const writes: string[] = [];
    const bar = progressBar({ isTTY: true, columns: 30, write: (t) => writes.push(t) }, "g");
    bar.status("x".repeat(100));
    expect(writes[0]?.replace("\r\x1b[2K", "")).toHaveLength(29);
  });
});
