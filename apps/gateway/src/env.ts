import { z } from "zod";
import type { Backend } from "./inference/client.ts";

/** Settings shared by both entries (Workers vars/secrets, or Node's environment). */
export const gatewayEnvSchema = z.object({
  /** JSON array of keys: `[{ "id", "name", "hash" | "token", "limits"?: { requests, windowSeconds, concurrentJobs } }]`. */
  EASEL_API_KEYS: z.string().optional(),
  /** Comma-separated inference backends: `url` or `id=url`. */
  EASEL_INFERENCE_URLS: z
    .string()
    .min(1, { message: "at least one inference backend URL is required" }),
  EASEL_SHARED_SECRET: z.string().min(16, { message: "must be at least 16 characters" }),
  /** Comma-separated origins allowed by CORS, or `*`. */
  EASEL_CORS_ORIGINS: z.string().default(""),
  /** `whsec_…` secret that signs completion webhooks; without it, webhooks are refused. */
  EASEL_WEBHOOK_SECRET: z.string().optional(),
  EASEL_ALLOW_PRIVATE_WEBHOOKS: z.enum(["0", "1", "true", "false"]).default("0"),
  /** Public URL of the gateway, for image URLs of local object stores. */
  EASEL_PUBLIC_URL: z.string().optional(),
  /** Longest wait of POST /v1/images/generations, seconds. */
  EASEL_GENERATE_WAIT_S: z.coerce.number().int().min(1).max(600).default(120),
  EASEL_INFERENCE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  /** Hours a finished job and its idempotency key are kept (0.001 h = 3.6 s, up to 1 year). */
  EASEL_JOB_RETENTION_HOURS: z.coerce.number().min(0.001).max(8760).default(168),
});
export type GatewayEnvConfig = z.infer<typeof gatewayEnvSchema>;

/** EASEL_JOB_RETENTION_HOURS in milliseconds. */
export function jobRetentionMs(config: GatewayEnvConfig): number {
  return config.EASEL_JOB_RETENTION_HOURS * 3_600_000;
}

export class GatewayConfigError extends Error {
  override readonly name = "GatewayConfigError";
}

export function parseGatewayEnv(env: Record<string, unknown>): GatewayEnvConfig {
  const parsed = gatewayEnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GatewayConfigError(`${issue?.path.join(".")}: ${issue?.message}`);
  }
  return parsed.data;
}

export function parseBackends(value: string): Backend[] {
  return value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const [id, url] = entry.includes("=")
        ? (entry.split("=", 2) as [string, string])
        : [`backend-${i + 1}`, entry];
      try {
        new URL(url);
      } catch {
        throw new GatewayConfigError(`EASEL_INFERENCE_URLS: ${JSON.stringify(url)} is not a URL`);
      }
      return { id, url };
    });
}

export const parseOrigins = (value: string) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export const isTrue = (value: string) => value === "1" || value === "true";
