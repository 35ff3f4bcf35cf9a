export type { ApiContext, ApiKeyInfo, JobsApi, ModelsApi } from "./context.ts";
export { type AppRouter, appRouter } from "./root.ts";
export { GENERATE_MAX_WAIT_S } from "./router/images.ts";
export { type EaselErrorData, easelErrorData, toEaselError, trpcErrorEnvelope } from "./trpc.ts";
