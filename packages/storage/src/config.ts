import { FsObjectStore } from "./fs.ts";
import { S3ObjectStore } from "./s3.ts";
import type { ObjectStore } from "./store.ts";

export type StoreConfig =
  | { kind: "fs"; root: string }
  | {
      kind: "s3";
      bucket: string;
      prefix?: string;
      region?: string;
      endpoint?: string;
      forcePathStyle?: boolean;
      credentials?: { accessKeyId: string; secretAccessKey: string };
    };

/**
 * Builds a store from environment-style settings: `EASEL_S3_BUCKET` selects S3 (with
 * `EASEL_S3_ENDPOINT`, `EASEL_S3_REGION`, `EASEL_S3_PREFIX`, `EASEL_S3_FORCE_PATH_STYLE=1`,
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`); otherwise a local directory (`EASEL_STORE_DIR`,
 * default `.easel/images`).
 */
export function createObjectStore(env: Record<string, string | undefined>): ObjectStore {
  const config = storeConfigFromEnv(env);
  return config.kind === "fs" ? new FsObjectStore(config.root) : new S3ObjectStore(config);
}

export function storeConfigFromEnv(env: Record<string, string | undefined>): StoreConfig {
  const bucket = env["EASEL_S3_BUCKET"];
  if (!bucket) return { kind: "fs", root: env["EASEL_STORE_DIR"] ?? ".easel/images" };
  const accessKeyId = env["AWS_ACCESS_KEY_ID"];
  const secretAccessKey = env["AWS_SECRET_ACCESS_KEY"];
  return {
    kind: "s3",
    bucket,
    ...(env["EASEL_S3_PREFIX"] ? { prefix: env["EASEL_S3_PREFIX"] } : {}),
    ...(env["EASEL_S3_REGION"] ? { region: env["EASEL_S3_REGION"] } : {}),
    ...(env["EASEL_S3_ENDPOINT"] ? { endpoint: env["EASEL_S3_ENDPOINT"] } : {}),
    forcePathStyle:
      env["EASEL_S3_FORCE_PATH_STYLE"] === "1" || env["EASEL_S3_FORCE_PATH_STYLE"] === "true",
    ...(accessKeyId && secretAccessKey
      ? { credentials: { accessKeyId, secretAccessKey, ...sessionToken(env) } }
      : {}),
  };
}

/** Temporary (STS) credentials come as a key pair plus a session token. */
function sessionToken(env: Record<string, string | undefined>): { sessionToken?: string } {
  const token = env["AWS_SESSION_TOKEN"];
  return token ? { sessionToken: token } : {};
}
