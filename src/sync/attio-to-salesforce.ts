import { recordLockName } from "../durable/record-lock.ts";
import { SyncError } from "../lib/errors.ts";
import { sha256Hex } from "../lib/hmac.ts";
import { type ContactFields, personToContact } from "../mapping/person-contact.ts";
import { findByAttio, saveSyncedPair } from "../store/mappings.ts";
import { ambiguousMatches } from "../store/schema.ts";
import type { SyncDeps } from "./deps.ts";
import { canonicalJson, diffFields, type FieldChange } from "./diff.ts";
import type { AttioChangeMessage } from "./messages.ts";

export type AttioSyncOutcome =
  | { status: "created" | "updated" | "linked"; sfRecordId: string; changes: Record<string, FieldChange> }
  | { status: "unchanged"; sfRecordId: string }
  | { status: "skipped"; reason: string };

/** How long one consumer may hold a record before another may take over (it crashed). */
const LEASE_MS = 60_000;

/**
 * People -> Contact: reads the person's current values (webhooks carry ids only), maps them, and
 * creates, links or updates the Contact, then stores the pair, the new base and an audit row.
 * Serialized per person through RecordLock, so two deliveries never write the same Contact at once.
 */
export async function syncAttioRecord(deps: SyncDeps, message: AttioChangeMessage): Promise<AttioSyncOutcome> {
  if (deps.config.SYNC_DIRECTION === "sf_to_attio") return { status: "skipped", reason: "direction is sf_to_attio" };
  const object = await deps.attio.getObject(message.objectId);
  if (object.api_slug !== "people") return { status: "skipped", reason: `object ${object.api_slug} is not mapped yet` };
  if (message.eventType === "record.deleted" || message.eventType === "record.merged") {
    return { status: "skipped", reason: `${message.eventType} is not handled yet` };
  }

  const lock = deps.locks.getByName(recordLockName("attio", "people", message.recordId));
  const holder = crypto.randomUUID();
  const lease = await lock.acquire(holder, LEASE_MS);
  if (!lease.acquired) {
    throw new SyncError("record_busy", `person ${message.recordId} is being synced by another consumer`, {
      retryAfterSeconds: Math.ceil(lease.retryInMs / 1000),
    });
  }
  try {
    return await syncPerson(deps, message);
  } finally {
    await lock.release(holder);
  }
}

async function syncPerson(deps: SyncDeps, message: AttioChangeMessage): Promise<AttioSyncOutcome> {
  const record = await deps.attio.getRecord("people", message.recordId);
  if (!record) return { status: "skipped", reason: "the person no longer exists in Attio" };
  const mapped = personToContact(record.values);
  const existing = await findByAttio(deps.db, "people", message.recordId);

  if (existing) {
    const sfRecordId = existing.mapping.sfRecordId;
    const changes = diffFields(existing.state?.baseValues, { ...mapped });
    if (Object.keys(changes).length === 0) return { status: "unchanged", sfRecordId };
    await deps.salesforce.update("Contact", sfRecordId, pickAfter(changes));
    await save(deps, message, existing.mapping.id, sfRecordId, mapped, "update", changes);
    return { status: "updated", sfRecordId, changes };
  }

  const match = await findContactByEmail(deps, mapped.Email);
  if (match.kind === "ambiguous") {
    await deps.db.insert(ambiguousMatches).values({
      id: crypto.randomUUID(),
      side: "attio",
      object: "people",
      recordId: message.recordId,
      candidates: match.ids,
    });
    return {
      status: "skipped",
      reason: `${match.ids.length} Contacts share the email; recorded as an ambiguous match`,
    };
  }
  if (match.kind === "one") {
    const changes = diffFields(match.current, { ...mapped });
    if (Object.keys(changes).length > 0) await deps.salesforce.update("Contact", match.id, pickAfter(changes));
    await save(deps, message, crypto.randomUUID(), match.id, mapped, "link", changes);
    return { status: "linked", sfRecordId: match.id, changes };
  }
  const sfRecordId = await deps.salesforce.create("Contact", { ...mapped });
  const changes = diffFields(undefined, { ...mapped });
  await save(deps, message, crypto.randomUUID(), sfRecordId, mapped, "create", changes);
  return { status: "created", sfRecordId, changes };
}

type Match =
  | { kind: "none" }
  | { kind: "one"; id: string; current: Record<string, unknown> }
  | { kind: "ambiguous"; ids: string[] };

/**
 * A Contact with the same email links instead of being created again. This also makes a retry safe
 * when the Contact was created but storing the pair failed: the retry finds it and links it.
 */
async function findContactByEmail(deps: SyncDeps, email: string | null): Promise<Match> {
  if (!email) return { kind: "none" };
  const rows = await deps.salesforce.query<Record<string, unknown> & { Id: string }>(
    `SELECT Id, FirstName, LastName, Email, Phone, Title FROM Contact WHERE Email = '${soqlString(email)}' LIMIT 2`,
  );
  const [first, second] = rows;
  if (!first) return { kind: "none" };
  if (second) return { kind: "ambiguous", ids: rows.map((r) => r.Id) };
  const { FirstName, LastName, Email, Phone, Title } = first;
  return { kind: "one", id: first.Id, current: { FirstName, LastName, Email, Phone, Title } };
}

async function save(
  deps: SyncDeps,
  message: AttioChangeMessage,
  mappingId: string,
  sfRecordId: string,
  mapped: ContactFields,
  operation: "create" | "update" | "link",
  changes: Record<string, FieldChange>,
): Promise<void> {
  const baseValues = { ...mapped };
  await saveSyncedPair(deps.db, {
    mappingId,
    attioObject: "people",
    attioRecordId: message.recordId,
    sfObject: "Contact",
    sfRecordId,
    baseValues,
    baseHash: await sha256Hex(canonicalJson(baseValues)),
    direction: "attio_to_sf",
    attioSeenAt: message.receivedAt,
    audit: {
      correlationId: message.correlationId,
      direction: "attio_to_sf",
      operation,
      attioObject: "people",
      attioRecordId: message.recordId,
      sfObject: "Contact",
      sfRecordId,
      changes,
      sourceEvent: { kind: message.kind, eventType: message.eventType, dedupeKey: message.dedupeKey },
      actor: `${message.actor.type}:${message.actor.id ?? "-"}`,
    },
  });
}

function pickAfter(changes: Record<string, FieldChange>): Record<string, string | number | boolean | null> {
  return Object.fromEntries(Object.entries(changes).map(([field, change]) => [field, change.after as string | null]));
}

/** Escapes a value for a single-quoted SOQL string literal. */
export function soqlString(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/'/g, "\\'");
}
