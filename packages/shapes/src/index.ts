/**
 * Easel Shapes: the procedural world of the embedded default text-to-image model.
 * Scenes, ground-truth renderer, prompt grammar and parser, dataset generator and evaluator.
 */

export { type ContactSheetOptions, contactSheet } from "./contact-sheet.ts";
export {
  type EvalPrompt,
  type EvalSetOptions,
  evalPromptSet,
} from "./dataset/eval-set.ts";
export { type DatasetItem, type DatasetOptions, generateDataset } from "./dataset/generate.ts";
export { SPLITS, type Split, sampleSceneSpec } from "./dataset/sample.ts";
export { PromptParseError, ShapesError } from "./errors.ts";
export {
  type DetectedObject,
  detectObjects,
  type EvaluateOptions,
  evaluate,
  type Verdict,
  type VerdictAttributes,
} from "./evaluate/evaluate.ts";
export { type CaptionOptions, canonicalCaption, captionFor } from "./grammar/caption.ts";
export { parsePrompt } from "./grammar/parse.ts";
export type { RgbImage } from "./image.ts";
export {
  layoutScene,
  type PlacedObject,
  rasterize,
  renderScene,
  type SceneLayout,
} from "./render/index.ts";
export { mixSeed, Rng } from "./rng.ts";
export {
  type CountSpec,
  HELD_OUT_PAIRS,
  isHeldOut,
  type ObjectSpec,
  type RelationSpec,
  type SceneForm,
  type SceneSpec,
  type SingleSpec,
  sceneObjects,
  validateSceneSpec,
} from "./spec.ts";
export * from "./world.ts";
