/** The generation settings recorded in an image's metadata. */
export interface GenerationParameters {
  prompt: string;
  negativePrompt?: string | undefined;
  steps: number;
  /** Scheduler alias (`"euler-a"`) or diffusers class name (`"EulerAncestralDiscreteScheduler"`). */
  scheduler: string;
  guidanceScale: number;
  seed: number;
  width: number;
  height: number;
  model: string;
}

/**
 * Sampler names as AUTOMATIC1111 writes them, for the schedulers that have a clear A1111
 * counterpart, so that tools reading A1111 infotext recognise them. Others are written as given.
 */
const A1111_SAMPLERS: Record<string, string> = {
  ddim: "DDIM",
  DDIMScheduler: "DDIM",
  euler: "Euler",
  EulerDiscreteScheduler: "Euler",
  "euler-a": "Euler a",
  EulerAncestralDiscreteScheduler: "Euler a",
  heun: "Heun",
  HeunDiscreteScheduler: "Heun",
  lms: "LMS",
  LMSDiscreteScheduler: "LMS",
  "dpm++2m": "DPM++ 2M",
  DPMSolverMultistepScheduler: "DPM++ 2M",
  "dpm++2m-karras": "DPM++ 2M Karras",
  unipc: "UniPC",
  UniPCMultistepScheduler: "UniPC",
  lcm: "LCM",
  LCMScheduler: "LCM",
};

/** A1111's `quote`: values holding a comma, colon or newline are written as JSON strings. */
function quote(value: string): string {
  return /[,:\n]/.test(value) ? JSON.stringify(value) : value;
}

/**
 * Formats parameters the way AUTOMATIC1111 writes its `parameters` PNG text, which most image
 * viewers and prompt tools parse: the prompt, a `Negative prompt:` line when there is one, then a
 * `Key: value` line.
 *
 * @example
 * formatParameters({ prompt: "a red circle", steps: 20, scheduler: "euler-a", guidanceScale: 7.5,
 *   seed: 42, width: 512, height: 512, model: "shapes" });
 * // "a red circle\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: shapes"
 */
export function formatParameters(p: GenerationParameters): string {
  const lines = [p.prompt];
  if (p.negativePrompt) lines.push(`Negative prompt: ${p.negativePrompt}`);
  const sampler = A1111_SAMPLERS[p.scheduler] ?? p.scheduler;
  lines.push(
    [
      `Steps: ${p.steps}`,
      `Sampler: ${quote(sampler)}`,
      `CFG scale: ${p.guidanceScale}`,
      `Seed: ${p.seed}`,
      `Size: ${p.width}x${p.height}`,
      `Model: ${quote(p.model)}`,
    ].join(", "),
  );
  return lines.join("\n");
}

/**
 * The text entries to embed in an image: `parameters` in A1111 form plus one key per setting, so
 * that readers which do not parse A1111 text still find each value.
 *
 * @example
 * encodePng(img, parametersText(params));
 */
export function parametersText(p: GenerationParameters): Record<string, string> {
  const text: Record<string, string> = { parameters: formatParameters(p), prompt: p.prompt };
  if (p.negativePrompt) text["negative_prompt"] = p.negativePrompt;
  text["steps"] = String(p.steps);
  text["scheduler"] = p.scheduler;
  text["guidance_scale"] = String(p.guidanceScale);
  text["seed"] = String(p.seed);
  text["size"] = `${p.width}x${p.height}`;
  text["model"] = p.model;
  return text;
}
