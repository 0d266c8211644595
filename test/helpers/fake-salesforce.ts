import { HttpResponse, http } from "msw";
import created from "../../fixtures/salesforce/create-contact-201.json";
import describeAccount from "../../fixtures/salesforce/describe-account.json";
import describeContact from "../../fixtures/salesforce/describe-contact.json";
import describeOpportunity from "../../fixtures/salesforce/describe-opportunity.json";
import invalidSession from "../../fixtures/salesforce/error-invalid-session-401.json";
import token from "../../fixtures/salesforce/oauth-token-client-credentials.json";
import emptyQuery from "../../fixtures/salesforce/query-contact-by-email-empty.json";
// The sandbox emulator's RFC 4180 reader/writer, independent of the client's own CSV code.
import { parseCsv, writeCsv } from "../../scripts/sandbox/salesforce/csv.ts";
import { SfError } from "../../scripts/sandbox/salesforce/errors.ts";
import {
  buildField,
  describe as describeSObject,
  type FieldDef,
  OrgSchema,
} from "../../scripts/sandbox/salesforce/schema.ts";
import {
  parseSoql,
  type RecordSource,
  type SoqlQuery,
  selectRecords,
  valueAt,
} from "../../scripts/sandbox/salesforce/soql.ts";
import type { SfRecord } from "../../scripts/sandbox/salesforce/store.ts";

export const SF_LOGIN = "https://acme.my.salesforce.test";
export const SF_INSTANCE = token.instance_url;
const API = `${SF_INSTANCE}/services/data/v62.0`;
const DESCRIBES: Record<string, { fields: Record<string, unknown>[] }> = {
  Account: describeAccount,
  Contact: describeContact,
  Opportunity: describeOpportunity,
};

/**
 * The longest request target (path and query string) Salesforce serves: a longer one is answered
 * 414 URI Too Long before any API logic runs (the sandbox emulator's MAX_REQUEST_TARGET_BYTES; the
 * sObject Collections retrieve page puts it as "about 800 ids" in a GET).
 */
const MAX_REQUEST_TARGET_BYTES = 16_384;

/** The UTF-8 bytes of a URL's path and query, as they go on the request line. */
function targetBytes(url: string): number {
  const { pathname, search } = new URL(url);
  return new TextEncoder().encode(pathname + search).length;
}

/** The describe entries the fake's write checks read. */
interface DescribedField {
  name: string;
  label: string;
  type: string;
  length: number;
  restrictedPicklist?: boolean;
  picklistValues?: { active: boolean; value: string }[];
}

/** A State & Country picklist's country code field, shaped like the recorded Account describe. */
function countryCodeField(name: string, compound: string, codes: readonly string[]): Record<string, unknown> {
  return {
    name,
    label: name.replace(/([a-z])([A-Z])/g, "$1 $2"),
    type: "picklist",
    length: 10,
    precision: 0,
    scale: 0,
    nillable: true,
    createable: true,
    updateable: true,
    defaultedOnCreate: false,
    externalId: false,
    unique: false,
    compoundFieldName: compound,
    controllerName: null,
    dependentPicklist: false,
    restrictedPicklist: true,
    referenceTo: [],
    relationshipName: null,
    picklistValues: codes.map((value) => ({ active: true, defaultValue: false, label: value, validFor: null, value })),
  };
}

/** Salesforce ids are unique across the org's life, so the fake never reuses one either. */
let nextId = 1;

export interface SalesforceCall {
  method: string;
  path: string;
  callOptions: string | null;
  /** JSON bodies parsed; other bodies (Bulk API CSV) as text. */
  body: unknown;
}

/** A Bulk API 2.0 ingest job of the fake (Contacts only). */
interface FakeBulkJob {
  id: string;
  object: string;
  operation: "insert" | "update" | "upsert";
  externalIdFieldName: string | null;
  state: "Open" | "UploadComplete" | "InProgress" | "JobComplete" | "Failed" | "Aborted";
  uploads: number;
  header: string[];
  rows: string[][];
  successful: Array<{ id: string; created: boolean; row: string[] }>;
  failed: Array<{ id: string; error: string; row: string[] }>;
  createdDate: string;
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
 *
 * Bulk API 2.0 ingest jobs (Contact insert/update/upsert) move one state per poll (UploadComplete ->
 * InProgress -> JobComplete), so a closed job completes on its second poll. Results list rows last
 * first (Salesforce does not keep the upload order). A job whose CSV has a column `Nope__c` (not a
 * Contact field) ends Failed, every row unprocessed.
 */
/** The test org: a new org plus the custom fields its describe fixtures show, as an admin adds them. */
function testOrg(attioRecordIdField: boolean): OrgSchema {
  const org = new OrgSchema();
  const add = (object: string, field: FieldDef) => org.sobject(object)?.fields.push(field);
  add("Contact", buildField("LinkedIn__c", "url", "cun", { length: 255 }));
  for (const object of ["Account", "Contact", "Opportunity"]) {
    add(object, buildField("Attio_Id__c", "string", "cunxq", { length: 36 }));
  }
  if (attioRecordIdField) add("Contact", buildField(ATTIO_RECORD_ID, "string", "cunxq", { length: 36 }));
  return org;
}

/** The External ID field `npm run setup` offers to create (Text(36), unique, External ID). */
const ATTIO_RECORD_ID = "Attio_Record_Id__c";

/** Contact's describe field of ATTIO_RECORD_ID, in the recorded describe's shape. */
const attioRecordIdDescribe = {
  name: ATTIO_RECORD_ID,
  label: "Attio Record Id",
  type: "string",
  length: 36,
  precision: 0,
  scale: 0,
  nillable: true,
  createable: true,
  updateable: true,
  defaultedOnCreate: false,
  externalId: true,
  unique: true,
  compoundFieldName: null,
  controllerName: null,
  dependentPicklist: false,
  restrictedPicklist: false,
  referenceTo: [],
  relationshipName: null,
  picklistValues: [],
};

function asRecord(id: string, fields: Record<string, unknown>, deleted: boolean): SfRecord {
  return { id, object: "Contact", fields: { ...fields, Id: id, IsDeleted: deleted }, deleted };
}

export function fakeSalesforce(
  options: {
    rejectCreateWith?: { statusCode: string; message: string };
    /** The connected app's credentials the token endpoint accepts (default: the test env's). */
    clientId?: string;
    clientSecret?: string;
    /** Issued access tokens are `<prefix>-<n>` (default: the recorded fixture's token). */
    accessTokenPrefix?: string;
    /**
     * State & Country/Territory picklists on, with only these country codes active: describe lists
     * BillingCountryCode and MailingCountryCode (restricted picklists, as in the recorded describe),
     * and a Contact written with another code is refused as Salesforce refuses it.
     */
    countryCodes?: readonly string[];
    /** Contact has the External ID field Attio_Record_Id__c (as `npm run setup` creates it). */
    attioRecordIdField?: boolean;
    /**
     * The entities selected for Change Data Capture on the standard channel, as change event names
     * (PlatformEventChannelMember.SelectedEntity); default AccountChangeEvent, ContactChangeEvent,
     * OpportunityChangeEvent.
     */
    cdcEntities?: readonly string[];
    /** The integration user's field-level security, e.g. `{ "Contact.Email": { updateable: false } }`. */
    fieldAccess?: Readonly<Record<string, { createable?: boolean; updateable?: boolean }>>;
    /** The integration user lacks View Setup and Configuration: Tooling API queries are refused. */
    noSetupAccess?: boolean;
  } = {},
) {
  const cdcEntities = options.cdcEntities ?? ["AccountChangeEvent", "ContactChangeEvent", "OpportunityChangeEvent"];
  /** A field's describe entry with the integration user's access applied. */
  const withAccess = (object: string, field: Record<string, unknown>): Record<string, unknown> => {
    const access = options.fieldAccess?.[`${object}.${String(field["name"])}`];
    return access ? { ...field, ...access } : field;
  };
  const clientId = options.clientId ?? "test-client-id";
  const clientSecret = options.clientSecret ?? "test-client-secret";
  const accessTokenPrefix = options.accessTokenPrefix ?? token.access_token;
  let rejectCreateWith = options.rejectCreateWith;
  const contacts = new Map<string, Record<string, unknown>>();
  const org = testOrg(options.attioRecordIdField ?? false);
  const countryCodes = options.countryCodes;
  if (countryCodes) {
    const values = countryCodes.map((value) => ({ value, label: value, defaultValue: false }));
    for (const [object, name] of [
      ["Account", "BillingCountryCode"],
      ["Contact", "MailingCountryCode"],
    ] as const) {
      org.sobject(object)?.fields.push(buildField(name, "picklist", "cunr", { length: 10, picklist: values }));
    }
  }
  const describes: Record<string, { fields: Record<string, unknown>[] }> = Object.fromEntries(
    Object.entries(DESCRIBES).map(([object, describe]) => [
      object,
      {
        ...describe,
        fields: [
          ...describe.fields,
          ...(countryCodes && object === "Account"
            ? [countryCodeField("BillingCountryCode", "BillingAddress", countryCodes)]
            : []),
          ...(countryCodes && object === "Contact"
            ? [countryCodeField("MailingCountryCode", "MailingAddress", countryCodes)]
            : []),
        ],
      },
    ]),
  );
  /** Query faults: the SOQL of a query that contains `text` is refused with `error` (HTTP 400). */
  const refusals: { text: string; error: { errorCode: string; message: string } }[] = [];
  let refusedQueries = 0;
  let urisTooLong = 0;
  /** Merge losers (now in the Recycle Bin) and their master. */
  const merged = new Map<string, string>();
  /** Contacts a user deleted (in the Recycle Bin: only queryAll returns them, with IsDeleted = true). */
  const binned = new Map<string, Record<string, unknown>>();
  /** Contacts the integration user cannot see (sharing): neither query nor queryAll returns them. */
  const hidden = new Set<string>();
  /** One-shot hooks run after a query is answered (a person's edit landing right after our read). */
  const afterQueries: { pattern: RegExp; fn: () => void }[] = [];
  const calls: SalesforceCall[] = [];
  const bulkJobs = new Map<string, FakeBulkJob>();
  let nextJob = 1;
  const validTokens = new Set<string>();
  let tokensIssued = 0;
  let pendingHangs = 0;
  /** Collections creates whose answer is lost after Salesforce committed them (the connection drops). */
  let lostAnswers = 0;
  /** A query that never answers, until the caller gives up and aborts it (an answer it must never see). */
  const hang = (signal: AbortSignal) => {
    if (pendingHangs === 0) return undefined;
    pendingHangs -= 1;
    return new Promise<Response>((resolve) => {
      signal.addEventListener("abort", () => resolve(HttpResponse.json({ ...emptyQuery })), { once: true });
    });
  };

  const authorized = (request: IncomingRequest) => {
    const bearer = request.headers.get("authorization")?.replace(/^Bearer /, "");
    return bearer !== undefined && validTokens.has(bearer);
  };
  const log = async (request: IncomingRequest) => {
    const text = request.method === "GET" ? "" : await request.clone().text();
    const json = (request.headers.get("content-type") ?? "application/json").includes("json");
    calls.push({
      method: request.method,
      path: new URL(request.url).pathname,
      callOptions: request.headers.get("sforce-call-options"),
      body: text ? (json ? JSON.parse(text) : text) : null,
    });
  };
  const unauthorized = () => HttpResponse.json(invalidSession, { status: 401 });
  const bulkNotFound = () =>
    HttpResponse.json([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }], { status: 404 });
  const invalidJobState = (message: string) =>
    HttpResponse.json([{ errorCode: "INVALIDJOBSTATE", message }], { status: 409 });
  const limitInfo = () => ({ "sforce-limit-info": `api-usage=${calls.length}/15000` });
  const stamp = () => new Date().toISOString().replace("Z", "+0000");
  /** Who created a record and when: the integration user the token names. */
  const createdStamp = () => ({ CreatedDate: stamp(), CreatedById: token.id.split("/").at(-1) });
  const newId = () => {
    // 18 chars, Contact prefix 003, the number zero-padded so that ids never collide.
    const id = `${created.id.slice(0, 5)}${String(nextId).padStart(10, "0")}AAA`;
    nextId += 1;
    return id;
  };
  const row = (id: string, fields: Record<string, unknown>) => ({
    attributes: { type: "Contact", url: `/services/data/v62.0/sobjects/Contact/${id}` },
    Id: id,
    ...fields,
  });

  /** Contacts as the sandbox's SOQL engine reads records; merge losers are in the Recycle Bin. */
  const records: RecordSource = {
    all: (object, includeDeleted = false) => {
      if (object !== "Contact") return [];
      const live = [...contacts.entries()]
        .filter(([id]) => !hidden.has(id))
        .map(([id, fields]) => asRecord(id, fields, false));
      const bin = includeDeleted
        ? [
            ...[...merged.entries()].map(([id, master]) => asRecord(id, { MasterRecordId: master }, true)),
            ...[...binned.entries()].map(([id, fields]) => asRecord(id, { ...fields, MasterRecordId: null }, true)),
          ]
        : [];
      return [...live, ...bin];
    },
    find: (id) => {
      const fields = hidden.has(id) ? undefined : contacts.get(id);
      return fields ? asRecord(id, fields, false) : undefined;
    },
  };
  /**
   * SOQL through the sandbox emulator's parser and evaluator (scripts/sandbox/salesforce/soql.ts),
   * which refuse what Salesforce refuses (an Id compared with '', an unknown field, a quoted
   * dateTime) with Salesforce's error body. Only Contacts are stored; other objects are empty.
   */
  const uriTooLong = () => {
    urisTooLong += 1;
    return new HttpResponse(
      "<html><head><title>414 URI Too Long</title></head><body><h1>URI Too Long</h1></body></html>",
      { status: 414, headers: { "content-type": "text/html;charset=UTF-8" } },
    );
  };
  const answerQuery = (soql: string, all: boolean) => {
    const refusal = refusals.find((r) => soql.includes(r.text));
    if (refusal) {
      refusedQueries += 1;
      return HttpResponse.json([refusal.error], { status: 400, headers: limitInfo() });
    }
    let parsed: SoqlQuery;
    try {
      parsed = parseSoql(soql, org);
    } catch (err) {
      if (err instanceof SfError) {
        const reply = err.reply();
        return HttpResponse.json(reply.body as object, { status: reply.status, headers: limitInfo() });
      }
      throw err;
    }
    const selected = selectRecords(parsed, all, records).map((record) => {
      const fields: Record<string, unknown> = {};
      for (const path of parsed.fields) {
        if (path.target.name !== "Id") fields[path.names.join(".")] = valueAt(record, path, records.find) ?? null;
      }
      return row(record.id, fields);
    });
    return HttpResponse.json(
      { ...emptyQuery, totalSize: selected.length, records: parsed.count ? [] : selected },
      { headers: limitInfo() },
    );
  };

  /**
   * What Salesforce refuses in a Contact's written values, checked against the Contact's describe:
   * a text longer than the field, a value a restricted picklist does not list. Every refused field
   * is reported, each error naming its field, as Salesforce does.
   */
  const fieldErrors = (fields: Record<string, unknown>) => {
    const errors: { statusCode: string; message: string; fields: string[] }[] = [];
    for (const [name, value] of Object.entries(fields)) {
      const def = describes["Contact"]?.fields.find((f) => f["name"] === name) as DescribedField | undefined;
      if (!def || typeof value !== "string" || value === "") continue;
      const listed = (def.picklistValues ?? []).filter((v) => v.active).map((v) => v.value);
      if (def.type === "picklist" && def.restrictedPicklist && !listed.includes(value)) {
        errors.push({
          statusCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
          message: `${def.label}: bad value for restricted picklist field: ${value}`,
          fields: [name],
        });
      } else if (def.length > 0 && value.length > def.length) {
        errors.push({
          statusCode: "STRING_TOO_LONG",
          message: `${def.label}: data value too large: ${value.slice(0, 40)} (max length=${def.length})`,
          fields: [name],
        });
      }
    }
    return errors;
  };

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
      // Objects without a recorded describe (User) are described as the sandbox org has them.
      const def = org.sobject(String(params["object"]));
      let describe =
        describes[String(params["object"])] ??
        (def ? (describeSObject(def, "62.0") as { fields: Record<string, unknown>[] }) : undefined);
      if (describe && options.attioRecordIdField && params["object"] === "Contact") {
        describe = { ...describe, fields: [...describe.fields, attioRecordIdDescribe] };
      }
      if (!describe)
        return HttpResponse.json([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }], {
          status: 404,
        });
      const object = String(params["object"]);
      return HttpResponse.json(
        { ...describe, fields: describe.fields.map((f) => withAccess(object, f)) },
        { headers: limitInfo() },
      );
    }),
    // The Versions resource: every API version the org serves (REST API Developer Guide, "Versions").
    http.get(`${SF_INSTANCE}/services/data/`, async ({ request }) => {
      await log(request);
      return HttpResponse.json(
        ["59.0", "60.0", "61.0", "62.0"].map((version) => ({
          label: "Winter '25",
          url: `/services/data/v${version}`,
          version,
        })),
      );
    }),
    /*
     * Tooling API SOQL, for PlatformEventChannelMember only (the CDC selection: "Get the Number of
     * Selected Entities" in the Change Data Capture Developer Guide). Querying it needs View Setup
     * and Configuration; a field or object the fake does not model is refused as Salesforce does.
     */
    http.get(`${API}/tooling/query`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const soql = new URL(request.url).searchParams.get("q") ?? "";
      const match = /^SELECT\s+([\w\s,]+?)\s+FROM\s+PlatformEventChannelMember\s*$/i.exec(soql.trim());
      if (!match?.[1]) {
        return HttpResponse.json(
          [{ errorCode: "INVALID_TYPE", message: `sObject type not supported by the fake: ${soql}` }],
          { status: 400 },
        );
      }
      if (options.noSetupAccess) {
        return HttpResponse.json(
          [{ errorCode: "INSUFFICIENT_ACCESS", message: "insufficient access rights on object id" }],
          { status: 403 },
        );
      }
      const fields = match[1].split(",").map((f) => f.trim());
      const known = ["Id", "DeveloperName", "SelectedEntity"];
      const unknown = fields.find((f) => !known.includes(f));
      if (unknown) {
        return HttpResponse.json(
          [
            {
              errorCode: "INVALID_FIELD",
              message: `No such column '${unknown}' on entity 'PlatformEventChannelMember'`,
            },
          ],
          { status: 400 },
        );
      }
      // Members of the standard channel only: the DeveloperName is ChangeEvents_<event name>.
      const rows = cdcEntities.map((entity, i) => {
        const id = `0v8RM00000000${String(i).padStart(2, "0")}AAA`;
        const all: Record<string, string> = {
          Id: id,
          DeveloperName: `ChangeEvents_${entity}`,
          SelectedEntity: entity,
        };
        return {
          attributes: {
            type: "PlatformEventChannelMember",
            url: `/services/data/v62.0/tooling/sobjects/PlatformEventChannelMember/${id}`,
          },
          ...Object.fromEntries(fields.map((f) => [f, all[f]])),
        };
      });
      return HttpResponse.json({
        size: rows.length,
        totalSize: rows.length,
        done: true,
        queryLocator: null,
        entityTypeName: "PlatformEventChannelMember",
        records: rows,
      });
    }),
    http.get(`${API}/query`, async ({ request }) => {
      await log(request);
      if (targetBytes(request.url) > MAX_REQUEST_TARGET_BYTES) return uriTooLong();
      if (!authorized(request)) return unauthorized();
      const hung = hang(request.signal);
      if (hung) return hung;
      const soql = new URL(request.url).searchParams.get("q") ?? "";
      const answer = answerQuery(soql, false);
      const hook = afterQueries.findIndex((h) => h.pattern.test(soql));
      if (hook >= 0) afterQueries.splice(hook, 1)[0]?.fn();
      return answer;
    }),
    http.get(`${API}/queryAll`, async ({ request }) => {
      await log(request);
      if (targetBytes(request.url) > MAX_REQUEST_TARGET_BYTES) return uriTooLong();
      if (!authorized(request)) return unauthorized();
      return answerQuery(new URL(request.url).searchParams.get("q") ?? "", true);
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
        const refused = fieldErrors(fields);
        if (refused.length > 0) return { success: false, errors: refused };
        if (!fields["LastName"]) {
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
        const id = newId();
        contacts.set(id, { ...fields, ...createdStamp(), LastModifiedDate: stamp(), SystemModstamp: stamp() });
        return { id, success: true, errors: [] };
      });
      if (lostAnswers > 0) {
        // Committed, but the answer never comes: the caller gives up (its timeout) and never sees it.
        lostAnswers -= 1;
        return new Promise<Response>((resolve) => {
          request.signal.addEventListener("abort", () => resolve(HttpResponse.json(results)), { once: true });
        });
      }
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
        const refused = fieldErrors(fields);
        if (refused.length > 0) return { id, success: false, errors: refused };
        contacts.set(id, { ...existing, ...fields, LastModifiedDate: stamp(), SystemModstamp: stamp() });
        return { id, success: true, errors: [] };
      });
      return HttpResponse.json(results, { headers: limitInfo() });
    }),
    // sObject Rows update, with the documented weak precondition: `If-Unmodified-Since: <HTTP-date>`
    // updates only a record whose last modified date (whole seconds) is not after it, else 412
    // Precondition Failed and nothing is written; an invalid date is 400.
    http.patch(`${API}/sobjects/:object/:id`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const id = String(params["id"]);
      const existing = params["object"] === "Contact" && !hidden.has(id) ? contacts.get(id) : undefined;
      if (!existing) {
        return HttpResponse.json([{ errorCode: "NOT_FOUND", message: "The requested resource does not exist" }], {
          status: 404,
        });
      }
      const header = request.headers.get("if-unmodified-since");
      if (header !== null) {
        const since = Date.parse(header);
        if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(header) || Number.isNaN(since)) {
          return HttpResponse.json([{ errorCode: "INVALID_HEADER_TYPE", message: "If-Unmodified-Since is invalid" }], {
            status: 400,
          });
        }
        const modified = Date.parse(String(existing["LastModifiedDate"] ?? "").replace("+0000", "Z"));
        if (Math.floor(modified / 1000) * 1000 > since) return new HttpResponse(null, { status: 412 });
      }
      const fields = (await request.json()) as Record<string, unknown>;
      // A refused value is a 400 with sObject Rows' error shape (errorCode, not statusCode).
      const refused = fieldErrors(fields);
      if (refused.length > 0) {
        return HttpResponse.json(
          refused.map((e) => ({ message: e.message, errorCode: e.statusCode, fields: e.fields })),
          { status: 400, headers: limitInfo() },
        );
      }
      contacts.set(id, { ...existing, ...fields, LastModifiedDate: stamp(), SystemModstamp: stamp() });
      return new HttpResponse(null, { status: 204, headers: limitInfo() });
    }),
    // sObject Collections upsert: each record by the External ID field's value it holds.
    http.patch(`${API}/composite/sobjects/:object/:field`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const object = String(params["object"]);
      const field = String(params["field"]);
      const def = org.sobject(object)?.fields.find((f) => f.name.toLowerCase() === field.toLowerCase());
      if (object !== "Contact" || !def?.externalId) {
        return HttpResponse.json(
          [{ errorCode: "INVALID_FIELD", message: `Field ${field} is not an external id field`, fields: [] }],
          { status: 400 },
        );
      }
      const body = (await request.json()) as { records: Record<string, unknown>[] };
      const results = body.records.map((input) => {
        const { attributes: _attributes, ...fields } = input;
        const key = fields[def.name];
        if (typeof key !== "string" || key === "") {
          return {
            success: false,
            errors: [{ statusCode: "MISSING_ARGUMENT", message: `${def.name} not specified`, fields: [] }],
          };
        }
        const found = [...contacts.entries()].find(([, f]) => f[def.name] === key);
        if (found) {
          contacts.set(found[0], { ...found[1], ...fields, LastModifiedDate: stamp(), SystemModstamp: stamp() });
          return { id: found[0], success: true, errors: [], created: false };
        }
        if (!fields["LastName"]) {
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
        const id = newId();
        contacts.set(id, { ...fields, ...createdStamp(), LastModifiedDate: stamp(), SystemModstamp: stamp() });
        return { id, success: true, errors: [], created: true };
      });
      if (lostAnswers > 0) {
        lostAnswers -= 1;
        return new Promise<Response>((resolve) => {
          request.signal.addEventListener("abort", () => resolve(HttpResponse.json(results)), { once: true });
        });
      }
      return HttpResponse.json(results, { headers: limitInfo() });
    }),
    // Bulk API 2.0 ingest, in the documented shapes (JobInfo JSON, CSV results with sf__ columns).
    http.post(`${API}/jobs/ingest`, async ({ request }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const body = (await request.clone().json()) as Record<string, unknown>;
      const operation = body["operation"];
      if (
        body["object"] !== "Contact" ||
        (operation !== "insert" && operation !== "update" && operation !== "upsert")
      ) {
        throw new Error(`fake Salesforce: unsupported bulk job ${JSON.stringify(body)}`);
      }
      if (operation === "upsert" && typeof body["externalIdFieldName"] !== "string") {
        return HttpResponse.json(
          [{ errorCode: "INVALIDJOB", message: "InvalidJob : External ID was blank for upsert" }],
          {
            status: 400,
          },
        );
      }
      const upsertKey = operation === "upsert" ? String(body["externalIdFieldName"]) : undefined;
      const keyField = org.sobject("Contact")?.fields.find((f) => f.name.toLowerCase() === upsertKey?.toLowerCase());
      if (upsertKey !== undefined && !(keyField?.externalId || keyField?.type === "id")) {
        const message = `InvalidJob : Field name provided, ${upsertKey} does not match an External ID field on Contact`;
        return HttpResponse.json([{ errorCode: "INVALIDJOB", message }], { status: 400 });
      }
      const id = `7505f${String(nextJob++).padStart(10, "0")}AAA`;
      const job: FakeBulkJob = {
        id,
        object: "Contact",
        operation,
        externalIdFieldName: operation === "upsert" ? (body["externalIdFieldName"] as string) : null,
        state: "Open",
        uploads: 0,
        header: [],
        rows: [],
        successful: [],
        failed: [],
        createdDate: stamp(),
      };
      bulkJobs.set(id, job);
      return HttpResponse.json(jobInfo(job, false), { headers: limitInfo() });
    }),
    http.put(`${API}/jobs/ingest/:id/batches`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const job = bulkJobs.get(String(params["id"]));
      if (!job) return bulkNotFound();
      if (job.state !== "Open") return invalidJobState(`Job is not open for data upload: ${job.state}`);
      if (!(request.headers.get("content-type") ?? "").startsWith("text/csv")) {
        return HttpResponse.json([{ errorCode: "INVALIDJOB", message: "InvalidJob : Content-Type must be text/csv" }], {
          status: 400,
        });
      }
      const [header = [], ...rows] = parseCsv(await request.text());
      job.uploads += 1;
      job.header = header;
      job.rows = rows;
      return new HttpResponse(null, { status: 201, headers: limitInfo() });
    }),
    http.patch(`${API}/jobs/ingest/:id`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const job = bulkJobs.get(String(params["id"]));
      if (!job) return bulkNotFound();
      const { state } = (await request.json()) as { state?: string };
      if (state === "UploadComplete" && job.state === "Open") {
        if (job.uploads !== 1) {
          return HttpResponse.json(
            [{ errorCode: "INVALIDJOB", message: `Found multipe contents for job: <${job.id}>` }],
            { status: 400 },
          );
        }
        job.state = "UploadComplete";
      } else if (state === "Aborted" && !["JobComplete", "Failed", "Aborted"].includes(job.state)) {
        job.state = "Aborted";
      } else {
        return invalidJobState(`Cannot move a job from ${job.state} to ${String(state)}`);
      }
      return HttpResponse.json(jobInfo(job, false), { headers: limitInfo() });
    }),
    http.get(`${API}/jobs/ingest/:id`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const job = bulkJobs.get(String(params["id"]));
      if (!job) return bulkNotFound();
      if (job.state === "UploadComplete") job.state = "InProgress";
      else if (job.state === "InProgress") processBulk(job);
      return HttpResponse.json(jobInfo(job, true), { headers: limitInfo() });
    }),
    http.get(`${API}/jobs/ingest/:id/:results`, async ({ request, params }) => {
      await log(request);
      if (!authorized(request)) return unauthorized();
      const job = bulkJobs.get(String(params["id"]));
      if (!job) return bulkNotFound();
      if (!["JobComplete", "Failed", "Aborted"].includes(job.state)) {
        return invalidJobState(`Job is not complete: ${job.state}`);
      }
      const original = job.header.map((name) => ({ raw: name }));
      const processed = job.successful.length + job.failed.length;
      let rows: Array<Array<string | null | { raw: string }>>;
      if (params["results"] === "successfulResults" && lostAnswers > 0) {
        // The job committed its rows, but the results never come: the caller gives up (its timeout).
        lostAnswers -= 1;
        return new Promise<Response>((resolve) => {
          request.signal.addEventListener("abort", () => resolve(HttpResponse.text("")), { once: true });
        });
      }
      if (params["results"] === "successfulResults") {
        // Salesforce does not keep the upload order in results: this fake lists them last first.
        const list = [...job.successful].reverse();
        rows = [["sf__Id", "sf__Created", ...original], ...list.map((r) => [r.id, String(r.created), ...r.row])];
      } else if (params["results"] === "failedResults") {
        const list = [...job.failed].reverse();
        rows = [["sf__Id", "sf__Error", ...original], ...list.map((r) => [r.id, r.error, ...r.row])];
      } else if (params["results"] === "unprocessedrecords") {
        rows = [original, ...(job.state === "JobComplete" ? [] : job.rows.slice(processed))];
      } else {
        return bulkNotFound();
      }
      return new HttpResponse(writeCsv(rows), { headers: { "content-type": "text/csv", ...limitInfo() } });
    }),
  ];

  function jobInfo(job: FakeBulkJob, full: boolean) {
    return {
      id: job.id,
      operation: job.operation,
      object: job.object,
      createdById: "005Hs00000A1bCdIAJ",
      createdDate: job.createdDate,
      systemModstamp: job.createdDate,
      state: job.state,
      ...(job.externalIdFieldName ? { externalIdFieldName: job.externalIdFieldName } : {}),
      concurrencyMode: "Parallel",
      contentType: "CSV",
      apiVersion: 62.0,
      contentUrl: `services/data/v62.0/jobs/ingest/${job.id}/batches`,
      lineEnding: "LF",
      columnDelimiter: "COMMA",
      ...(full
        ? {
            jobType: "V2Ingest",
            numberRecordsProcessed: job.successful.length + job.failed.length,
            numberRecordsFailed: job.failed.length,
            retries: 0,
            totalProcessingTime: 0,
            apiActiveProcessingTime: 0,
            apexProcessingTime: 0,
            ...(job.state === "Failed" ? { errorMessage: "InvalidBatch : Field name not found : Nope__c" } : {}),
          }
        : {}),
    };
  }

  /** Writes the job's rows into `contacts`, each on its own, like the Collections handlers. */
  function processBulk(job: FakeBulkJob) {
    if (job.header.includes("Nope__c")) {
      job.state = "Failed";
      return;
    }
    for (const cells of job.rows) {
      const input: Record<string, unknown> = {};
      job.header.forEach((name, index) => {
        const text = cells[index] ?? "";
        if (text !== "") input[name] = text === "#N/A" ? null : text;
      });
      const { Id, ...fields } = input;
      let id = typeof Id === "string" ? Id : "";
      let existing = id ? contacts.get(id) : undefined;
      if (job.operation === "upsert" && job.externalIdFieldName) {
        const key = fields[job.externalIdFieldName];
        const found = [...contacts.entries()].find(
          ([, f]) => key !== undefined && f[job.externalIdFieldName ?? ""] === key,
        );
        if (found) [id, existing] = [found[0], found[1]];
      }
      const refused = fieldErrors(fields);
      if (refused.length > 0) {
        // One failed row lists every error as `CODE:message:Field --`.
        const error = refused.map((e) => `${e.statusCode}:${e.message}:${e.fields.join(",")} --`).join(" ");
        job.failed.push({ id, error, row: cells });
        continue;
      }
      if (job.operation === "update" && !existing) {
        job.failed.push({ id, error: "ENTITY_IS_DELETED:entity is deleted: --", row: cells });
        continue;
      }
      if (!existing) {
        if (rejectCreateWith) {
          job.failed.push({
            id: "",
            error: `${rejectCreateWith.statusCode}:${rejectCreateWith.message}: --`,
            row: cells,
          });
          continue;
        }
        if (!fields["LastName"]) {
          job.failed.push({
            id: "",
            error: "REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --",
            row: cells,
          });
          continue;
        }
        const createdId = newId();
        contacts.set(createdId, { ...fields, ...createdStamp(), LastModifiedDate: stamp(), SystemModstamp: stamp() });
        job.successful.push({ id: createdId, created: true, row: cells });
        continue;
      }
      contacts.set(id, { ...existing, ...fields, LastModifiedDate: stamp(), SystemModstamp: stamp() });
      job.successful.push({ id, created: false, row: cells });
    }
    job.state = "JobComplete";
  }

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
    /** From now on a SOQL query that contains `text` is refused with `error` (HTTP 400, as for an invalid query). */
    refuseQueriesContaining(text: string, error: { errorCode: string; message: string }) {
      refusals.push({ text, error });
    },
    /**
     * An admin deletes a field: from now on a query naming it is refused (INVALID_FIELD), while
     * describes read before (and cached) still list it.
     */
    deleteField(object: string, name: string) {
      const def = org.sobject(object);
      if (def) def.fields = def.fields.filter((f) => f.name !== name);
    },
    /** Queries refused by refuseQueriesContaining. */
    get refusedQueries() {
      return refusedQueries;
    },
    /** Requests answered 414 URI Too Long. */
    get urisTooLong() {
      return urisTooLong;
    },
    /** A user deletes the Contact: it goes to the Recycle Bin (queryAll shows it with IsDeleted = true). */
    userDelete(id: string) {
      const fields = contacts.get(id);
      if (!fields) throw new Error(`no Contact ${id}`);
      contacts.delete(id);
      binned.set(id, fields);
    },
    /** The integration user loses sight of the Contact (a sharing change): no query returns it any more. */
    hide(id: string) {
      hidden.add(id);
    },
    /**
     * The next `count` Collections creates (or Bulk jobs' successful results) are committed, then
     * their answer is lost (the connection drops).
     */
    loseCreateAnswers(count: number) {
      lostAnswers = count;
    },
    /** The next `count` SOQL queries never answer. */
    hangQueries(count: number) {
      pendingHangs = count;
    },
    /** Every token issued so far stops working, as after a session timeout. */
    expireTokens() {
      validTokens.clear();
    },
    writes() {
      return calls.filter((c) => c.method !== "GET");
    },
    /** The Bulk API 2.0 requests, as `METHOD path` with the job id as `{id}`. */
    bulkCalls() {
      return calls
        .filter((c) => c.path.includes("/jobs/ingest"))
        .map((c) => `${c.method} ${c.path.replace(/\/services\/data\/v62\.0/, "").replace(/7505f\w+AAA/, "{id}")}`);
    },
    /** The fields sent for each written record, in order (Collections bodies unwrapped, sObject Rows with their id). */
    writtenRecords() {
      return this.writes().flatMap((c) => {
        const row = /\/sobjects\/\w+\/(\w{15,18})$/.exec(c.path);
        if (row && c.method === "PATCH") return [{ id: row[1], ...(c.body as Record<string, unknown>) }];
        return ((c.body as { records?: Record<string, unknown>[] })?.records ?? []).map(
          ({ attributes: _a, ...f }) => f,
        );
      });
    },
    /** `fn` runs once, right after the next SOQL query whose text matches `pattern` was answered. */
    afterQuery(pattern: RegExp, fn: () => void) {
      afterQueries.push({ pattern, fn });
    },
  };
}
