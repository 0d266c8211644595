import { HttpResponse, http } from "msw";
import { beforeEach, describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { clearTokenCache, getToken, invalidateToken } from "../../../src/salesforce/token.ts";
import { server } from "../../helpers/msw.ts";

/** The client-credentials flow against a token endpoint answered by msw. */
const LOGIN = "https://token-unit.my.salesforce.test";
const settings = { loginUrl: LOGIN, clientId: "unit-client", clientSecret: "unit-secret-never-shown" };
const TOKEN = {
  access_token: "00Dxx!token",
  instance_url: "https://token-unit.my.salesforce.test/",
  id: "https://login.salesforce.com/id/00D000000000001EAA/005000000000777AAA",
  token_type: "Bearer",
  issued_at: "1767225600000",
};

/** Answers every token request with `reply`, counting the requests and checking the form. */
function endpoint(reply: () => Response) {
  const seen = { requests: 0, forms: [] as string[] };
  server.use(
    http.post(`${LOGIN}/services/oauth2/token`, async ({ request }) => {
      seen.requests++;
      seen.forms.push(new TextDecoder().decode(await request.arrayBuffer()));
      return reply();
    }),
  );
  return seen;
}

async function failure(promise: Promise<unknown>): Promise<SyncError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof SyncError)) throw new Error(`expected a SyncError, got ${String(error)}`);
  return error;
}

beforeEach(() => clearTokenCache());

describe("getToken", () => {
  it("reads the token, the instance URL without its trailing slash and the integration user", async () => {
    const seen = endpoint(() => HttpResponse.json(TOKEN));
    const token = await getToken(settings, 1_000);
    expect(token).toEqual({
      accessToken: "00Dxx!token",
      instanceUrl: "https://token-unit.my.salesforce.test",
      obtainedAt: 1_000,
      userId: "005000000000777AAA",
    });
    const form = new URLSearchParams(seen.forms[0]);
    expect([form.get("grant_type"), form.get("client_id"), form.get("client_secret")]).toEqual([
      "client_credentials",
      "unit-client",
      "unit-secret-never-shown",
    ]);
  });

  it("reuses a token for ten minutes, then asks again; after invalidateToken at once", async () => {
    const seen = endpoint(() => HttpResponse.json(TOKEN));
    await getToken(settings, 0);
    await getToken(settings, 10 * 60 * 1000 - 1);
    expect(seen.requests).toBe(1);
    const renewed = await getToken(settings, 10 * 60 * 1000);
    expect(seen.requests).toBe(2);
    expect(renewed.obtainedAt).toBe(10 * 60 * 1000);
    invalidateToken(settings);
    await getToken(settings);
    expect(seen.requests).toBe(3);
  });

  it("leaves the user out when the identity URL does not name one", async () => {
    endpoint(() => HttpResponse.json({ ...TOKEN, id: "https://login.salesforce.com/id/broken" }));
    expect((await getToken(settings, 0)).userId).toBeUndefined();
    clearTokenCache();
    const { id: _id, ...withoutId } = TOKEN;
    endpoint(() => HttpResponse.json(withoutId));
    expect(await getToken(settings, 0)).not.toHaveProperty("userId");
  });

  it("refused credentials are auth_failed, not retried, with OAuth's reason and never the secret", async () => {
    endpoint(() =>
      HttpResponse.json({ error: "invalid_client", error_description: "invalid client credentials" }, { status: 400 }),
    );
    const error = await failure(getToken(settings, 0));
    expect(error).toMatchObject({ code: "auth_failed", retryable: false, status: 502 });
    expect(error.message).toBe("Salesforce token request failed: invalid_client: invalid client credentials");
    expect(JSON.stringify({ message: error.message, detail: error.detail })).not.toContain("unit-secret");
    endpoint(() => HttpResponse.json({ error: "invalid_grant" }, { status: 400 }));
    expect((await failure(getToken(settings, 0))).message).toBe("Salesforce token request failed: invalid_grant");
  });

  it("an outage or a rate limit at the token endpoint is retried; its body need not be JSON", async () => {
    endpoint(() => new HttpResponse("<html>Service Unavailable</html>", { status: 503 }));
    expect(await failure(getToken(settings, 0))).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: "Salesforce token request failed: HTTP 503",
    });
    endpoint(() => HttpResponse.json({ error: "rate_limited" }, { status: 429 }));
    expect(await failure(getToken(settings, 0))).toMatchObject({ code: "upstream_unavailable", retryable: true });
  });

  it("a 200 without access_token or instance_url is auth_failed, and nothing is cached", async () => {
    const seen = endpoint(() => HttpResponse.json({ access_token: "t" }));
    expect(await failure(getToken(settings, 0))).toMatchObject({
      code: "auth_failed",
      message: "Salesforce token response has no access_token/instance_url",
    });
    await failure(getToken(settings, 0));
    expect(seen.requests).toBe(2);
  });

  it("an endpoint that cannot be reached is upstream_unavailable", async () => {
    endpoint(() => HttpResponse.error());
    const error = await failure(getToken({ ...settings, timeoutMs: 5_000 }, 0));
    expect(error).toMatchObject({ code: "upstream_unavailable", retryable: true });
    expect(error.message).toMatch(/^Salesforce token endpoint unreachable: /);
  });
});
