import { z } from "zod";
import { SyncError } from "../lib/errors.ts";

/** The client-credentials token response (no refresh_token, no expires_in). */
export const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.url(),
  token_type: z.string().optional(),
  issued_at: z.string().optional(),
  /** The identity URL, `https://…/id/<orgId>/<userId>`: names the integration user. */
  id: z.string().optional(),
});

export interface SalesforceToken {
  accessToken: string;
  instanceUrl: string;
  obtainedAt: number;
  /** The integration user's id (from the identity URL), when the response names it. */
  userId?: string;
}

export interface TokenSettings {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  fetch?: typeof fetch;
  /** Longest wait for the token endpoint's answer (default 30 s). */
  timeoutMs?: number;
}

/**
 * Salesforce does not say when a client-credentials token expires (it follows the org's session
 * timeout, 15 minutes at the shortest), so a cached token is renewed after this age even without a
 * 401, and at once on INVALID_SESSION_ID.
 */
const MAX_TOKEN_AGE_MS = 10 * 60 * 1000;

/** Tokens cached per isolate, keyed by login URL and client id (never by the secret). */
const cache = new Map<string, SalesforceToken>();

/** A cached token, or a new one from `${loginUrl}/services/oauth2/token`. */
export async function getToken(settings: TokenSettings, now = Date.now()): Promise<SalesforceToken> {
  const key = `${settings.loginUrl}|${settings.clientId}`;
  const cached = cache.get(key);
  if (cached && now - cached.obtainedAt < MAX_TOKEN_AGE_MS) return cached;
  const token = await requestToken(settings, now);
  cache.set(key, token);
  return token;
}

/** Forgets the cached token, after Salesforce rejected it. */
export function invalidateToken(settings: Pick<TokenSettings, "loginUrl" | "clientId">): void {
  cache.delete(`${settings.loginUrl}|${settings.clientId}`);
}

/** The token endpoint's answer: its status and its body parsed as JSON (undefined when it is not JSON). */
export interface TokenEndpointAnswer {
  status: number;
  ok: boolean;
  body: unknown;
}

/**
 * POSTs the client-credentials request to `${loginUrl}/services/oauth2/token` and reads the answer.
 * Rejects as `fetch` does when the endpoint cannot be reached or does not answer in time; the secret
 * travels only in the request body, so such an error never carries it. Each caller turns the answer
 * into its own errors: the Worker here, the CDC relay in `scripts/relay/salesforce-token.ts`.
 */
export async function postClientCredentials(settings: TokenSettings): Promise<TokenEndpointAnswer> {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: settings.clientId,
    client_secret: settings.clientSecret,
  });
  const response = await (settings.fetch ?? fetch)(`${settings.loginUrl}/services/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body,
    signal: AbortSignal.timeout(settings.timeoutMs ?? 30_000),
  });
  return { status: response.status, ok: response.ok, body: safeJson(await response.text()) };
}

/** OAuth errors are `{error, error_description}`; they never contain the secret we sent. */
const OAuthErrorSchema = z.object({ error: z.string(), error_description: z.string().optional() });

async function requestToken(settings: TokenSettings, now: number): Promise<SalesforceToken> {
  let answer: TokenEndpointAnswer;
  try {
    answer = await postClientCredentials(settings);
  } catch (err) {
    throw new SyncError("upstream_unavailable", `Salesforce token endpoint unreachable: ${(err as Error).message}`);
  }
  if (!answer.ok) {
    const reason = safeOAuthError(answer.body) ?? `HTTP ${answer.status}`;
    const retryable = answer.status >= 500 || answer.status === 429;
    throw new SyncError(
      retryable ? "upstream_unavailable" : "auth_failed",
      `Salesforce token request failed: ${reason}`,
      {
        status: 502,
      },
    );
  }
  const parsed = TokenResponseSchema.safeParse(answer.body);
  if (!parsed.success) {
    throw new SyncError("auth_failed", "Salesforce token response has no access_token/instance_url", { status: 502 });
  }
  const userId = /\/id\/[^/]+\/([A-Za-z0-9]{15,18})$/.exec(parsed.data.id ?? "")?.[1];
  return {
    accessToken: parsed.data.access_token,
    instanceUrl: parsed.data.instance_url.replace(/\/+$/, ""),
    obtainedAt: now,
    ...(userId ? { userId } : {}),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function safeOAuthError(body: unknown): string | undefined {
  const parsed = OAuthErrorSchema.safeParse(body);
  if (!parsed.success) return undefined;
  return parsed.data.error_description ? `${parsed.data.error}: ${parsed.data.error_description}` : parsed.data.error;
}

/** Forgets every cached token (after credentials change; tests start from a clean slate with it). */
export function clearTokenCache(): void {
  cache.clear();
}
