export * from "./canonical.ts";
export * from "./errors.ts";
export * from "./generation.ts";
export * from "./issues.ts";
export * from "./job.ts";
export * from "./prediction.ts";
export * from "./signing.ts";
