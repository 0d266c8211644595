import { createHmac } from "node:crypto";

const TIMESTAMP_HEADER = "X-Relay-Timestamp";
const SIGNATURE_HEADER = "X-Relay-Signature";

/**
 * The headers that authenticate one POST to the Worker: the unix time in seconds, and
 * `v1=` + hex HMAC-SHA256 keyed with RELAY_SECRET over `${timestamp}.${rawBody}`. The timestamp is
 * inside the MAC so a captured request cannot be replayed after the Worker's 5-minute window.
 * Sign again on every retry: a retry after a long outage must carry a fresh timestamp.
 */
export function signRelayRequest(secret: string, rawBody: string, nowMs: number): Record<string, string> {
  const timestamp = Math.floor(nowMs / 1000).toString();
  const mac = createHmac("sha256", secret).update(`${timestamp}.${rawBody}`, "utf8").digest("hex");
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `v1=${mac}` };
}
