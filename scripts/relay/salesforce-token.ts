import { z } from "zod";
import { SyncError } from "../../src/lib/errors.ts";

/** Client-credentials token response: no refresh_token and no expires_in (FACTS §4.1). */
const TokenResponseSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.url(),
  /** Identity URL, https://<host>/id/<orgId>/<userId>: the Pub/Sub API needs the org id as `tenantid`. */
  id: z.url(),
});

export interface PubSubCredentials {
  accessToken: string;
  instanceUrl: string;
  tenantId: string;
}

export interface TokenProvider {
  get(): Promise<PubSubCredentials>;
  /** Drops the cached token after Salesforce rejected it (gRPC UNAUTHENTICATED). */
  invalidate(): void;
}

export interface TokenSettings {
  loginUrl: string;
  clientId: string;
  clientSecret: string;
  /** Salesforce does not say when the token expires; it is renewed after this age even without a rejection. */
  maxAgeMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** OAuth 2.0 client credentials against `${SALESFORCE_LOGIN_URL}/services/oauth2/token`, cached. */
export function createTokenProvider(settings: TokenSettings): TokenProvider {
  const maxAgeMs = settings.maxAgeMs ?? 30 * 60 * 1000;
  const now = settings.now ?? Date.now;
  let cached: { credentials: PubSubCredentials; at: number } | undefined;
  let pending: Promise<PubSubCredentials> | undefined;
  return {
    async get() {
      if (cached && now() - cached.at < maxAgeMs) return cached.credentials;
      // Several channels reconnecting at once share one token request.
      pending ??= requestToken(settings).then(
        (credentials) => {
          cached = { credentials, at: now() };
          pending = undefined;
          return credentials;
        },
        (err: unknown) => {
          pending = undefined;
          throw err;
        },
      );
      return pending;
    },
    invalidate() {
      cached = undefined;
    },
  };
}

async function requestToken(settings: TokenSettings): Promise<PubSubCredentials> {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_id: settings.clientId,
    client_secret: settings.clientSecret,
  });
  let response: Response;
  try {
    response = await (settings.fetch ?? fetch)(`${settings.loginUrl}/services/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body,
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw new SyncError("upstream_unavailable", "Salesforce token endpoint unreachable", { cause: err });
  }
  const text = await response.text();
  if (!response.ok) {
    // invalid_client / invalid_grant (400) mean wrong settings: retrying will not help, an operator must act.
    const error = safeJson(text) as { error?: unknown; error_description?: unknown } | undefined;
    const detail = {
      status: response.status,
      error: String(error?.error ?? ""),
      description: String(error?.error_description ?? ""),
    };
    if (response.status >= 500 || response.status === 429) {
      throw new SyncError("upstream_unavailable", `Salesforce token endpoint answered ${response.status}`, { detail });
    }
    throw new SyncError(
      "auth_failed",
      `Salesforce refused the client credentials (${response.status} ${detail.error}: ${detail.description}); check SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and the app's Run As user`,
      { detail },
    );
  }
  const parsed = TokenResponseSchema.safeParse(safeJson(text));
  if (!parsed.success) {
    throw new SyncError("upstream_rejected", "Salesforce token response is missing access_token, instance_url or id", {
      retryable: true,
    });
  }
  const tenantId = new URL(parsed.data.id).pathname.split("/").filter(Boolean)[1];
  if (!tenantId || !/^00D\w{12}(\w{3})?$/.test(tenantId)) {
    throw new SyncError("upstream_rejected", "Salesforce token response has an identity URL without an org id", {
      retryable: true,
    });
  }
  return { accessToken: parsed.data.access_token, instanceUrl: parsed.data.instance_url, tenantId };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
