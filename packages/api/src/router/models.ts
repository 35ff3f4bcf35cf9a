import { authedProcedure, router } from "../trpc.ts";

export const modelsRouter = router({
  list: authedProcedure.query(({ ctx }) => ctx.models.list()),
});
