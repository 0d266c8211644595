import { HttpResponse, http } from "msw";
import created from "../../fixtures/salesforce/create-contact-201.json";
import describeAccount from "../../fixtures/salesforce/describe-account.json";
import describeContact from "../../fixtures/salesforce/describe-contact.json";
import describeOpportunity from "../../fixtures/salesforce/describe-opportunity.json";
import invalidSession from "../../fixtures/salesforce/error-invalid-session-401.json";
import token from "../../fixtures/salesforce/oauth-token-client-credentials.json";
import emptyQuery from "../../fixtures/salesforce/query-contact-by-email-empty.json";

export const SF_LOGIN = "https://acme.my.salesforce.test";
export const SF_INSTANCE = token.instance_url;
const API = `${SF_INSTANCE}/services/data/v62.0`;
const DESCRIBES: Record<string, unknown> = {
  Account: describeAccount,
  Contact: describeContact,
  Opportunity: describeOpportunity,
};

/** Salesforce ids are unique across the org's life, so the fake never reuses one either. */
let nextId = 1;

export interface SalesforceCall {
  method: string;
  path: string;
  callOptions: string | null;
  body: unknown;
}

type IncomingRequest = {
  method: string;
  url: string;
  headers: Headers;
  clone(): { text(): Promise<string> };
};

/**
 * A stateful stand-in for Salesforce's token endpoint and the Contact calls of the sync engine
 * (describe, SOQL by Id and by Email, sObject Collections create/update), answering in the recorded
 * shapes. Tokens are checked on every call, so `expireTokens()` makes the next call answer 401
 * INVALID_SESSION_ID as Salesforce does.
 */
export function fakeSalesforce(
  options: {
    rejectCreateWith?: { statusCode: string; message: string };
    /** The connected app's credentials the token endpoint accepts (default: the test env's). */
    clientId?: string;
    clientSecret?: string;
    /** Issued access tokens are `<prefix>-<n>` (default: the recorded fixture's token). */
    accessTokenPrefix?: string;
  } = {},
) {
  const clientId = options.clientId ?? "test-client-id";
  const clientSecret = options.clientSecret ?? "test-client-secret";
  const accessTokenPrefix = options.accessTokenPrefix ?? token.access_token;
  let rejectCreateWith = options.rejectCreateWith;
  const contacts = new Map<string, Record<string, unknown>>();
  /** Merge losers (now in the Recycle Bin) and their master. */
  const merged = new Map<string, string>();
  const calls: SalesforceCall[] = [];
  const validTokens = new Set<string>();
  let tokensIssued = 0;

  const authorized = (request: IncomingRequest) => {
    const bearer = request.headers.get("authorization")?.replace(/^Bearer /, "");
    return bearer !== undefined && validTokens.has(bearer);
  };
  const log = async (request: IncomingRequest) => {
    const text = request.method === "GET" ? "" : await request.clone().text();
    calls.push({
      method: request.method,
      path: new URL(request.url).pathname,
      callOptions: request.headers.get("sforce-call-options"),
      body: text ? JSON.parse(text) : null,
    });
  };
  const unauthorized = () => HttpResponse.json(invalidSession, { status: 401 });
  const limitInfo = () => ({ "sforce-limit-info": `api-usage=${calls.length}/15000` });
  const stamp = () => new Date().toISOString().replace("Z", "+0000");
  const row = (id: string, fields: Record<string, unknown>) => ({
    attributes: { type: "Contact", url: `/services/data/v62.0/sobjects/Contact/${id}` },
    Id: id,
    ...fields,
  });

  const handlers = [
    http.post(`${SF_LOGIN}/services/oauth2/token`, async ({ request }) => {
      const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
      if (
        form.get("grant_type") !== "client_credentials" ||
        form.get("client_id") !== clientId ||
        form.get("client_secret") !== clientSecret
      ) {
        return HttpResponse.json(
          { error: "invalid_client", error_description: "invalid client credentials" },
          { status: 400 },
        );
      }
      tokensIssued += 1;
      const accessToken = `${accessTokenPrefix}-${tokensIssued}`;
      validTokens.add(accessToken);
      return HttpResponse.json({ ...token, access_token: accessToken });
    }),
    http.get(`${API}/sobjects/:object/describe`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const describe = DESCRIBES[String(params.object)];
      if (!describe)
        return HttpResponse.json([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }], {
          status: 404,
        });
      return HttpResponse.json(describe, { headers: limitInfo() });
    }),
    http.get(`${API}/query`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const soql = new URL(request.url).searchParams.get("q") ?? "";
      // Only Contacts are stored; every other object is an empty org.
      if (!/ FROM Contact /.test(`${soql} `)) return HttpResponse.json({ ...emptyQuery }, { headers: limitInfo() });
      const since = /\(SystemModstamp > (\S+) OR \(SystemModstamp = \S+ AND Id > '([^']*)'\)\)/.exec(soql);
      if (since) {
        const stamp = Date.parse(since[1] ?? "");
        const afterId = since[2] ?? "";
        const limit = Number(/LIMIT (\d+)/.exec(soql)?.[1] ?? 2000);
        const time = (fields: Record<string, unknown>) =>
          Date.parse(String(fields.SystemModstamp).replace("+0000", "Z"));
        const records = [...contacts.entries()]
          .filter(([id, f]) => time(f) > stamp || (time(f) === stamp && id > afterId))
          .sort(([a, fa], [b, fb]) => time(fa) - time(fb) || (a < b ? -1 : 1))
          .slice(0, limit)
          .map(([id, f]) => row(id, { SystemModstamp: f.SystemModstamp }));
        return HttpResponse.json({ ...emptyQuery, totalSize: records.length, records }, { headers: limitInfo() });
      }
      const where = /WHERE (Id|Email) IN \((.*)\)/.exec(soql);
      if (!where) throw new Error(`fake Salesforce: unsupported SOQL ${soql}`);
      const field = where[1] as string;
      const wanted = [...(where[2] ?? "").matchAll(/'((?:[^'\\]|\\.)*)'/g)].map((m) =>
        (m[1] ?? "").replace(/\\(.)/g, "$1"),
      );
      // Like Salesforce, every selected field is in the row, null when empty.
      const selected = (/^SELECT (.*) FROM/.exec(soql)?.[1] ?? "Id").split(",").map((f) => f.trim());
      const records = [...contacts.entries()]
        .filter(([id, fields]) => wanted.includes(String(field === "Id" ? id : fields[field])))
        .map(([id, fields]) =>
          row(id, Object.fromEntries(selected.filter((f) => f !== "Id").map((f) => [f, fields[f] ?? null]))),
        );
      return HttpResponse.json({ ...emptyQuery, totalSize: records.length, records }, { headers: limitInfo() });
    }),
    http.get(`${API}/queryAll`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const soql = new URL(request.url).searchParams.get("q") ?? "";
      if (!/IsDeleted = true AND Id IN/.test(soql)) throw new Error(`fake Salesforce: unsupported queryAll ${soql}`);
      const wanted = [...soql.matchAll(/'([^']*)'/g)].map((m) => m[1] ?? "");
      const records = wanted
        .filter((id) => merged.has(id))
        .map((id) => ({ ...row(id, {}), MasterRecordId: merged.get(id) ?? null }));
      return HttpResponse.json({ ...emptyQuery, totalSize: records.length, records }, { headers: limitInfo() });
    }),
    http.get(`${API}/sobjects/:object/deleted`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const url = new URL(request.url);
      const start = url.searchParams.get("start") ?? "";
      const end = url.searchParams.get("end") ?? "";
      return HttpResponse.json(
        { deletedRecords: [], earliestDateAvailable: start, latestDateCovered: end },
        { headers: limitInfo() },
      );
    }),
    http.post(`${API}/composite/sobjects`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const body = (await request.json()) as { records: Record<string, unknown>[] };
      const results = body.records.map((input) => {
        if (rejectCreateWith) return { success: false, errors: [{ ...rejectCreateWith, fields: [] }] };
        const { attributes: _attributes, ...fields } = input;
        if (!fields.LastName) {
          return {
            success: false,
            errors: [
              {
                statusCode: "REQUIRED_FIELD_MISSING",
                message: "Required fields are missing: [LastName]",
                fields: ["LastName"],
              },
            ],
          };
        }
        const id = `${created.id.slice(0, 15 - String(nextId).length)}${nextId}AAA`; // 18 chars, Contact prefix 003
        nextId += 1;
        contacts.set(id, { ...fields, LastModifiedDate: stamp(), SystemModstamp: stamp() });
        return { id, success: true, errors: [] };
      });
      return HttpResponse.json(results, { headers: limitInfo() });
    }),
    http.patch(`${API}/composite/sobjects`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const body = (await request.json()) as { records: Record<string, unknown>[] };
      const results = body.records.map((input) => {
        const { attributes: _attributes, Id, id: lower, ...fields } = input;
        const id = String(Id ?? lower);
        const existing = contacts.get(id);
        if (!existing)
          return {
            id,
            success: false,
            errors: [{ statusCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] }],
          };
        contacts.set(id, { ...existing, ...fields, LastModifiedDate: stamp(), SystemModstamp: stamp() });
        return { id, success: true, errors: [] };
      });
      return HttpResponse.json(results, { headers: limitInfo() });
    }),
  ];

  return {
    handlers,
    contacts,
    calls,
    get tokensIssued() {
      return tokensIssued;
    },
    /** From now on every create is rejected with this error (undefined: accepted again). */
    rejectCreates(error: { statusCode: string; message: string } | undefined) {
      rejectCreateWith = error;
    },
    /** A user merges `loserId` into `masterId`: the loser goes to the Recycle Bin with its MasterRecordId. */
    merge(masterId: string, loserId: string) {
      contacts.delete(loserId);
      merged.set(loserId, masterId);
    },
    /** Every token issued so far stops working, as after a session timeout. */
    expireTokens() {
      validTokens.clear();
    },
    writes() {
      return calls.filter((c) => c.method !== "GET");
    },
    /** The fields sent for each written record, in order (Collections bodies unwrapped). */
    writtenRecords() {
      return this.writes().flatMap((c) =>
        ((c.body as { records?: Record<string, unknown>[] })?.records ?? []).map(({ attributes: _a, ...f }) => f),
      );
    },
  };
}
