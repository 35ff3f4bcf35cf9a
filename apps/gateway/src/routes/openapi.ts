import { createJobSchema, ERROR_STATUS, jobSchema, openAiImageRequestSchema } from "@easel/schema";
import { z } from "zod";

const json = (schema: z.ZodType) => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });

const errorSchema = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["code", "type", "message"],
      properties: {
        code: { type: "string", enum: Object.keys(ERROR_STATUS) },
        type: { type: "string" },
        message: { type: "string" },
        param: { type: "string" },
        requestId: { type: "string" },
      },
    },
  },
};

const errors = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((s) => [
      String(s),
      {
        description: "Error",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
    ]),
  );

let cached: Record<string, unknown> | null = null;

/** OpenAPI 3.1 description of the REST routes, generated from the zod schemas in @easel/schema. */
export function openApiDocument(serverUrl: string): Record<string, unknown> {
  cached ??= {
    openapi: "3.1.0",
    info: {
      title: "Easel API",
      version: "1.0.0",
      description: "Text-to-image generation. tRPC lives at /trpc.",
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: errorSchema,
        ImageGenerationRequest: json(openAiImageRequestSchema),
        CreateJob: json(createJobSchema),
        Job: json(jobSchema),
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/v1/images/generations": {
        post: {
          summary: "Create images (OpenAI-compatible)",
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              required: false,
              schema: { type: "string", maxLength: 255 },
            },
          ],
          requestBody: {
            required: true,
            content: {
              "application/json": {
                schema: { $ref: "#/components/schemas/ImageGenerationRequest" },
              },
            },
          },
          responses: {
            "200": {
              description: "The generated images",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    required: ["created", "data"],
                    properties: {
                      created: { type: "integer" },
                      data: {
                        type: "array",
                        items: {
                          type: "object",
                          properties: { url: { type: "string" }, b64_json: { type: "string" } },
                        },
                      },
                    },
                  },
                },
              },
            },
            ...errors(400, 401, 409, 413, 415, 422, 429, 500, 503, 504),
          },
        },
      },
      "/v1/models": {
        get: {
          summary: "List models (OpenAI-compatible)",
          responses: {
            "200": {
              description: "Models",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      object: { const: "list" },
                      data: {
                        type: "array",
                        items: {
                          type: "object",
                          properties: { id: { type: "string" }, object: { const: "model" } },
                        },
                      },
                    },
                  },
                },
              },
            },
            ...errors(401, 429, 503),
          },
        },
      },
      "/v1/files/{jobId}/{index}": {
        get: {
          summary: "An image of a job (local object stores)",
          parameters: [
            { name: "jobId", in: "path", required: true, schema: { type: "string" } },
            { name: "index", in: "path", required: true, schema: { type: "integer", minimum: 0 } },
          ],
          responses: { "200": { description: "Image bytes" }, ...errors(401, 404, 429) },
        },
      },
    },
  };
  return { ...cached, servers: [{ url: serverUrl }] };
}
