import { imagesRouter } from "./router/images.ts";
import { jobsRouter } from "./router/jobs.ts";
import { modelsRouter } from "./router/models.ts";
import { router } from "./trpc.ts";

export const appRouter = router({
  images: imagesRouter,
  jobs: jobsRouter,
  models: modelsRouter,
});

/** The API's type, for clients: import it with `import type` only. */
export type AppRouter = typeof appRouter;
