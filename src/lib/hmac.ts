const encoder = new TextEncoder();

/**
 * Keys imported per secret, for the life of the isolate: each webhook is signed with one of a few
 * secrets, and importing the key again for each one cost more than signing.
 */
const keys = new Map<string, Promise<CryptoKey>>();

/** Hex-encoded HMAC-SHA256 of `data`, keyed with the UTF-8 bytes of `secret`. */
export async function hmacSha256Hex(secret: string, data: string | ArrayBuffer | Uint8Array): Promise<string> {
  let imported = keys.get(secret);
  if (!imported) {
    imported = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    // A rotated secret replaces the old one: at most a few keys are ever kept.
    if (keys.size >= MAX_KEYS) keys.clear();
    keys.set(secret, imported);
    imported.catch(() => keys.delete(secret));
  }
  const key = await imported;
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const signature = await crypto.subtle.sign("HMAC", key, bytes);
  return toHex(new Uint8Array(signature));
}

const MAX_KEYS = 8;

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/**
 * Compares two strings in time that depends only on their length, so a forged signature cannot be
 * found byte by byte from response timings.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.byteLength !== right.byteLength) return false;
  return crypto.subtle.timingSafeEqual(left, right);
}

/** SHA-256 of a string, hex-encoded. Used for content hashes of canonical values. */
export async function sha256Hex(data: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(data));
  return toHex(new Uint8Array(digest));
}
