import type { GenerationInput, SchedulerName } from "@easel/sdk";

/** The numeric request fields the form has an input for, by their wire names. */
export const NUMBER_FIELDS = [
  "width",
  "height",
  "steps",
  "guidance_scale",
  "seed",
  "num_images",
] as const satisfies readonly (keyof GenerationInput)[];

/** Every request field the form edits; each has an input whose `name` is the wire name. */
export type FieldName = "prompt" | "negative_prompt" | "scheduler" | (typeof NUMBER_FIELDS)[number];

/** The raw strings of the form's inputs, keyed by wire name. */
export type FormValues = Partial<Record<FieldName, string>>;

/**
 * Turns the form's strings into a request. Empty fields are left out so the model's defaults
 * apply; everything else is sent as typed, out of range or not, because the gateway validates it
 * and its error names the field (the page shows that error rather than second-guessing the API).
 *
 * @example
 * toGenerationInput({ prompt: "a red circle", steps: "12", seed: "" });
 * // { prompt: "a red circle", steps: 12 }
 */
export function toGenerationInput(values: FormValues): GenerationInput {
  const input: GenerationInput = { prompt: values.prompt ?? "" };
  const negative = values.negative_prompt?.trim();
  if (negative) input.negative_prompt = negative;
  const scheduler = values.scheduler?.trim();
  if (scheduler) input.scheduler = scheduler as SchedulerName;
  for (const name of NUMBER_FIELDS) {
    const raw = values[name]?.trim();
    // A number input reports "" for text it cannot parse; NaN would reach the wire as null.
    if (raw) input[name] = Number(raw);
  }
  return input;
}

/**
 * The form field an error's `param` points at (`input.steps` -> `steps`), or null when the error
 * is not about one of the form's fields.
 */
export function fieldForParam(param: string | undefined): FieldName | null {
  if (!param) return null;
  const name = param.replace(/^input\./, "").split(".")[0];
  const fields: readonly string[] = ["prompt", "negative_prompt", "scheduler", ...NUMBER_FIELDS];
  return name && fields.includes(name) ? (name as FieldName) : null;
}
