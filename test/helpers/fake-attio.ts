import { HttpResponse, http } from "msw";
import { z } from "zod";
import companyAttributes from "../../fixtures/attio/attributes-companies.json";
import dealAttributes from "../../fixtures/attio/attributes-deals.json";
import peopleAttributes from "../../fixtures/attio/attributes-people.json";
import rateLimited from "../../fixtures/attio/error-rate-limit-429.json";
import companiesObject from "../../fixtures/attio/object-companies.json";
import peopleObject from "../../fixtures/attio/object-people.json";
import person from "../../fixtures/attio/person-mira-okafor.json";
import workspaceMembers from "../../fixtures/attio/workspace-members.json";
// The Attio emulator's own list: the fake refuses what the emulator (and Attio) refuse.
import { LOCATION_KEYS } from "../../scripts/sandbox/attio/values.ts";
import { EVENT_TYPES } from "../../scripts/sandbox/attio/webhooks.ts";

export const ATTIO = "https://api.attio.test";
export const PEOPLE_OBJECT_ID = peopleObject.data.id.object_id;
export const COMPANIES_OBJECT_ID = companiesObject.data.id.object_id;

type AttioRecordJson = (typeof person)["data"];

export interface RecordedCall {
  method: string;
  path: string;
  authorization: string | null;
}

/**
 * A small stateful stand-in for Attio built from recorded-shape fixtures: objects, and people read
 * by id. `queue429(n)` makes the next n record reads answer Attio's 429 with an HTTP-date Retry-After.
 */
/** A webhook as `GET /v2/webhooks` lists it (Attio's documented shape). */
export interface FakeWebhook {
  target_url: string;
  status: "active" | "degraded" | "inactive";
  event_types: string[];
  /** Default: `23e42eaf-323a-41da-b5bb-<index, 12 digits>`. */
  id?: string;
}

/** A subscription as Attio stores it: its event type and filter (null, or one `$and`/`$or` list). */
interface FakeSubscription {
  event_type: string;
  filter: unknown;
}

/** The scopes the test key has: what the Worker needs, and webhook:read-write to check its webhook. */
const DEFAULT_SCOPE = "record_permission:read-write object_configuration:read user_management:read webhook:read-write";

export function fakeAttio(
  options: {
    apiKey?: string;
    /** `/v2/self`'s `scope` (space-separated); the webhook list needs `webhook:read`. */
    scope?: string;
    /** The workspace's webhooks (default: none). */
    webhooks?: FakeWebhook[];
  } = {},
) {
  const apiKey = options.apiKey ?? "test-attio-key";
  const scope = options.scope ?? DEFAULT_SCOPE;
  const webhooks = (options.webhooks ?? []).map((w, i) => ({
    id: w.id ?? `23e42eaf-323a-41da-b5bb-${String(i).padStart(12, "0")}`,
    target_url: w.target_url,
    status: w.status,
    subscriptions: w.event_types.map((event_type): FakeSubscription => ({ event_type, filter: null })),
  }));
  const webhookJson = (w: (typeof webhooks)[number]) => ({
    target_url: w.target_url,
    subscriptions: w.subscriptions,
    id: { workspace_id: "6f1c2a9e-0b7d-4c1e-9a51-3e2f8d7c4b10", webhook_id: w.id },
    status: w.status,
    created_at: "2026-11-30T09:12:44.061281000Z",
  });
  const people = new Map<string, AttioRecordJson>();
  const calls: RecordedCall[] = [];
  /** The body of every records query: a scan (offset, limit) or a read by filter. */
  const queries: { object: string; filter?: Record<string, unknown>; offset?: number }[] = [];
  /** One-shot hooks run after a records query is answered (a person's edit landing right after our read). */
  const afterQueries: (() => void)[] = [];
  let pending429 = 0;
  /** Creates whose answer is lost after Attio committed them (the connection drops). */
  let lostAnswers = 0;
  let pendingHangs = 0;
  /** Records a merge is still building: queries leave them out, reads by id answer 404 merge_in_progress. */
  const merging = new Set<string>();
  /** A read that never answers (until the caller gives up and aborts it). */
  const hang = (signal: AbortSignal) => {
    if (pendingHangs === 0) return undefined;
    pendingHangs -= 1;
    // Settles only once the caller aborted, with an answer it must never see (an empty page).
    return new Promise<Response>((resolve) => {
      signal.addEventListener("abort", () => resolve(HttpResponse.json({ data: [] })), { once: true });
    });
  };

  const tooMany = () => {
    if (pending429 === 0) return undefined;
    pending429 -= 1;
    const retryAt = new Date(Date.now() + 1000).toUTCString();
    return HttpResponse.json(rateLimited, { status: 429, headers: { "retry-after": retryAt } });
  };

  const record = (request: { method: string; url: string; headers: Headers }) => {
    const url = new URL(request.url);
    calls.push({ method: request.method, path: url.pathname, authorization: request.headers.get("authorization") });
  };
  /** Attio's answer to a missing or wrong API key. */
  const unauthenticated = (request: { headers: Headers }) =>
    request.headers.get("authorization") === `Bearer ${apiKey}`
      ? undefined
      : HttpResponse.json(
          { status_code: 401, type: "auth_error", code: "unauthorized", message: "Invalid or expired access token." },
          { status: 401 },
        );

  /** Attio's 403 when the key lacks `needed` (read-write grants read). */
  const missingScope = (needed: "webhook:read" | "webhook:read-write") => {
    const granted = scope.split(" ");
    if (granted.includes(needed) || granted.includes("webhook:read-write")) return undefined;
    return HttpResponse.json(
      { status_code: 403, type: "auth_error", code: "unauthorized", message: `Missing scope: ${needed}` },
      { status: 403 },
    );
  };
  const webhookNotFound = () =>
    HttpResponse.json(
      { status_code: 404, type: "invalid_request_error", code: "not_found", message: "Webhook not found." },
      { status: 404 },
    );

  const attributes: Record<string, unknown> = {
    people: peopleAttributes,
    companies: companyAttributes,
    deals: dealAttributes,
  };
  const handlers = [
    http.get(`${ATTIO}/v2/self`, ({ request }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      return HttpResponse.json({
        active: true,
        scope,
        client_id: "4b1f0e9c-2d3a-4c5b-8e7f-6a5b4c3d2e1f",
        token_type: "Bearer",
        exp: null,
        iat: 1763900000,
        sub: "6f1c2a9e-0b7d-4c1e-9a51-3e2f8d7c4b10",
        aud: "4b1f0e9c-2d3a-4c5b-8e7f-6a5b4c3d2e1f",
        iss: "attio.com",
        authorized_by_workspace_member_id: "9d4a1f0e-2c3b-4d5e-8f6a-7b8c9d0e1f23",
        workspace_id: "6f1c2a9e-0b7d-4c1e-9a51-3e2f8d7c4b10",
        workspace_name: "Northwind Labs",
        workspace_slug: "northwind-labs",
        workspace_logo_url: null,
      });
    }),
    // GET /v2/webhooks: `limit` 10-100 (default 10) and `offset`, as documented; needs webhook:read.
    http.get(`${ATTIO}/v2/webhooks`, ({ request }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const refused = missingScope("webhook:read");
      if (refused) return refused;
      const url = new URL(request.url);
      const limit = Number(url.searchParams.get("limit") ?? 10);
      const offset = Number(url.searchParams.get("offset") ?? 0);
      if (!Number.isInteger(limit) || limit < 10 || limit > 100 || !Number.isInteger(offset) || offset < 0) {
        return HttpResponse.json(
          {
            status_code: 400,
            type: "invalid_request_error",
            code: "validation_type",
            message: "limit must be an integer between 10 and 100, offset a non-negative integer",
          },
          { status: 400 },
        );
      }
      return HttpResponse.json({ data: webhooks.slice(offset, offset + limit).map(webhookJson) });
    }),
    // GET and PATCH /v2/webhooks/{webhook_id}: webhook:read, and webhook:read-write to change it.
    http.get(`${ATTIO}/v2/webhooks/:id`, ({ request, params }) => {
      record(request);
      const refused = unauthenticated(request) ?? missingScope("webhook:read");
      if (refused) return refused;
      const found = webhooks.find((w) => w.id === params["id"]);
      return found ? HttpResponse.json({ data: webhookJson(found) }) : webhookNotFound();
    }),
    http.patch(`${ATTIO}/v2/webhooks/:id`, async ({ request, params }) => {
      record(request);
      const refused = unauthenticated(request) ?? missingScope("webhook:read-write");
      if (refused) return refused;
      const found = webhooks.find((w) => w.id === params["id"]);
      if (!found) return webhookNotFound();
      const parsed = WebhookPatchSchema.safeParse(await request.json());
      if (!parsed.success) {
        return HttpResponse.json(
          {
            status_code: 400,
            type: "invalid_request_error",
            code: "validation_type",
            message: `Body payload validation error. ${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}`,
          },
          { status: 400 },
        );
      }
      if (parsed.data.data.subscriptions) found.subscriptions = parsed.data.data.subscriptions;
      if (parsed.data.data.target_url) found.target_url = parsed.data.data.target_url;
      return HttpResponse.json({ data: webhookJson(found) });
    }),
    http.get(`${ATTIO}/v2/workspace_members`, ({ request }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      return HttpResponse.json(workspaceMembers);
    }),
    http.get(`${ATTIO}/v2/objects/:object/attributes`, ({ request, params }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const list = attributes[String(params["object"])];
      if (!list) {
        return HttpResponse.json(
          {
            status_code: 404,
            type: "invalid_request_error",
            code: "not_found",
            message: `Object with slug/ID "${params["object"]}" not found.`,
          },
          { status: 404 },
        );
      }
      return HttpResponse.json(list);
    }),
    http.get(`${ATTIO}/v2/objects/:object/attributes/:attribute/:kind`, ({ request, params }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      // Option and status lists: a few made-up titles in Attio's list shape.
      const titles =
        params["kind"] === "statuses"
          ? ["Lead", "In Progress", "Won 🎉", "Lost"]
          : ["Software", "Fintech", "1-10", "11-50", "51-200"];
      const key = params["kind"] === "statuses" ? "status_id" : "option_id";
      return HttpResponse.json({
        data: titles.map((title, i) => ({
          id: {
            workspace_id: "6f1c2a9e-0b7d-4c1e-9a51-3e2f8d7c4b10",
            object_id: String(params["object"]),
            attribute_id: String(params["attribute"]),
            [key]: `00000000-0000-4000-8000-00000000000${i}`,
          },
          title,
          is_archived: false,
        })),
      });
    }),
    http.get(`${ATTIO}/v2/objects/:object`, ({ request, params }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const object = String(params["object"]);
      if (object === "people" || object === PEOPLE_OBJECT_ID) return HttpResponse.json(peopleObject);
      if (object === "companies" || object === COMPANIES_OBJECT_ID) return HttpResponse.json(companiesObject);
      return HttpResponse.json(
        {
          status_code: 404,
          type: "invalid_request_error",
          code: "not_found",
          message: `Object with slug/ID "${object}" not found.`,
        },
        { status: 404 },
      );
    }),
    http.post(`${ATTIO}/v2/objects/:object/records/query`, async ({ request, params }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const limited = tooMany();
      if (limited) return limited;
      const hung = hang(request.signal);
      if (hung) return hung;
      const body = (await request.json()) as { filter?: Record<string, unknown>; limit?: number; offset?: number };
      queries.push({ object: String(params["object"]), ...body });
      // Only people are stored; every other object is an empty workspace.
      const pool = params["object"] === "people" ? [...people.values()] : [];
      const matches = pool.filter((p) => matchesFilter(p, body.filter ?? {}));
      const offset = body.offset ?? 0;
      const answer = HttpResponse.json({ data: matches.slice(offset, offset + (body.limit ?? 500)) });
      afterQueries.shift()?.();
      return answer;
    }),
    http.post(`${ATTIO}/v2/objects/people/records`, async ({ request }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const body = (await request.json()) as { data?: { values?: Record<string, unknown[]> } };
      if (!body.data?.values) {
        return HttpResponse.json(
          {
            status_code: 400,
            type: "invalid_request_error",
            code: "validation_type",
            message: "Body must have data.values",
          },
          { status: 400 },
        );
      }
      const created = blankPerson(crypto.randomUUID());
      const refused = applyWrite(created, body.data.values);
      if (refused) {
        return HttpResponse.json(
          { status_code: 400, type: "invalid_request_error", code: "validation_type", message: refused },
          { status: 400 },
        );
      }
      people.set(created.id.record_id, created);
      if (lostAnswers > 0) {
        lostAnswers -= 1;
        return HttpResponse.error();
      }
      return HttpResponse.json({ data: created });
    }),
    http.patch(`${ATTIO}/v2/objects/people/records/:id`, async ({ request, params }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const found = people.get(String(params["id"]));
      if (!found) {
        return HttpResponse.json(
          {
            status_code: 404,
            type: "invalid_request_error",
            code: "not_found",
            message: `Record with ID "${params["id"]}" not found.`,
          },
          { status: 404 },
        );
      }
      const body = (await request.json()) as { data: { values: Record<string, unknown[]> } };
      const refused = applyWrite(found, body.data.values);
      if (refused) {
        return HttpResponse.json(
          { status_code: 400, type: "invalid_request_error", code: "validation_type", message: refused },
          { status: 400 },
        );
      }
      return HttpResponse.json({ data: found });
    }),
    http.get(`${ATTIO}/v2/objects/:object/records/:id`, ({ request, params }) => {
      record(request);
      const denied = unauthenticated(request);
      if (denied) return denied;
      const limited = tooMany();
      if (limited) return limited;
      if (merging.has(String(params["id"]))) {
        const message = `Record with ID "${params["id"]}" is the result of a merge that is still in progress.`;
        return HttpResponse.json(
          { status_code: 404, type: "invalid_request_error", code: "merge_in_progress", message },
          { status: 404 },
        );
      }
      // Only people are stored; a record of any other object does not exist.
      const found = params["object"] === "people" ? people.get(String(params["id"])) : undefined;
      if (!found) {
        return HttpResponse.json(
          {
            status_code: 404,
            type: "invalid_request_error",
            code: "not_found",
            message: `Record with ID "${params["id"]}" not found.`,
          },
          { status: 404 },
        );
      }
      return HttpResponse.json({ data: found });
    }),
  ];

  return {
    handlers,
    calls,
    queries,
    /** The webhooks as Attio holds them now (PATCH changes their subscriptions). */
    webhooks,
    /** Adds a person shaped like the fixture, with its own id and the given fields. */
    addPerson(recordId: string, fields: { first?: string; last?: string; email?: string; title?: string } = {}) {
      const copy = structuredClone(person.data) as AttioRecordJson;
      copy.id.record_id = recordId;
      const name = copy.values.name[0];
      if (name && fields.first !== undefined) name.first_name = fields.first;
      if (name && fields.last !== undefined) name.last_name = fields.last;
      if (name) name.full_name = `${name.first_name} ${name.last_name}`;
      const email = copy.values.email_addresses[0];
      if (email && fields.email !== undefined) {
        email.email_address = fields.email;
        email.original_email_address = fields.email;
      }
      const title = copy.values.job_title[0];
      if (title && fields.title !== undefined) title.value = fields.title;
      people.set(recordId, copy);
      return copy;
    },
    /** The person becomes the result of a merge Attio is still applying (left out of queries). */
    startMerge(recordId: string) {
      const found = people.get(recordId);
      if (!found) throw new Error(`no person ${recordId}`);
      people.delete(recordId);
      merging.add(recordId);
      return () => {
        merging.delete(recordId);
        people.set(recordId, found);
      };
    },
    /** Simulates an edit of the person's job title in Attio (`at`: its new active_from, as a person's edit sets). */
    setJobTitle(recordId: string, title: string, at?: string) {
      const value = people.get(recordId)?.values.job_title[0];
      if (!value) throw new Error(`no person ${recordId}`);
      value.value = title;
      if (at !== undefined) value.active_from = at;
    },
    /** `fn` runs once, right after the next records query was answered. */
    afterQuery(fn: () => void) {
      afterQueries.push(fn);
    },
    /** The people as stored. */
    people,
    /** The next `count` creates are committed, then their answer is lost (the connection drops). */
    loseCreateAnswers(count: number) {
      lostAnswers = count;
    },
    queue429(count: number) {
      pending429 = count;
    },
    /** The next `count` record queries never answer. */
    hangReads(count: number) {
      pendingHangs = count;
    },
  };
}

/**
 * The subset of Attio's filter language the sync engine sends: `record_id` `$in`, shorthand equality
 * on `email_addresses`, and `$or` of those.
 */
function matchesFilter(person: AttioRecordJson, filter: Record<string, unknown>): boolean {
  return Object.entries(filter).every(([key, condition]) => {
    if (key === "$or") return (condition as Record<string, unknown>[]).some((f) => matchesFilter(person, f));
    if (key === "created_at") {
      const { $gte } = condition as { $gte?: string };
      if (typeof $gte !== "string") throw new Error("fake Attio: created_at filters support only $gte");
      return Date.parse(person.created_at) >= Date.parse($gte);
    }
    if (key === "record_id") return ((condition as { $in: string[] }).$in ?? []).includes(person.id.record_id);
    if (key === "email_addresses") {
      return person.values.email_addresses.some(
        (v) => v.email_address.toLowerCase() === String(condition).toLowerCase(),
      );
    }
    throw new Error(`fake Attio: unsupported filter ${key}`);
  });
}

/** A person just created by our API token: no values but the system ones. */
function blankPerson(recordId: string): AttioRecordJson {
  const copy = structuredClone(person.data) as AttioRecordJson;
  const now = new Date().toISOString().replace("Z", "000000Z");
  const actor = { type: "api-token", id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" };
  copy.id.record_id = recordId;
  copy.created_at = now;
  const values = copy.values as unknown as Record<string, unknown[]>;
  for (const slug of Object.keys(values)) values[slug] = [];
  values["record_id"] = [
    { active_from: now, active_until: null, created_by_actor: actor, value: recordId, attribute_type: "text" },
  ];
  values["created_at"] = [
    { active_from: now, active_until: null, created_by_actor: actor, value: now, attribute_type: "timestamp" },
  ];
  values["created_by"] = [
    {
      active_from: now,
      active_until: null,
      created_by_actor: actor,
      referenced_actor_type: actor.type,
      referenced_actor_id: actor.id,
      attribute_type: "actor-reference",
    },
  ];
  return copy;
}

/**
 * Applies the write forms the engine sends for people (Attio's documented simplified inputs) to a
 * stored record in read form. PATCH semantics: a multiselect value is added unless already present.
 */

/**
 * Applies a PATCH's values the way Attio stores them, refusing what Attio refuses: a location
 * object missing any of its 10 keys, a phone without a +country prefix, an attribute the fake does
 * not model. Returns the refusal's message, or undefined when written.
 */
function applyWrite(person: AttioRecordJson, values: Record<string, unknown[]>): string | undefined {
  const now = new Date().toISOString().replace("Z", "000000Z");
  const actor = { type: "api-token", id: "7e2d4c1b-0a9f-4e8d-b7c6-5a4b3c2d1e0f" };
  const stamp = { active_from: now, active_until: null, created_by_actor: actor };
  // All or nothing, as Attio: the write goes to a copy that replaces the record only once valid.
  const all = structuredClone(person.values) as Record<string, Record<string, unknown>[]>;
  for (const [slug, items] of Object.entries(values)) {
    // An empty list clears an attribute the object has (Attio accepts it for any attribute).
    if (items.length === 0 && slug in all) {
      all[slug] = [];
      continue;
    }
    const target = all[slug] ?? [];
    all[slug] = target;
    const item = items[0];
    if (slug === "job_title")
      target.splice(
        0,
        target.length,
        ...(item === undefined ? [] : [{ ...stamp, value: item, attribute_type: "text" }]),
      );
    else if (slug === "email_addresses" && typeof item === "string") {
      if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(item)) return `Invalid value was passed to attribute with slug "${slug}"`;
      if (!target.some((v) => v["email_address"] === item))
        target.push({ ...stamp, email_address: item, original_email_address: item, attribute_type: "email-address" });
    } else if (slug === "name" && item && typeof item === "object")
      target.splice(0, target.length, { ...stamp, ...item, attribute_type: "personal-name" });
    else if (slug === "primary_location" && (item === undefined || (item && typeof item === "object"))) {
      const location = item as Record<string, unknown> | undefined;
      if (location && LOCATION_KEYS.some((key) => !(key in location)))
        return `Invalid value was passed to attribute with slug "${slug}": location objects need all 10 keys`;
      target.splice(0, target.length, ...(location ? [{ ...stamp, ...location, attribute_type: "location" }] : []));
    } else if (slug === "phone_numbers" && typeof item === "string") {
      if (!/^\+[1-9]\d{6,14}$/.test(item)) return `Invalid value was passed to attribute with slug "${slug}"`;
      target.splice(0, target.length, {
        ...stamp,
        original_phone_number: item,
        phone_number: item,
        country_code: null,
        attribute_type: "phone-number",
      });
    } else return `Cannot find attribute with slug/ID "${slug}" (or the fake does not model writing it)`;
  }
  person.values = all as AttioRecordJson["values"];
  return undefined;
}

/** `PATCH /v2/webhooks/{id}`: target and/or subscriptions; a filter is null or one `$and`/`$or` list. */
const FilterConditionSchema = z.object({
  field: z.string(),
  operator: z.enum(["equals", "not_equals"]),
  value: z.string(),
});
const WebhookPatchSchema = z.object({
  data: z.object({
    target_url: z.string().optional(),
    subscriptions: z
      .array(
        z.object({
          event_type: z.enum(EVENT_TYPES),
          filter: z.union([
            z.object({ $and: z.array(FilterConditionSchema) }),
            z.object({ $or: z.array(FilterConditionSchema) }),
            z.null(),
          ]),
        }),
      )
      .optional(),
  }),
});
