import { PipelineError } from "../errors/index.ts";

/**
 * Base error of the schedulers area: bad scheduler configs, unknown scheduler names, and calls in the
 * wrong order or out of range (`step` before `setTimesteps`, a timestep outside the schedule).
 * A `PipelineError`, so the service maps it with the rest of the pipeline's errors.
 *
 * @example
 * throw new SchedulerError("DDIMScheduler.setTimesteps: steps must be an integer in [1, 1000], got 0", {
 *   param: "numInferenceSteps",
 * });
 */
export class SchedulerError extends PipelineError {
  override readonly name: string = "SchedulerError";
  /** The config key or call argument at fault, when there is one (e.g. `"beta_schedule"`). */
  readonly param: string | undefined;

  constructor(message: string, options: { cause?: unknown; param?: string } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.param = options.param;
  }
}
