/**
 * Prints the relation prompts of the built-in evaluation set with subject and reference swapped,
 * one JSON object per line (`prompt`, `original`, `held_out`, `variant`), for `eval:model --prompts`.
 *
 *   pnpm --silent --filter @easel/shapes exec tsx src/cli/swap-relations.ts > swapped.jsonl
 *   pnpm --silent eval:model --prompts swapped.jsonl --seeds 2
 *
 * A model that ignores word order draws "a red circle above a blue square" and "a blue square
 * above a red circle" alike, so on one of the two sets its relations are wrong; a model that
 * follows the prompt scores the same on both.
 */
import { evalPromptSet } from "../dataset/eval-set.ts";
import { canonicalCaption } from "../grammar/caption.ts";
import { parsePrompt } from "../grammar/parse.ts";
import { isHeldOut } from "../spec.ts";

for (const { prompt, form, variant } of evalPromptSet()) {
  if (form !== "relation") continue;
  const spec = parsePrompt(prompt);
  if (spec.form !== "relation") continue;
  const swapped = { ...spec, subject: spec.reference, reference: spec.subject };
  const line = {
    prompt: canonicalCaption(swapped),
    original: prompt,
    held_out: isHeldOut(swapped),
    variant,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
