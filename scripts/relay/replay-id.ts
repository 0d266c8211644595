/**
 * Replay ids are opaque bytes to Salesforce ("must not be computed"), so the relay keeps the exact
 * bytes (base64 in the replay store) and resubscribes with them unchanged. Only for the Worker and
 * the logs is an id shown as a number: today's ids are 8-byte big-endian integers, which is also how
 * CometD shows them (`event.replayId: 12`).
 */
export type ReplayIdBase64 = string;

export function replayIdToBase64(bytes: Uint8Array): ReplayIdBase64 {
  return Buffer.from(bytes).toString("base64");
}

export function replayIdFromBase64(value: ReplayIdBase64): Buffer {
  return Buffer.from(value, "base64");
}

/** The `event.replayId` the Worker gets: a number when exact, a decimal string beyond 2^53, base64 otherwise. */
export function replayIdForDisplay(bytes: Uint8Array): number | string {
  if (bytes.byteLength !== 8) return Buffer.from(bytes).toString("base64");
  const value = Buffer.from(bytes).readBigUInt64BE();
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** Encodes an integer replay id as Salesforce does (used by tests and the fake Pub/Sub server). */
export function replayIdFromNumber(value: number | bigint): Buffer {
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64BE(BigInt(value));
  return buf;
}
