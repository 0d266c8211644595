import { hmacSha256Hex, timingSafeEqual } from "../lib/hmac.ts";

/** A signed request older or newer than this is refused, so a captured one cannot be replayed later. */
export const RELAY_TOLERANCE_SECONDS = 300;

/** Why a relay request is not authentic, or undefined when it is. */
export async function verifyRelaySignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<string | undefined> {
  if (!timestamp || !/^\d+$/.test(timestamp)) return "Missing or invalid X-Relay-Timestamp";
  if (Math.abs(nowSeconds - Number(timestamp)) > RELAY_TOLERANCE_SECONDS)
    return "X-Relay-Timestamp is too far from now";
  const given = /^v1=([0-9a-f]{64})$/i.exec(signature?.trim() ?? "")?.[1];
  if (!given) return "Missing or invalid X-Relay-Signature";
  const expected = await hmacSha256Hex(secret, `${timestamp}.${rawBody}`);
  return timingSafeEqual(given.toLowerCase(), expected) ? undefined : "X-Relay-Signature does not match";
}
