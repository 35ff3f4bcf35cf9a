import type { EaselError } from "@easel/schema";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { cors } from "./index.ts";

const ALLOWED = "https://app.example.com";

function appWith(origins: string[]) {
  const app = new Hono();
  app.use(cors({ origins, allowHeaders: ["authorization"], exposeHeaders: ["x-request-id"] }));
  app.get("/thing", (c) => c.json({ ok: true }));
  app.get("/raw", () => new Response("raw"));
  app.onError((error, c) =>
    c.json({ code: (error as EaselError).code }, (error as EaselError).status as 403),
  );
  return app;
}

const preflight = (origin: string) => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": "GET" },
});

describe("cors", () => {
  it("answers a preflight from an allowed origin with 204 and the allowed methods and headers", async () => {
    const response = await appWith([ALLOWED]).request("/thing", preflight(ALLOWED));
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(response.headers.get("access-control-allow-methods")).toBe("GET,HEAD,POST");
    expect(response.headers.get("access-control-allow-headers")).toBe("authorization");
    expect(response.headers.get("access-control-max-age")).toBe("600");
    expect(response.headers.get("vary")).toBe("Origin");
  });

  it.each(["https://evil.example", "null", `${ALLOWED}.evil.example`])(
    "refuses a preflight from %s with 403 forbidden",
    async (origin) => {
      const response = await appWith([ALLOWED]).request("/thing", preflight(origin));
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ code: "forbidden" });
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    },
  );

  it("serves other origins' requests without Access-Control-Allow-Origin", async () => {
    const app = appWith([ALLOWED]);
    const other = await app.request("/thing", { headers: { origin: "https://evil.example" } });
    expect(other.status).toBe(200);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    const allowed = await app.request("/thing", { headers: { origin: ALLOWED } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(allowed.headers.get("access-control-expose-headers")).toBe("x-request-id");
  });

  it("allows any origin with *, without Vary", async () => {
    const response = await appWith(["*"]).request("/thing", preflight("https://any.example"));
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
    expect(response.headers.get("vary")).toBeNull();
  });

  it("passes an OPTIONS request that is not a preflight on to the routes", async () => {
    const response = await appWith([ALLOWED]).request("/thing", {
      method: "OPTIONS",
      headers: { origin: ALLOWED },
    });
    expect(response.status).toBe(404);
  });

  it("rejects origins that are not scheme://host when the factory runs", () => {
    expect(() => cors({ origins: ["app.example.com"] })).toThrow(/scheme:\/\/host/);
    expect(() => cors({ origins: [`${ALLOWED}/path`] })).toThrow(/scheme:\/\/host/);
    expect(() => cors({ origins: [ALLOWED], maxAgeSeconds: -1 })).toThrow(/maxAgeSeconds/);
  });
});
