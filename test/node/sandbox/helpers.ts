import { readFileSync } from "node:fs";
import { startServer } from "../../../scripts/sandbox/shared/http.ts";
import type { Skeleton } from "../../../scripts/sandbox/shared/skeleton.ts";

export interface Received {
  headers: Record<string, string | undefined>;
  body: string;
}

/**
 * A webhook/relay target on 127.0.0.1 that records what it receives and answers with the given
 * statuses in turn (then 200).
 */
export async function startReceiver(statuses: number[] = []) {
  const received: Received[] = [];
  const queue = [...statuses];
  const server = await startServer((request) => {
    received.push({ headers: request.headers, body: request.rawBody });
    return { status: queue.shift() ?? 200, body: {} };
  });
  return { url: `${server.url}/hook`, received, close: () => server.close() };
}

/** A structural skeleton derived from a real recorded payload (see fixtures/sandbox/skeletons). */
export function referenceSkeleton(name: string): Skeleton {
  const url = new URL(`../../../fixtures/sandbox/skeletons/${name}.json`, import.meta.url);
  return (JSON.parse(readFileSync(url, "utf8")) as { skeleton: Skeleton }).skeleton;
}

/** Polls `check` every 10 ms until it is true or `timeoutMs` passed. */
export async function waitFor(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// biome-ignore lint/suspicious/noExplicitAny: tests index freely into response JSON they then assert on.
export async function json(response: Response): Promise<any> {
  return (await response.json()) as unknown;
}

/** A Salesforce emulator's token endpoint answer to a client credentials request, as the Worker sends it. */
export function salesforceTokenResponse(sf: {
  url: string;
  clientId: string;
  clientSecret: string;
}): Promise<Response> {
  return fetch(`${sf.url}/services/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: sf.clientId,
      client_secret: sf.clientSecret,
    }),
  });
}

/** An access token from a Salesforce emulator's token endpoint. */
export async function salesforceToken(sf: { url: string; clientId: string; clientSecret: string }): Promise<string> {
  return (await json(await salesforceTokenResponse(sf))).access_token;
}
