export type {
  CreateJob,
  GenerationInput,
  Job,
  JobEvent,
  JobImage,
  JobPage,
  Model,
} from "@easel/schema";
/** The wire limits and scheduler names, for building forms that match what the API accepts. */
export { LIMITS, SCHEDULERS, type SchedulerName } from "@easel/schema";
export {
  createEaselClient,
  type EaselClient,
  type EaselClientOptions,
  type GenerateOptions,
  type GenerateProgress,
} from "./client.ts";
export { EaselError, type ErrorCode, toEaselError } from "./errors.ts";
export type { RetryOptions } from "./retry.ts";
