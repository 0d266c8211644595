import { hmacSha256Hex } from "../../src/lib/hmac.ts";

export const ATTIO_WEBHOOK_SECRET = "test-attio-webhook-secret";
export const RELAY_SECRET = "test-relay-secret-0123456789abcdef";
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";

/** A webhook request signed the way Attio signs it. */
export async function attioWebhookRequest(body: unknown, headers: Record<string, string> = {}): Promise<Request> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  return new Request("https://worker.test/webhooks/attio", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "attio-signature": await hmacSha256Hex(ATTIO_WEBHOOK_SECRET, raw),
      ...headers,
    },
    body: raw,
  });
}

/** A relay request signed as the CDC relay signs it. */
export async function relayRequest(
  body: unknown,
  options: { timestamp?: number; secret?: string } = {},
): Promise<Request> {
  const raw = typeof body === "string" ? body : JSON.stringify(body);
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = await hmacSha256Hex(options.secret ?? RELAY_SECRET, `${timestamp}.${raw}`);
  return new Request("https://worker.test/webhooks/salesforce", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-relay-timestamp": timestamp,
      "x-relay-signature": `v1=${signature}`,
    },
    body: raw,
  });
}
