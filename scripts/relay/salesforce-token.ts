import { z } from "zod";
import { SyncError } from "../../src/lib/errors.ts";
import {
  type TokenSettings as ClientCredentials,
  postClientCredentials,
  type TokenEndpointAnswer,
  TokenResponseSchema,
} from "../../src/salesforce/token.ts";

/** The Worker's token response, with the identity URL required: the Pub/Sub API needs its org id as `tenantid`. */
const PubSubTokenResponseSchema = TokenResponseSchema.extend({
  /** Identity URL, https://<host>/id/<orgId>/<userId>. */
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

export interface TokenSettings extends ClientCredentials {
  /** Salesforce does not say when the token expires; it is renewed after this age even without a rejection. */
  maxAgeMs?: number;
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

/** The request itself is the Worker's (`src/salesforce/token.ts`); the errors are the relay's own. */
async function requestToken(settings: TokenSettings): Promise<PubSubCredentials> {
  let answer: TokenEndpointAnswer;
  try {
    answer = await postClientCredentials(settings);
  } catch (err) {
    throw new SyncError("upstream_unavailable", "Salesforce token endpoint unreachable", { cause: err });
  }
  if (!answer.ok) {
    // invalid_client / invalid_grant (400) mean wrong settings: retrying will not help, an operator must act.
    const error = answer.body as { error?: unknown; error_description?: unknown } | undefined;
    const detail = {
      status: answer.status,
      error: String(error?.error ?? ""),
      description: String(error?.error_description ?? ""),
    };
    if (answer.status >= 500 || answer.status === 429) {
      throw new SyncError("upstream_unavailable", `Salesforce token endpoint answered ${answer.status}`, { detail });
    }
    throw new SyncError(
      "auth_failed",
      `Salesforce refused the client credentials (${answer.status} ${detail.error}: ${detail.description}); check SALESFORCE_LOGIN_URL, SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and the app's Run As user`,
      { detail },
    );
  }
  const parsed = PubSubTokenResponseSchema.safeParse(answer.body);
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
