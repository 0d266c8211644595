import { z } from "zod";
import type { Limiter } from "../durable/limiter.ts";
import { SyncError } from "../lib/errors.ts";
import { retryAt } from "../lib/retry-after.ts";
import {
  type AttioAttribute,
  AttioAttributeSchema,
  AttioOptionSchema,
  type WorkspaceMember,
  WorkspaceMemberSchema,
} from "./attribute-schema.ts";
import { type WebhookSubscription, WebhookSubscriptionSchema } from "./echo-filter.ts";
import { apiCreator, apiWriter, learnerFor, type OwnActorLearner } from "./own-actor.ts";
import {
  AttioErrorSchema,
  type AttioObject,
  AttioObjectSchema,
  type AttioRecord,
  AttioRecordSchema,
  recordSchemaReading,
} from "./record-schema.ts";
import type { AttioActor } from "./webhook-schema.ts";

/** The limiter buckets Attio calls take from. */
type AttioBucket = "attio:read" | "attio:write";

export interface AttioClientOptions {
  apiUrl: string;
  apiKey: string;
  /** Paces every call (durable/limiter.ts: the shared one, or none). */
  limiter: Limiter;
  fetch?: typeof fetch;
  /** Longest wait for an answer, body included (default 30 s); then the call fails as retryable. */
  timeoutMs?: number;
  /** Called once per isolate, when the records our writes returned have shown our own actor (see own-actor.ts). */
  onOwnActor?: (actor: AttioActor) => Promise<void>;
}

/** Attio objects by id and by slug, per workspace (API URL and key), for the life of the isolate. */
const objectsByWorkspace = new Map<string, Map<string, AttioObject>>();

function workspaceObjects(apiUrl: string, apiKey: string): Map<string, AttioObject> {
  const key = JSON.stringify([apiUrl, apiKey]);
  let objects = objectsByWorkspace.get(key);
  if (!objects) {
    objects = new Map();
    objectsByWorkspace.set(key, objects);
  }
  return objects;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * A thin client for Attio's REST API v2: bearer auth, the shared rate limiter, Attio's error body
 * mapped to SyncError (429 and 5xx retryable), and zod validation of the responses we rely on.
 */
export class AttioClient {
  private readonly ownActor: OwnActorLearner;

  /** Round trip of recent writes in ms (moving average; 0 before the first), limiter waits excluded. */
  writeRoundTripMs = 0;

  constructor(private readonly options: AttioClientOptions) {
    this.ownActor = learnerFor(options.apiUrl, options.apiKey);
  }

  /**
   * An object by id or slug; cached for the life of the isolate, per workspace (an object's id and
   * slug do not change): an Attio webhook names its object by id, and reading it for every batch
   * put one more round trip before each live change.
   */
  async getObject(objectIdOrSlug: string): Promise<AttioObject> {
    const workspace = workspaceObjects(this.options.apiUrl, this.options.apiKey);
    const cached = workspace.get(objectIdOrSlug);
    if (cached) return cached;
    const body = await this.request("GET", `/v2/objects/${encodeURIComponent(objectIdOrSlug)}`);
    const object = parseData(AttioObjectSchema, body, "object");
    workspace.set(object.id.object_id, object);
    workspace.set(object.api_slug, object);
    return object;
  }

  /**
   * `GET /v2/self`: whether the API key is valid and active (a health check), and its scopes
   * (space-separated in `scope`; absent when the key is inactive).
   */
  async self(): Promise<{ active: boolean; workspace_id?: string | undefined; scope?: string | undefined }> {
    const body = z
      .object({ active: z.boolean(), workspace_id: z.string().optional(), scope: z.string().optional() })
      .safeParse(await this.request("GET", "/v2/self"));
    if (!body.success) throw new SyncError("upstream_rejected", "Attio /v2/self answered an unexpected shape");
    return body.data;
  }

  /** The current record, or null when it no longer exists. */
  async getRecord(object: string, recordId: string): Promise<AttioRecord | null> {
    try {
      const body = await this.request("GET", `/v2/objects/${object}/records/${encodeURIComponent(recordId)}`);
      return parseData(AttioRecordSchema, body, "record");
    } catch (err) {
      if (err instanceof SyncError && err.code === "not_found") return null;
      throw err;
    }
  }

  /**
   * Records matching `filter`, following offset pagination up to `maxRecords`.
   *
   * @example
   * await attio.queryRecords("people", { record_id: { $in: ["5b2e…", "9c1d…"] } });
   */
  async queryRecords(object: string, filter: Record<string, unknown>, maxRecords = 5_000): Promise<AttioRecord[]> {
    const records: AttioRecord[] = [];
    const limit = 500;
    for (let offset = 0; offset < maxRecords; offset += limit) {
      const body = await this.request("POST", `/v2/objects/${object}/records/query`, { filter, limit, offset });
      const page = parseData(z.array(AttioRecordSchema), body, "record list");
      records.push(...page);
      if (page.length < limit) break;
    }
    return records;
  }

  /**
   * One page of an object's records in creation order, for scans that resume from an offset.
   * With `attributes`, each record keeps (and is validated on) only those attributes' values.
   *
   * @example await attio.scanRecords("companies", 500, 500, new Set(["name", "domains"]))
   */
  async scanRecords(
    object: string,
    offset: number,
    limit = 500,
    attributes?: ReadonlySet<string>,
  ): Promise<AttioRecord[]> {
    const body = await this.request("POST", `/v2/objects/${object}/records/query`, {
      sorts: [{ attribute: "created_at", direction: "asc" }],
      limit,
      offset,
    });
    const record = attributes ? recordSchemaReading(attributes) : AttioRecordSchema;
    return parseData(z.array(record), body, "record list");
  }

  /**
   * How many records an object holds. Attio's records query answers pages (`limit`, `offset`) and
   * no total, so: one page of 500 (most objects end there), then pages of one record at doubling
   * offsets until one is empty, then halving between the last offset holding a record and the first
   * empty one: under 2·log2(n) calls (25 for 100,000 records). After `maxCalls` it stops at a lower bound
   * (`exact: false`). Records created or deleted meanwhile make it approximate, as any count is.
   */
  async countRecords(object: string, maxCalls = 40): Promise<{ count: number; exact: boolean }> {
    const PAGE = 500;
    let calls = 0;
    const size = async (offset: number, limit: number) => {
      calls++;
      const body = await this.request("POST", `/v2/objects/${object}/records/query`, { limit, offset });
      return parseData(z.array(z.unknown()), body, "record list").length;
    };
    const first = await size(0, PAGE);
    if (first < PAGE) return { count: first, exact: true };
    const holds = async (offset: number) => (await size(offset, 1)) > 0;
    // `full` holds a record; `empty` is past the last one once a probe found it empty.
    let full = PAGE - 1;
    let empty = PAGE * 2;
    let bounded = false;
    while (calls < maxCalls) {
      if (!bounded) {
        if (!(await holds(empty))) bounded = true;
        else {
          full = empty;
          empty *= 2;
        }
        continue;
      }
      if (empty - full <= 1) return { count: empty, exact: true };
      const middle = Math.floor((full + empty) / 2);
      if (await holds(middle)) full = middle;
      else empty = middle;
    }
    return bounded && empty - full <= 1 ? { count: empty, exact: true } : { count: full + 1, exact: false };
  }

  /** Creates a record; fails with upstream_rejected (Attio's uniqueness_conflict) on a unique clash. */
  async createRecord(object: string, values: Record<string, unknown>): Promise<AttioRecord> {
    const body = await this.request("POST", `/v2/objects/${object}/records`, { data: { values } });
    return this.created(parseData(AttioRecordSchema, body, "record"));
  }

  /**
   * Creates or updates by a unique attribute (Attio's "assert"): a retry after a crash finds the
   * record it created instead of making a second one.
   */
  async assertRecord(object: string, matchingAttribute: string, values: Record<string, unknown>): Promise<AttioRecord> {
    const query = `?matching_attribute=${encodeURIComponent(matchingAttribute)}`;
    const body = await this.request("PUT", `/v2/objects/${object}/records${query}`, { data: { values } });
    return this.created(parseData(AttioRecordSchema, body, "record"));
  }

  /** A record our create or assert returned: it may teach us our own actor. */
  private async created(record: AttioRecord): Promise<AttioRecord> {
    await this.learn(record.id.record_id, () => apiCreator(record, Date.now()));
    return record;
  }

  /** `writer` reads the record only until the actor is known: every write of a job passes here. */
  private async learn(recordId: string, writer: () => AttioActor | undefined): Promise<void> {
    if (this.ownActor.known) return;
    const actor = this.ownActor.observe(recordId, writer());
    if (actor) await this.options.onOwnActor?.(actor);
  }

  /** Updates with PATCH: multiselect values are added, never removed (other emails/domains stay). */
  async updateRecord(object: string, recordId: string, values: Record<string, unknown>): Promise<AttioRecord> {
    const body = await this.request("PATCH", `/v2/objects/${object}/records/${encodeURIComponent(recordId)}`, {
      data: { values },
    });
    const record = parseData(AttioRecordSchema, body, "record");
    // The values it wrote name our actor: a sync that only updates Attio learns it too.
    await this.learn(record.id.record_id, () => apiWriter(record, Object.keys(values), Date.now()));
    return record;
  }

  /** Deletes a record; a record already gone counts as deleted. */
  async deleteRecord(object: string, recordId: string): Promise<void> {
    try {
      await this.request("DELETE", `/v2/objects/${object}/records/${encodeURIComponent(recordId)}`);
    } catch (err) {
      if (!(err instanceof SyncError && err.code === "not_found")) throw err;
    }
  }

  /** `GET /v2/objects/{object}/attributes`, or null when the object does not exist. */
  async listAttributes(object: string): Promise<AttioAttribute[] | null> {
    try {
      const body = await this.request("GET", `/v2/objects/${object}/attributes?limit=1000`);
      return parseData(z.array(AttioAttributeSchema), body, "attribute list");
    } catch (err) {
      if (err instanceof SyncError && err.code === "not_found") return null;
      throw err;
    }
  }

  /** Titles of a select's options or a status attribute's statuses, archived ones left out. */
  async optionTitles(object: string, attribute: string, kind: "select" | "status"): Promise<string[]> {
    const path = kind === "select" ? "options" : "statuses";
    const body = await this.request("GET", `/v2/objects/${object}/attributes/${attribute}/${path}`);
    return parseData(z.array(AttioOptionSchema), body, `${path} list`)
      .filter((o) => !o.is_archived)
      .map((o) => o.title);
  }

  /** Workspace members, to match record owners with Salesforce Users by email. */
  async listWorkspaceMembers(): Promise<WorkspaceMember[]> {
    const body = await this.request("GET", "/v2/workspace_members");
    return parseData(z.array(WorkspaceMemberSchema), body, "workspace member list");
  }

  /** `GET /v2/webhooks`, every page (limit/offset, at most 100 a page). Needs the `webhook:read` scope. */
  async listWebhooks(): Promise<AttioWebhook[]> {
    const webhooks: AttioWebhook[] = [];
    for (let offset = 0; ; offset += WEBHOOK_PAGE) {
      const body = await this.request("GET", `/v2/webhooks?limit=${WEBHOOK_PAGE}&offset=${offset}`);
      const page = parseData(z.array(AttioWebhookSchema), body, "webhook list");
      webhooks.push(...page);
      // Attio's paging ends with a page shorter than the limit (FACTS: limit/offset endpoints).
      if (page.length < WEBHOOK_PAGE) return webhooks;
    }
  }

  /** `GET /v2/webhooks/{id}` with its subscriptions' filters. Needs the `webhook:read` scope. */
  async getWebhookSubscriptions(webhookId: string): Promise<WebhookSubscription[]> {
    const body = await this.request("GET", `/v2/webhooks/${encodeURIComponent(webhookId)}`);
    return parseData(WebhookDetailSchema, body, "webhook").subscriptions;
  }

  /**
   * `PATCH /v2/webhooks/{id}` with a new subscription list (it replaces the old one; the target and
   * the secret stay). Needs the `webhook:read-write` scope.
   */
  async setWebhookSubscriptions(webhookId: string, subscriptions: WebhookSubscription[]): Promise<void> {
    const body = await this.request("PATCH", `/v2/webhooks/${encodeURIComponent(webhookId)}`, {
      data: { subscriptions },
    });
    parseData(WebhookDetailSchema, body, "webhook");
  }

  private async request(method: Method, path: string, body?: unknown): Promise<unknown> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send(method, path, body);
      } catch (thrown) {
        // Attio did not process a request it answered 429, so it is sent again here once the
        // shared bucket reopens, instead of sending its whole message back to the queue.
        const retryable =
          thrown instanceof SyncError &&
          thrown.code === "rate_limited" &&
          (thrown.retryAfterSeconds ?? 1) <= MAX_IN_PLACE_WAIT_SECONDS;
        if (!retryable || attempt >= IN_PLACE_429_ATTEMPTS) throw thrown;
      }
    }
  }

  private async send(method: Method, path: string, body: unknown): Promise<unknown> {
    const bucket: AttioBucket = method === "GET" || path.endsWith("/query") ? "attio:read" : "attio:write";
    const permit = await this.options.limiter.acquire(bucket);
    const init: RequestInit = {
      method,
      headers: {
        authorization: `Bearer ${this.options.apiKey}`,
        accept: "application/json",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    };
    let response: Response;
    const sent = Date.now();
    try {
      response = await (this.options.fetch ?? fetch)(`${this.options.apiUrl}${path}`, init);
    } catch (err) {
      throw unreachable(err, method, path);
    } finally {
      await permit.answered(sent, Date.now());
    }
    if (bucket === "attio:write") {
      const took = Date.now() - sent;
      this.writeRoundTripMs = this.writeRoundTripMs === 0 ? took : 0.8 * this.writeRoundTripMs + 0.2 * took;
    }
    if (response.ok) {
      try {
        return await response.json();
      } catch (err) {
        // A body cut off by the timeout; a body that is not JSON stays an upstream rejection.
        if (isTimeout(err)) throw unreachable(err, method, path);
        throw new SyncError("upstream_rejected", `Attio ${method} ${path}: the answer is not JSON`, { cause: err });
      }
    }
    const { text: error, code } = await describeError(response);
    if (response.status === 429) {
      const now = Date.now();
      // The limiter reopens at the header's instant (an HTTP date, usually the next whole second),
      // not a whole second from now: rounding up would idle the writes for half a second per 429.
      const until = retryAt(response.headers.get("retry-after"), now) ?? now + 1000;
      const retryAfter = Math.ceil((until - now) / 1000);
      await permit.penalize(until);
      throw new SyncError("rate_limited", `Attio ${method} ${path}: ${error}`, {
        status: 429,
        retryAfterSeconds: retryAfter,
      });
    }
    const detail = { method, path, status: response.status };
    if (response.status >= 500 || response.status === 408) {
      throw new SyncError("upstream_unavailable", `Attio ${method} ${path}: ${error}`, { status: 502, detail });
    }
    if (response.status === 401 || response.status === 403) {
      throw new SyncError("auth_failed", `Attio ${method} ${path}: ${error}`, { status: 502, detail });
    }
    if (code === "merge_in_progress") {
      // Not gone: the record is the result of a merge Attio is still applying.
      throw new SyncError("record_busy", `Attio ${method} ${path}: ${error}`, {
        status: 503,
        retryAfterSeconds: MERGE_WAIT_SECONDS,
        detail,
      });
    }
    if (response.status === 404) {
      throw new SyncError("not_found", `Attio ${method} ${path}: ${error}`, { status: 404, detail });
    }
    throw new SyncError("upstream_rejected", `Attio ${method} ${path}: ${error}`, { status: 502, detail });
  }
}

/** Webhooks per page of `GET /v2/webhooks` (Attio's maximum). */
const WEBHOOK_PAGE = 100;

/** A webhook as `GET /v2/webhooks` lists it (the parts we read). */
const AttioWebhookSchema = z.object({
  id: z.object({ webhook_id: z.string() }),
  target_url: z.string(),
  status: z.enum(["active", "degraded", "inactive"]),
  subscriptions: z.array(z.object({ event_type: z.string() })),
});
export type AttioWebhook = z.infer<typeof AttioWebhookSchema>;

/** One webhook with its subscriptions' filters, as `GET` and `PATCH /v2/webhooks/{id}` answer. */
const WebhookDetailSchema = z.object({
  id: z.object({ webhook_id: z.string() }),
  subscriptions: z.array(WebhookSubscriptionSchema),
});

/** Longest wait for Attio's answer when the options name none. */
const DEFAULT_TIMEOUT_MS = 30_000;

function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
}

/**
 * A request that got no answer: retryable. A write that timed out may still have been applied;
 * its retry finds the record by its match key or asserts it by its unique attribute.
 */
function unreachable(err: unknown, method: Method, path: string): SyncError {
  const message = isTimeout(err)
    ? `Attio ${method} ${path} did not answer in time`
    : `Attio unreachable: ${(err as Error).message}`;
  return new SyncError("upstream_unavailable", message, { cause: err });
}

/** Sends of one request that Attio may answer 429 before its message goes back to the queue. */
const IN_PLACE_429_ATTEMPTS = 3;
/** Longest Retry-After waited out in place (Attio's is "usually the following second"). */
const MAX_IN_PLACE_WAIT_SECONDS = 5;

/** Attio's error body (`{status_code, type, code, message}`) as text, with its code when there is one. */
async function describeError(response: Response): Promise<{ text: string; code: string | undefined }> {
  const text = await response.text();
  try {
    const parsed = AttioErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) {
      return { text: `${parsed.data.status_code} ${parsed.data.code}: ${parsed.data.message}`, code: parsed.data.code };
    }
  } catch {
    // not JSON: fall through to the status line
  }
  return { text: `HTTP ${response.status}`, code: undefined };
}

/** How long to wait for a merge Attio answered 202 for (its record reads 404 merge_in_progress meanwhile). */
const MERGE_WAIT_SECONDS = 10;

function parseData<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const envelope = body as { data?: unknown } | null;
  const result = schema.safeParse(envelope?.data);
  if (!result.success) {
    throw new SyncError(
      "upstream_rejected",
      `Attio returned an unexpected ${what}: ${result.error.issues[0]?.message}`,
      {
        detail: { path: result.error.issues[0]?.path },
      },
    );
  }
  return result.data;
}
