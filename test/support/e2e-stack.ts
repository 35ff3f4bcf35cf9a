import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { createEaselClient, Job } from "@easel/sdk";
import { type RunningStack, type StackKey, startStack } from "@easel/stack";
import { type S3TestServer, startS3TestServer } from "@easel/storage/testing";
import { afterAll, beforeAll } from "vitest";
import { modelEnv } from "./model.ts";
import { newWebhookSecret, startWebhookReceiver, type WebhookReceiver } from "./webhooks.ts";

/** The gateway runtimes every end-to-end test runs against. */
export const RUNTIMES = ["node", "workerd"] as const;
export type Runtime = (typeof RUNTIMES)[number];

const S3_CREDENTIALS = { accessKeyId: "easel-e2e", secretAccessKey: "easel-e2e-secret" };

export interface E2EStack extends RunningStack {
  /** The bucket inference writes images to, on the real S3-compatible test server. */
  bucket: string;
  s3: S3Client;
  s3Endpoint: string;
  /** Standard Webhooks secret the gateway signs with. */
  webhookSecret: string;
  receiver: WebhookReceiver;
}

let bucketCount = 0;

/**
 * A real S3-compatible test server for the enclosing `describe`: started before its tests and
 * stopped after them. Returns a getter, as the server exists only once `beforeAll` has run.
 */
export function useS3TestServer(): () => S3TestServer {
  let server: S3TestServer | undefined;
  beforeAll(async () => {
    server = await startS3TestServer();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error("the S3 test server is used before it started");
    return server;
  };
}

const TERMINAL = new Set<Job["status"]>(["succeeded", "failed", "canceled"]);

/** Polls a job (jobs.get refreshes it from inference) until it is terminal or `timeoutMs` passed. */
export async function settledJob(
  easel: ReturnType<typeof createEaselClient>,
  id: string,
  timeoutMs = 30_000,
): Promise<Job> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await easel.jobs.get(id);
    if (TERMINAL.has(job.status) || Date.now() > deadline) return job;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * The whole stack for end-to-end tests: inference (the test model, one thread) storing images in
 * a fresh bucket of a real S3-compatible server, the gateway on `runtime` with completion webhooks
 * signed and allowed to reach 127.0.0.1, a local webhook receiver, and a temporary data directory
 * (removed by `stop`, so Durable Object and job state never leak between runs).
 */
export async function startE2EStack(
  runtime: Runtime,
  s3Server: S3TestServer,
  {
    keys = [],
    gatewayEnv = {},
  }: { keys?: readonly StackKey[]; gatewayEnv?: Record<string, string> } = {},
): Promise<E2EStack> {
  const dataDir = await mkdtemp(join(tmpdir(), `easel-e2e-${runtime}-`));
  const bucket = `easel-e2e-${runtime}-${process.pid}-${++bucketCount}`;
  const s3 = new S3Client({
    region: "us-east-1",
    endpoint: s3Server.endpoint,
    forcePathStyle: true,
    credentials: S3_CREDENTIALS,
  });
  const receiver = await startWebhookReceiver();
  const webhookSecret = newWebhookSecret();
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const stack = await startStack({
      worker: runtime === "workerd",
      dataDir,
      keys,
      inferenceEnv: {
        ...modelEnv(),
        EASEL_S3_BUCKET: bucket,
        EASEL_S3_PREFIX: "images",
        EASEL_S3_ENDPOINT: s3Server.endpoint,
        EASEL_S3_REGION: "us-east-1",
        EASEL_S3_FORCE_PATH_STYLE: "1",
        AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
      },
      gatewayEnv: {
        EASEL_WEBHOOK_SECRET: webhookSecret,
        EASEL_ALLOW_PRIVATE_WEBHOOKS: "1",
        ...gatewayEnv,
      },
    });
    return {
      ...stack,
      bucket,
      s3,
      s3Endpoint: s3Server.endpoint,
      webhookSecret,
      receiver,
      async stop() {
        await stack.stop();
        await receiver.close();
        s3.destroy();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await receiver.close();
    s3.destroy();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
