import type { MiddlewareHandler } from "hono";

export interface RequestIdOptions {
  /** Header read from the client and echoed back. Default `x-request-id`. */
  headerName?: string;
  generate?: () => string;
}

export type RequestIdVariables = { requestId: string };

const SAFE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/**
 * Gives every request an id: the client's `x-request-id` when it is safe to echo, else a new UUID.
 * It is set as `c.var.requestId` and returned in the response header.
 *
 * @example
 * app.use(requestId());
 * app.get("/", (c) => c.text(c.var.requestId));
 */
export function requestId({
  headerName = "x-request-id",
  generate = () => crypto.randomUUID(),
}: RequestIdOptions = {}): MiddlewareHandler<{ Variables: RequestIdVariables }> {
  return async function requestIdMiddleware(c, next) {
    const incoming = c.req.header(headerName);
    const id = incoming && SAFE_ID.test(incoming) ? incoming : generate();
    c.set("requestId", id);
    c.header(headerName, id);
    await next();
  };
}
