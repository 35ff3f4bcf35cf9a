import { loadPipeline } from "@easel/pipeline";
import { evaluate, parsePrompt } from "@easel/shapes";
const pipe = await loadPipeline("packages/shapes/artifacts/model", { intraOpThreads: 1 });
const prompts = ["a red circle above a blue square", "a big red circle", "a big blue square", "a small yellow circle", "a red circle at the top", "a red circle at the bottom"];
for (const steps of [8, 25]) for (const prompt of prompts) {
  const ok: number[] = [];
  for (let seed = 0; seed < 16; seed++) if (evaluate((await pipe.generate({ prompt, steps, seed })).images[0]!, parsePrompt(prompt)).correct) ok.push(seed);
  const extra = [];
  for (const seed of [3, 4, 7, 42]) extra.push(`${seed}:${evaluate((await pipe.generate({ prompt, steps, seed })).images[0]!, parsePrompt(prompt)).correct ? "ok" : "NO"}`);
  console.log(steps, prompt.padEnd(36), `${ok.length}/16`, extra.join(" "));
}
