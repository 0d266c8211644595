import { HttpResponse, http } from "msw";
import created from "../../fixtures/salesforce/create-contact-201.json";
import invalidSession from "../../fixtures/salesforce/error-invalid-session-401.json";
import token from "../../fixtures/salesforce/oauth-token-client-credentials.json";
import emptyQuery from "../../fixtures/salesforce/query-contact-by-email-empty.json";

export const SF_LOGIN = "https://acme.my.salesforce.test";
export const SF_INSTANCE = token.instance_url;
const API = `${SF_INSTANCE}/services/data/v62.0`;

/** Salesforce ids are unique across the org's life, so the fake never reuses one either. */
let nextId = 1;

export interface SalesforceCall {
  method: string;
  path: string;
  callOptions: string | null;
  body: unknown;
}

/**
 * A stateful stand-in for Salesforce's token endpoint and the Contact REST calls of the slice,
 * built from recorded-shape fixtures. Tokens are checked on every call, so `expireTokens()` makes
 * the next call answer 401 INVALID_SESSION_ID as Salesforce does.
 */
export function fakeSalesforce(options: { rejectCreateWith?: { errorCode: string; message: string } } = {}) {
  const contacts = new Map<string, Record<string, unknown>>();
  const calls: SalesforceCall[] = [];
  const validTokens = new Set<string>();
  let tokensIssued = 0;

  const authorized = (request: {
    method: string;
    url: string;
    headers: Headers;
    clone(): { text(): Promise<string> };
  }) => {
    const bearer = request.headers.get("authorization")?.replace(/^Bearer /, "");
    return bearer !== undefined && validTokens.has(bearer);
  };
  const log = async (request: {
    method: string;
    url: string;
    headers: Headers;
    clone(): { text(): Promise<string> };
  }) => {
    const text = request.method === "GET" ? "" : await request.clone().text();
    calls.push({
      method: request.method,
      path: new URL(request.url).pathname,
      callOptions: request.headers.get("sforce-call-options"),
      body: text ? JSON.parse(text) : null,
    });
  };
  const unauthorized = () => HttpResponse.json(invalidSession, { status: 401 });
  const limitInfo = { "sforce-limit-info": `api-usage=${calls.length}/15000` };

  const handlers = [
    http.post(`${SF_LOGIN}/services/oauth2/token`, async ({ request }) => {
      const form = new URLSearchParams(await request.text());
      if (form.get("grant_type") !== "client_credentials" || form.get("client_secret") !== "test-client-secret") {
        return HttpResponse.json(
          { error: "invalid_client", error_description: "invalid client credentials" },
          { status: 400 },
        );
      }
      tokensIssued += 1;
      const accessToken = `${token.access_token}-${tokensIssued}`;
      validTokens.add(accessToken);
      return HttpResponse.json({ ...token, access_token: accessToken });
    }),
    http.get(`${API}/query`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const soql = new URL(request.url).searchParams.get("q") ?? "";
      const email = /Email = '((?:[^'\\]|\\.)*)'/.exec(soql)?.[1]?.replace(/\\(.)/g, "$1");
      const records = [...contacts.entries()]
        .filter(([, fields]) => email !== undefined && fields.Email === email)
        .map(([id, fields]) => ({
          attributes: { type: "Contact", url: `/services/data/v62.0/sobjects/Contact/${id}` },
          Id: id,
          ...fields,
        }));
      return HttpResponse.json({ ...emptyQuery, totalSize: records.length, records }, { headers: limitInfo });
    }),
    http.post(`${API}/sobjects/Contact`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      if (options.rejectCreateWith)
        return HttpResponse.json([{ ...options.rejectCreateWith, fields: [] }], { status: 400 });
      const fields = (await request.json()) as Record<string, unknown>;
      const id = `${created.id.slice(0, 15 - String(nextId).length)}${nextId}AAA`; // 18 chars, Contact prefix 003
      nextId += 1;
      contacts.set(id, fields);
      return HttpResponse.json({ ...created, id }, { status: 201, headers: limitInfo });
    }),
    http.patch(`${API}/sobjects/Contact/:id`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const id = String(params.id);
      const existing = contacts.get(id);
      if (!existing)
        return HttpResponse.json([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }], {
          status: 404,
        });
      contacts.set(id, { ...existing, ...((await request.json()) as Record<string, unknown>) });
      return new HttpResponse(null, { status: 204, headers: limitInfo });
    }),
  ];

  return {
    handlers,
    contacts,
    calls,
    get tokensIssued() {
      return tokensIssued;
    },
    /** Every token issued so far stops working, as after a session timeout. */
    expireTokens() {
      validTokens.clear();
    },
    writes() {
      return calls.filter((c) => c.method !== "GET");
    },
  };
}
