import { createJobSchema } from "@easel/schema";
import { z } from "zod";
import { authedProcedure, router } from "../trpc.ts";

/** Longest time `images.generate` holds a request open before returning the unfinished job. */
export const GENERATE_MAX_WAIT_S = 60;

export const imagesRouter = router({
  /** Creates a job and waits up to `wait_seconds` (default 30) for it; returns the job either way. */
  generate: authedProcedure
    .input(
      createJobSchema.extend({ wait_seconds: z.int().min(0).max(GENERATE_MAX_WAIT_S).default(30) }),
    )
    .mutation(async ({ ctx, input: { wait_seconds, ...body }, signal }) => {
      const options =
        ctx.idempotencyKey === undefined ? {} : { idempotencyKey: ctx.idempotencyKey };
      const job = await ctx.jobs.create(ctx.key, body, options);
      return await ctx.jobs.waitFor(ctx.key, job.id, wait_seconds * 1000, signal);
    }),
});
