import { describe, expect, it } from "vitest";
import { storeConfigFromEnv } from "./config.ts";

describe("storeConfigFromEnv", () => {
  it("uses a local directory without a bucket", () => {
    expect(storeConfigFromEnv({})).toEqual({ kind: "fs", root: ".easel/images" });
    expect(storeConfigFromEnv({ EASEL_STORE_DIR: "/data" })).toEqual({ kind: "fs", root: "/data" });
  });

  it("passes a session token on with explicit temporary credentials", () => {
    const config = storeConfigFromEnv({
      EASEL_S3_BUCKET: "images",
      AWS_ACCESS_KEY_ID: "ASIAEXAMPLE",
      AWS_SECRET_ACCESS_KEY: "secret",
      AWS_SESSION_TOKEN: "token",
    });
    expect(config).toMatchObject({
      kind: "s3",
      bucket: "images",
      credentials: { accessKeyId: "ASIAEXAMPLE", secretAccessKey: "secret", sessionToken: "token" },
    });
  });

  it("leaves credentials to the AWS SDK's default chain unless both key halves are set", () => {
    const config = storeConfigFromEnv({ EASEL_S3_BUCKET: "images", AWS_ACCESS_KEY_ID: "AKIA" });
    expect(config).not.toHaveProperty("credentials");
    const permanent = storeConfigFromEnv({
      EASEL_S3_BUCKET: "images",
      AWS_ACCESS_KEY_ID: "AKIA",
      AWS_SECRET_ACCESS_KEY: "secret",
    });
    expect(permanent).toMatchObject({
      credentials: { accessKeyId: "AKIA", secretAccessKey: "secret" },
    });
    expect(permanent).not.toHaveProperty("credentials.sessionToken");
  });
});
