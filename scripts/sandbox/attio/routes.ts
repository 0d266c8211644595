import { z } from "zod";
import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import { parseJson, segments } from "../shared/http.ts";
import { type AttioError, invalid, notFound } from "./errors.ts";
import { matchesFilter, sortRecords } from "./filter.ts";
import type { ObjectDef } from "./schema.ts";
import { createObject, handleAttributes, objectJson, parseBody } from "./schema-api.ts";
import type { AttioEvent, AttioStore } from "./store.ts";
import type { AttioWebhooks } from "./webhooks.ts";

export interface ApiOptions {
  /** > 0: merges answer 202 and the merged record is `merge_in_progress` for this long. */
  mergePendingMs: number;
}

/** The REST v2 surface. `dispatch` receives the events of every successful write. */
export function handleApi(
  request: EmulatorRequest,
  store: AttioStore,
  webhooks: AttioWebhooks,
  dispatch: (events: AttioEvent[]) => void,
  options: ApiOptions = { mergePendingMs: 0 },
): EmulatorReply {
  const parts = segments(request.path);
  const method = request.method;
  const body = parseJson(request.rawBody);
  if (["POST", "PUT", "PATCH"].includes(method) && request.rawBody.trim() !== "" && body === undefined) {
    throw invalid("validation_type", "Body payload validation error: the body is not valid JSON.");
  }
  const [, resource, a, b, c] = parts;

  if (resource === "self" && parts.length === 2 && method === "GET") return ok(self(store));

  if (resource === "workspace_members" && method === "GET") {
    if (a === undefined) return ok({ data: store.members.map((member) => memberJson(store, member.id)) });
    return ok({ data: memberJson(store, a) });
  }

  if (resource === "webhooks") {
    if (a === undefined && method === "GET") {
      const limit = clampInt(request.query.get("limit"), 10, 10, 100);
      const offset = clampInt(request.query.get("offset"), 0, 0, Number.MAX_SAFE_INTEGER);
      return ok({ data: webhooks.list(limit, offset) });
    }
    if (a === undefined && method === "POST") return ok({ data: webhooks.create(body) });
    if (a !== undefined && parts.length === 3) {
      if (method === "GET") return ok({ data: webhooks.get(a) });
      if (method === "PATCH") return ok({ data: webhooks.update(a, body) });
      if (method === "DELETE") {
        webhooks.delete(a);
        return ok({});
      }
    }
  }

  if (resource === "objects") {
    if (a === undefined && method === "GET")
      return ok({ data: store.objects.map((object) => objectJson(store, object)) });
    if (a === undefined && method === "POST") return createObject(store, body);
    if (a === undefined) throw notFoundRoute(request);
    const object = store.object(a);
    if (b === undefined && method === "GET") return ok({ data: objectJson(store, object) });
    if (b === "attributes") return handleAttributes(request, store, object, parts.slice(4), body, dispatch);
    if (b === "records") return records(request, store, object, c, parts.length, body, dispatch, options);
  }
  throw notFoundRoute(request);
}

function records(
  request: EmulatorRequest,
  store: AttioStore,
  object: ObjectDef,
  recordId: string | undefined,
  depth: number,
  body: unknown,
  dispatch: (events: AttioEvent[]) => void,
  options: ApiOptions,
): EmulatorReply {
  const method = request.method;
  if (recordId === "query" && method === "POST" && depth === 5) return ok({ data: query(store, object, body) });
  if (recordId === "merge" && method === "POST" && depth === 5) {
    const { data } = parseBody(MergeBody, body);
    const pending = options.mergePendingMs;
    const merged = store.mergeIntoNew(
      object.slug,
      data.primary_record_id,
      data.secondary_record_id,
      store.apiActor,
      pending,
    );
    dispatch(merged.events);
    return { status: pending > 0 ? 202 : 200, body: { data: { new_record_id: merged.newRecordId } } };
  }
  if (recordId === undefined && method === "POST") {
    const result = store.create(object.slug, valuesOf(body), store.apiActor);
    dispatch(result.events);
    return ok({ data: store.serialize(object, result.record) });
  }
  if (recordId === undefined && method === "PUT") {
    const matching = request.query.get("matching_attribute");
    if (!matching) throw invalid("validation_type", "The matching_attribute query parameter is required.");
    const result = store.assert(object.slug, matching, valuesOf(body), store.apiActor);
    dispatch(result.events);
    return ok({ data: store.serialize(object, result.record) });
  }
  if (recordId !== undefined && depth === 5) {
    if (method === "GET") return ok({ data: store.serialize(object, store.get(object, recordId, "read")) });
    if (method === "PATCH" || method === "PUT") {
      const mode = method === "PATCH" ? "append" : "overwrite";
      const result = store.update(object.slug, recordId, valuesOf(body), store.apiActor, mode);
      dispatch(result.events);
      return ok({ data: store.serialize(object, result.record) });
    }
    if (method === "DELETE") {
      dispatch(store.delete(object.slug, recordId, store.apiActor));
      return ok({});
    }
  }
  throw notFoundRoute(request);
}

function query(store: AttioStore, object: ObjectDef, body: unknown): unknown[] {
  const input = (body ?? {}) as Record<string, unknown>;
  if (typeof input !== "object" || Array.isArray(input))
    throw invalid("validation_type", "The body must be an object.");
  const limit = input["limit"] ?? 500;
  const offset = input["offset"] ?? 0;
  // No maximum is documented; the sandbox refuses more than the default of 500 rather than guess.
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw invalid("validation_type", "Body payload validation error: limit must be an integer from 1 to 500.");
  }
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw invalid("validation_type", "Body payload validation error: offset must be a non-negative integer.");
  }
  const answer = () =>
    sortRecords(
      object,
      store.list(object).filter((record) => matchesFilter(object, record, input["filter"])),
      input["sorts"],
    );
  // A scan pages through the same unfiltered order: it is sorted once, not once per page.
  const ordered =
    input["filter"] === undefined
      ? store.memoized(`scan:${object.slug}:${JSON.stringify(input["sorts"] ?? null)}`, answer)
      : answer();
  return ordered.slice(offset, offset + limit).map((record) => store.serialize(object, record));
}

/** `POST /v2/objects/{object}/records/merge` body (docs "merge two records"). */
const MergeBody = z.object({
  data: z.object({ primary_record_id: z.string(), secondary_record_id: z.string() }),
});

function valuesOf(body: unknown): unknown {
  const data = (body as { data?: { values?: unknown } } | undefined)?.data;
  if (!data || typeof data !== "object")
    throw invalid("validation_type", "Body payload validation error: data is required.");
  if (data.values === undefined)
    throw invalid("validation_type", "Body payload validation error: data.values is required.");
  return data.values;
}

function self(store: AttioStore): unknown {
  const member = store.members[0];
  return {
    active: true,
    scope:
      "record_permission:read-write object_configuration:read user_management:read webhook:read-write list_entry:read list_configuration:read",
    client_id: store.tokenActorId,
    token_type: "Bearer",
    exp: null,
    iat: Math.floor(Date.UTC(2025, 0, 6) / 1000),
    sub: store.workspace.id,
    aud: store.tokenActorId,
    iss: "attio.com",
    authorized_by_workspace_member_id: member?.id ?? store.tokenActorId,
    workspace_id: store.workspace.id,
    workspace_name: store.workspace.name,
    workspace_slug: store.workspace.slug,
    workspace_logo_url: null,
  };
}

function memberJson(store: AttioStore, id: string): unknown {
  const member = store.members.find((candidate) => candidate.id === id);
  if (!member) throw notFound(`Workspace member with ID "${id}" not found.`);
  return {
    id: { workspace_id: store.workspace.id, workspace_member_id: member.id },
    first_name: member.firstName,
    last_name: member.lastName,
    avatar_url: null,
    email_address: member.email,
    access_level: member.accessLevel,
    created_at: member.createdAt,
  };
}

function clampInt(raw: string | null, fallback: number, min: number, max: number): number {
  const value = raw === null ? fallback : Number.parseInt(raw, 10);
  if (Number.isNaN(value)) return fallback;
  return Math.min(max, Math.max(min, value));
}

function ok(body: unknown): EmulatorReply {
  return { status: 200, body };
}

function notFoundRoute(request: EmulatorRequest): AttioError {
  return notFound(`No route for ${request.method} ${request.path}.`);
}
