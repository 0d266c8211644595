import type { AttioRecord } from "./record-schema.ts";
import { type AttioActor, AttioActorSchema } from "./webhook-schema.ts";

/**
 * Our own actor in Attio (the API token's id, or the OAuth app's), learned from records we create.
 *
 * Attio's webhook events carry the actor of the change and no values. Once our actor is known, the
 * webhook drops the echoes of our own writes on arrival instead of queueing each one to be read
 * and found equal to its base. Attio documents no way to read an API token's actor id ahead of
 * time, but every record we create names it: `created_by` and the `created_by_actor` of the values
 * we sent are our actor.
 */

/** KV key of the learned actor. */
export const OWN_ACTOR_KEY = "attio:own-actor";

/**
 * How long before its answer reached us a record may have been created and still count as created
 * by our request: the request's own time plus any difference between Attio's clock and ours. A
 * record created earlier was someone else's.
 */
const CREATED_WITHIN_MS = 5_000;

/** Distinct records that must name the same actor before it is trusted. */
const CONFIRMATIONS = 2;

/**
 * The record's creator when it is an API actor (a token or an app) and the record was created just
 * before `receivedAtMs`, when its answer reached us.
 */
export function apiCreator(record: AttioRecord, receivedAtMs: number): AttioActor | undefined {
  const createdAt = Date.parse(record.created_at);
  if (!(createdAt >= receivedAtMs - CREATED_WITHIN_MS)) return undefined;
  const creator = record.values["created_by"]?.find((value) => value.active_until === null);
  const parsed = AttioActorSchema.safeParse({
    type: creator?.["referenced_actor_type"],
    id: creator?.["referenced_actor_id"],
  });
  if (!parsed.success || parsed.data.id === null) return undefined;
  if (parsed.data.type !== "api-token" && parsed.data.type !== "app") return undefined;
  return parsed.data;
}

/**
 * The actor of the values our update just wrote: Attio stamps every value it stores with its
 * `created_by_actor`, and ours is the API token's (or the app's) id. Only the `written` attributes'
 * active values that became active within CREATED_WITHIN_MS before `receivedAtMs` count (a value
 * Attio kept as it was still names its old writer), and they must all name one API actor.
 */
export function apiWriter(
  record: AttioRecord,
  written: readonly string[],
  receivedAtMs: number,
): AttioActor | undefined {
  const actors = new Map<string, AttioActor>();
  for (const slug of written) {
    for (const value of record.values[slug] ?? []) {
      if (value.active_until !== null || !(Date.parse(String(value.active_from)) >= receivedAtMs - CREATED_WITHIN_MS))
        continue;
      const parsed = AttioActorSchema.safeParse(value["created_by_actor"]);
      if (!parsed.success || parsed.data.id === null) return undefined;
      if (parsed.data.type !== "api-token" && parsed.data.type !== "app") return undefined;
      actors.set(actorKey(parsed.data), parsed.data);
    }
  }
  return actors.size === 1 ? [...actors.values()][0] : undefined;
}

/**
 * Learns our actor from the records our creates and updates return. A record someone else created
 * a moment before our assert matched it also names an API actor (and another integration may write
 * a value in the same instant as our update), so an actor is trusted only once CONFIRMATIONS
 * different records written by our own requests name it.
 */
export class OwnActorLearner {
  private readonly seen = new Map<string, Set<string>>();
  private learned: AttioActor | undefined;

  /** Whether the actor is learned: then nothing our writes return needs reading for it. */
  get known(): boolean {
    return this.learned !== undefined;
  }

  /**
   * Records that `actor` (apiCreator's or apiWriter's reading, if any) wrote `recordId` for us.
   * Returns the actor the first time it is confirmed, undefined otherwise.
   */
  observe(recordId: string, actor: AttioActor | undefined): AttioActor | undefined {
    if (this.learned || !actor) return undefined;
    const key = actorKey(actor);
    const records = this.seen.get(key) ?? new Set<string>();
    this.seen.set(key, records);
    records.add(recordId);
    if (records.size < CONFIRMATIONS) return undefined;
    this.learned = actor;
    return actor;
  }
}

/** The learners of this isolate, one per Attio workspace and key (see learnerFor). */
const learners = new Map<string, OwnActorLearner>();

/**
 * The isolate's learner for one API key. Per isolate, not per client: a live edit writes one
 * record per invocation, and the confirmations of several invocations must add up.
 */
export function learnerFor(apiUrl: string, apiKey: string): OwnActorLearner {
  const key = `${apiUrl}|${apiKey}`;
  let learner = learners.get(key);
  if (!learner) {
    learner = new OwnActorLearner();
    learners.set(key, learner);
  }
  return learner;
}

/**
 * Whether an event of this type can be the echo of our own write: the Worker creates, updates and
 * deletes Attio records, but never merges them, so a `record.merged` by our actor is someone else
 * using our token, and must be followed like any merge.
 */
export function canBeOurEcho(eventType: string): boolean {
  return eventType === "record.created" || eventType === "record.updated" || eventType === "record.deleted";
}

/** Whether an event's actor is ours. */
export function isOwnActor(actor: AttioActor, own: AttioActor | null | undefined): boolean {
  return own != null && actor.id !== null && actorKey(actor) === actorKey(own);
}

function actorKey(actor: AttioActor): string {
  return `${actor.type}:${actor.id}`;
}

/**
 * How long an isolate keeps the actor it read: as long as KV's edge cache keeps it (`cacheTtl`), so
 * a change is seen no later than before. Each Attio webhook reads the actor, and during a sync into
 * Attio every write sends one back (its echo): a KV read per echo was a fifth of the isolate's time
 * per echo (docs/BENCHMARKS.md).
 */
const ACTOR_CACHE_MS = 60_000;

/** The actor this isolate read last, and when (only once learned: until then each read asks KV). */
let cached: { kv: KVNamespace; actor: AttioActor; readAt: number } | undefined;

/** The learned actor, if any. KV's edge cache keeps this to one read a minute per location. */
export async function loadOwnActor(kv: KVNamespace): Promise<AttioActor | null> {
  const now = Date.now();
  if (cached && cached.kv === kv && now - cached.readAt < ACTOR_CACHE_MS) return cached.actor;
  const stored = await kv.get(OWN_ACTOR_KEY, { type: "json", cacheTtl: 60 });
  const parsed = AttioActorSchema.safeParse(stored);
  cached = parsed.success ? { kv, actor: parsed.data, readAt: now } : undefined;
  return parsed.success ? parsed.data : null;
}

export async function saveOwnActor(kv: KVNamespace, actor: AttioActor): Promise<void> {
  await kv.put(OWN_ACTOR_KEY, JSON.stringify(actor));
  cached = { kv, actor, readAt: Date.now() };
}
