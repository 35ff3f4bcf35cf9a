import { createJobSchema, jobIdSchema, listJobsSchema } from "@easel/schema";
import { z } from "zod";
import { authedProcedure, router } from "../trpc.ts";

const byId = z.strictObject({ id: jobIdSchema });

export const jobsRouter = router({
  /** Accepts a job (202 semantics: it runs in the background). Honours the Idempotency-Key header. */
  create: authedProcedure
    .input(createJobSchema.extend({ idempotency_key: z.string().min(1).max(255).optional() }))
    .mutation(({ ctx, input: { idempotency_key, ...body } }) => {
      const idempotencyKey = idempotency_key ?? ctx.idempotencyKey;
      return ctx.jobs.create(ctx.key, body, idempotencyKey === undefined ? {} : { idempotencyKey });
    }),
  get: authedProcedure.input(byId).query(({ ctx, input }) => ctx.jobs.get(ctx.key, input.id)),
  cancel: authedProcedure
    .input(byId)
    .mutation(({ ctx, input }) => ctx.jobs.cancel(ctx.key, input.id)),
  /** The calling key's jobs, newest first. */
  list: authedProcedure
    .input(listJobsSchema)
    .query(({ ctx, input }) =>
      ctx.jobs.list(
        ctx.key,
        input.cursor === undefined
          ? { limit: input.limit }
          : { limit: input.limit, cursor: input.cursor },
      ),
    ),
  /** Server-sent events: queued, started, progress, preview, then completed with the job. */
  events: authedProcedure.input(byId).subscription(async function* ({ ctx, input, signal }) {
    const controller = new AbortController();
    signal?.addEventListener("abort", () => controller.abort());
    yield* ctx.jobs.events(ctx.key, input.id, controller.signal);
  }),
});
