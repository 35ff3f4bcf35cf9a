import { lookup } from "node:dns/promises";
import { type AddressPolicy, isPrivateAddress } from "../jobs/webhooks.ts";

/** Resolves the webhook host and refuses it when any address is private or loopback. */
export function resolvingAddressPolicy(allowPrivate: boolean): AddressPolicy {
  return {
    async check(url) {
      if (allowPrivate) return null;
      const host = url.hostname.replace(/^\[|\]$/g, "");
      let addresses: { address: string }[];
      try {
        addresses = await lookup(host, { all: true });
      } catch {
        return `webhook_url host ${host} does not resolve`;
      }
      const bad = addresses.find((a) => isPrivateAddress(a.address));
      return bad
        ? `webhook_url host ${host} resolves to a private or loopback address (${bad.address})`
        : null;
    },
  };
}
