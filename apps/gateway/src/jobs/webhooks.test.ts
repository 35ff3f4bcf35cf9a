import { describe, expect, it } from "vitest";
import { isPrivateAddress, literalAddressPolicy, standardWebhookSigner } from "./webhooks.ts";

describe("standardWebhookSigner", () => {
  it("signs as the Standard Webhooks reference example does", async () => {
    // Example from the Standard Webhooks specification's reference test vectors.
    const signer = standardWebhookSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const headers = await signer.sign(
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
    );
    expect(headers["webhook-signature"]).toBe("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  });
});

describe("address policy", () => {
  it.each([
    "127.0.0.1",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "::1",
    "fd00::1",
    "0.0.0.0",
    // IPv4-mapped/-compatible IPv6 in the hex form URL parsing produces for [::ffff:127.0.0.1].
    "::ffff:7f00:1",
    "[::ffff:a9fe:a9fe]",
    "::ffff:0:a00:7",
    "::7f00:1",
  ])("treats %s as private", (address) => expect(isPrivateAddress(address)).toBe(true));

  it.each(["8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:808:808"])(
    "treats %s as public",
    (address) => {
      expect(isPrivateAddress(address)).toBe(false);
    },
  );

  it("refuses localhost names unless private addresses are allowed", async () => {
    expect(await literalAddressPolicy(false).check(new URL("http://localhost:8080/hook"))).toMatch(
      /private or loopback/,
    );
    expect(
      await literalAddressPolicy(true).check(new URL("http://localhost:8080/hook")),
    ).toBeNull();
  });
});
