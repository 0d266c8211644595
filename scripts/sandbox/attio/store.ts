import { SeededRandom } from "../shared/random.ts";
import { AttioError, invalid, notFound } from "./errors.ts";
import {
  type AttributeDef,
  attioTimestamp,
  buildObjects,
  findAttribute,
  type ObjectDef,
  type OptionDef,
} from "./schema.ts";
import {
  addDuration,
  identityOf,
  optionFields,
  parseInput,
  rootDomain,
  type ValueContext,
  type ValueFields,
} from "./values.ts";

export interface Actor {
  type: "api-token" | "workspace-member" | "system" | "app";
  id: string | null;
}

export interface StoredValue {
  activeFrom: string;
  actor: Actor;
  fields: ValueFields;
}

export interface StoredRecord {
  id: string;
  object: string;
  createdAt: string;
  values: Map<string, StoredValue[]>;
}

export interface Member {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
  accessLevel: "admin" | "member" | "suspended";
  createdAt: string;
}

/** A change, before it becomes a webhook event: ids and the actor only, as Attio sends. */
export interface RecordEvent {
  event_type: "record.created" | "record.updated" | "record.deleted" | "record.merged";
  id: { workspace_id: string; object_id: string; record_id: string; attribute_id?: string };
  duplicate_object_id?: string;
  duplicate_record_id?: string;
  actor: Actor;
}

/** A change to an object's attributes (webhook docs "object-attribute.created/updated"). */
export interface AttributeEvent {
  event_type: "object-attribute.created" | "object-attribute.updated";
  id: { workspace_id: string; object_id: string; attribute_id: string };
  actor: Actor;
}

/** Every event the emulator delivers to webhooks. */
export type AttioEvent = RecordEvent | AttributeEvent;

export function isRecordEvent(event: AttioEvent): event is RecordEvent {
  return event.event_type.startsWith("record.");
}

/** PATCH appends multiselect values; PUT (by id) overwrites; assert appends only on the matching attribute. */
export type WriteMode =
  | { kind: "create" }
  | { kind: "append" }
  | { kind: "overwrite" }
  | { kind: "assert"; matching: string };

export interface WriteResult {
  record: StoredRecord;
  events: RecordEvent[];
  created: boolean;
}

const MEMBERS: Array<Pick<Member, "firstName" | "lastName" | "email" | "accessLevel">> = [
  { firstName: "Ada", lastName: "Okafor", email: "ada@harborlight.example", accessLevel: "admin" },
  { firstName: "Bruno", lastName: "Lindqvist", email: "bruno@harborlight.example", accessLevel: "member" },
  { firstName: "Chiara", lastName: "Moretti", email: "chiara@harborlight.example", accessLevel: "member" },
];

/** The emulated workspace: objects, attributes, records, members. All ids derive from the seed. */
export class AttioStore {
  readonly random: SeededRandom;
  readonly workspace: { id: string; name: string; slug: string };
  readonly tokenActorId: string;
  readonly objects: ObjectDef[];
  readonly members: Member[];
  private records = new Map<string, Map<string, StoredRecord>>();
  /** Records made by a merge that answered 202: id -> when (clock ms) the merge is done. */
  private mergePending = new Map<string, number>();
  /** `${object}/${attribute}/${identity}` -> record id, for unique attributes. */
  private uniqueIndex = new Map<string, string>();
  private lastMs = 0;
  /** Bumped by every change to a record, so answers computed from the records know when they are stale. */
  private version = 0;
  private memo = new Map<string, { version: number; value: unknown }>();

  constructor(
    seed: number,
    private clock: () => number = Date.now,
  ) {
    this.random = new SeededRandom(seed);
    const created = attioTimestamp(Date.UTC(2025, 0, 6, 9, 0, 0));
    this.workspace = { id: this.random.uuid(), name: "Harborlight Sandbox", slug: "harborlight-sandbox" };
    this.tokenActorId = this.random.uuid();
    this.objects = buildObjects(this.random, created);
    this.members = MEMBERS.map((member) => ({ ...member, id: this.random.uuid(), createdAt: created }));
    for (const object of this.objects) this.records.set(object.slug, new Map());
  }

  get apiActor(): Actor {
    return { type: "api-token", id: this.tokenActorId };
  }

  object(slugOrId: string): ObjectDef {
    const object = this.objects.find((candidate) => candidate.slug === slugOrId || candidate.id === slugOrId);
    if (!object) throw notFound(`Object with slug/ID "${slugOrId}" not found.`);
    return object;
  }

  attribute(object: ObjectDef, slugOrId: string): AttributeDef | undefined {
    return findAttribute(object, slugOrId);
  }

  /**
   * `compute()`, kept until the next change to any record. Attio answers a sorted page from an
   * index; without one, sorting 100,000 records for each page of 500 held the emulator's event
   * loop for tens of ms per page, and the requests behind it were let in together.
   */
  memoized<T>(key: string, compute: () => T): T {
    const kept = this.memo.get(key);
    if (kept && kept.version === this.version) return kept.value as T;
    const value = compute();
    this.memo.set(key, { version: this.version, value });
    return value;
  }

  list(object: ObjectDef): StoredRecord[] {
    const all = [...(this.records.get(object.slug)?.values() ?? [])];
    return this.mergePending.size === 0 ? all : all.filter((record) => !this.merging(record.id));
  }

  /**
   * A record by id. Records merged away are gone (404 `not_found`); the record a merge is still
   * building answers 404 `merge_in_progress` to reads and 400 `merge_in_progress` to writes.
   */
  get(object: ObjectDef, recordId: string, purpose: "read" | "write" = "read"): StoredRecord {
    const record = this.records.get(object.slug)?.get(recordId);
    if (!record) throw notFound(`Record with ID "${recordId}" not found.`);
    if (this.merging(recordId)) {
      const message = `Record with ID "${recordId}" is the result of a merge that is still in progress.`;
      throw new AttioError(purpose === "read" ? 404 : 400, "invalid_request_error", "merge_in_progress", message);
    }
    return record;
  }

  private merging(recordId: string): boolean {
    const until = this.mergePending.get(recordId);
    if (until === undefined) return false;
    if (this.clock() < until) return true;
    this.mergePending.delete(recordId);
    return false;
  }

  count(): Record<string, number> {
    return Object.fromEntries([...this.records].map(([slug, records]) => [slug, records.size]));
  }

  /** Monotonic timestamps, so two writes in one millisecond still have ordered active_from values. */
  now(): string {
    this.lastMs = Math.max(this.clock(), this.lastMs + 1);
    return attioTimestamp(this.lastMs);
  }

  valueContext(): ValueContext {
    return {
      workspaceId: this.workspace.id,
      objectBySlug: (slug) => this.objects.find((object) => object.slug === slug || object.id === slug),
      findByUnique: (object, attribute, identity) => this.uniqueIndex.get(`${object}/${attribute}/${identity}`),
      recordExists: (object, id) => this.records.get(object)?.has(id) ?? false,
      memberIdByEmail: (email) => this.members.find((member) => member.email === email)?.id,
      memberExists: (id) => this.members.some((member) => member.id === id),
    };
  }

  /** An object created through the API: it starts with no records. */
  addObject(object: ObjectDef): void {
    this.objects.push(object);
    this.records.set(object.slug, new Map());
    this.version++;
  }

  /** An attribute created through the API, listed before the system attributes that end every object. */
  addAttribute(object: ObjectDef, attribute: AttributeDef): void {
    const tail = object.attributes.findIndex((candidate) => candidate.slug === "created_at" && candidate.system);
    object.attributes.splice(tail === -1 ? object.attributes.length : tail, 0, attribute);
    this.version++;
  }

  /** A new api_slug: stored values, unique lookups and the other side of a relationship follow it. */
  renameAttribute(object: ObjectDef, attribute: AttributeDef, slug: string): void {
    const before = attribute.slug;
    if (attribute.unique) this.indexUnique(object, attribute, false);
    for (const record of this.records.get(object.slug)?.values() ?? []) {
      const values = record.values.get(before);
      record.values.delete(before);
      if (values) record.values.set(slug, values);
    }
    attribute.slug = slug;
    if (attribute.unique) this.indexUnique(object, attribute, true);
    for (const other of this.objects) {
      for (const candidate of other.attributes) {
        if (candidate.inverse?.object === object.slug && candidate.inverse.attribute === before) {
          candidate.inverse = { object: object.slug, attribute: slug };
        }
      }
    }
    this.version++;
  }

  /** Turns uniqueness on or off. As on Attio, it applies to new values only: existing duplicates stay. */
  setUnique(object: ObjectDef, attribute: AttributeDef, unique: boolean): void {
    if (attribute.unique === unique) return;
    if (!unique) this.indexUnique(object, attribute, false);
    attribute.unique = unique;
    if (unique) this.indexUnique(object, attribute, true);
  }

  private indexUnique(object: ObjectDef, attribute: AttributeDef, add: boolean): void {
    for (const record of this.records.get(object.slug)?.values() ?? []) {
      for (const value of record.values.get(attribute.slug) ?? []) {
        const key = `${object.slug}/${attribute.slug}/${identityOf(attribute, value.fields)}`;
        if (add) {
          if (!this.uniqueIndex.has(key)) this.uniqueIndex.set(key, record.id);
        } else if (this.uniqueIndex.get(key) === record.id) this.uniqueIndex.delete(key);
      }
    }
  }

  /** A select option or status was renamed or (un)archived: values that hold it show the change. */
  refreshOption(object: ObjectDef, attribute: AttributeDef, option: OptionDef): void {
    const key = attribute.type === "status" ? "status" : "option";
    const idKey = attribute.type === "status" ? "status_id" : "option_id";
    const fields = optionFields(this.workspace.id, object, attribute, option);
    for (const record of this.records.get(object.slug)?.values() ?? []) {
      for (const value of record.values.get(attribute.slug) ?? []) {
        const held = value.fields[key] as { id: Record<string, string> } | undefined;
        if (held?.id[idKey] === option.id) value.fields = fields;
      }
    }
    this.version++;
  }

  attributeEvent(
    type: AttributeEvent["event_type"],
    object: ObjectDef,
    attribute: AttributeDef,
    actor: Actor,
  ): AttributeEvent {
    return {
      event_type: type,
      id: { workspace_id: this.workspace.id, object_id: object.id, attribute_id: attribute.id },
      actor,
    };
  }

  /** `enrich` lets the `system` actor write attributes the API cannot (Attio's own enrichment). */
  create(objectSlug: string, input: unknown, actor: Actor, enrich = false): WriteResult {
    const object = this.object(objectSlug);
    const parsed = this.parseValues(object, input, enrich);
    return this.write(object, null, parsed, actor, { kind: "create" });
  }

  assert(objectSlug: string, matching: string, input: unknown, actor: Actor): WriteResult {
    const object = this.object(objectSlug);
    const attribute = this.attribute(object, matching);
    if (!attribute) {
      throw invalid("value_not_found", `No attribute was found for matching_attribute slug/ID "${matching}".`);
    }
    if (!attribute.unique)
      throw invalid("validation_type", "The matching attribute specified is not a unique attribute");
    const parsed = this.parseValues(object, input);
    const candidates = parsed.get(attribute);
    if (!candidates || candidates.length === 0) {
      throw invalid("missing_value", `Required value for matching attribute "${attribute.slug}" was not provided.`);
    }
    const matches = new Set<string>();
    for (const fields of candidates) {
      const id = this.uniqueIndex.get(`${object.slug}/${attribute.slug}/${identityOf(attribute, fields)}`);
      if (id) matches.add(id);
    }
    if (matches.size > 1) {
      throw invalid("multiple_match_results", `Multiple records match the value of "${attribute.slug}".`);
    }
    const [existing] = [...matches];
    const record = existing ? this.get(object, existing, "write") : null;
    return this.write(
      object,
      record,
      parsed,
      actor,
      record ? { kind: "assert", matching: attribute.slug } : { kind: "create" },
    );
  }

  update(
    objectSlug: string,
    recordId: string,
    input: unknown,
    actor: Actor,
    mode: "append" | "overwrite",
    enrich = false,
  ): WriteResult {
    const object = this.object(objectSlug);
    const record = this.get(object, recordId, "write");
    const parsed = this.parseValues(object, input, enrich);
    return this.write(object, record, parsed, actor, { kind: mode });
  }

  delete(objectSlug: string, recordId: string, actor: Actor): RecordEvent[] {
    const object = this.object(objectSlug);
    const record = this.get(object, recordId);
    const events: RecordEvent[] = [];
    // Deleting a record removes it from the other side of its relationships.
    for (const attribute of object.attributes) {
      if (attribute.inverse) {
        for (const value of record.values.get(attribute.slug) ?? []) {
          this.unlinkInverse(record, attribute, String(value.fields["target_record_id"]), actor, events);
        }
      }
      this.setValues(object, record, attribute, []);
    }
    this.records.get(object.slug)?.delete(recordId);
    this.version++;
    events.unshift(this.event("record.deleted", object, recordId, actor));
    return events;
  }

  /**
   * Merges `duplicateId` into `primaryId` the way the older record.merged docs describe: values the
   * primary lacks are copied from the duplicate, which is then deleted.
   */
  merge(objectSlug: string, primaryId: string, duplicateId: string, actor: Actor): RecordEvent[] {
    const object = this.object(objectSlug);
    const primary = this.get(object, primaryId);
    const duplicate = this.get(object, duplicateId);
    if (primaryId === duplicateId) throw invalid("self_merge", "A record cannot be merged with itself.");
    const copied = new Map<AttributeDef, ValueFields[]>();
    for (const attribute of object.attributes) {
      if (attribute.system || !attribute.writable) continue;
      const theirs = duplicate.values.get(attribute.slug) ?? [];
      const ours = primary.values.get(attribute.slug) ?? [];
      if (theirs.length > 0 && (attribute.multiselect || ours.length === 0)) {
        copied.set(
          attribute,
          theirs.map((value) => value.fields),
        );
      }
    }
    const deleted = this.delete(object.slug, duplicateId, actor);
    const written = this.write(object, primary, copied, actor, { kind: "append" }).events;
    const merged = this.event("record.merged", object, primaryId, actor);
    merged.duplicate_object_id = object.id;
    merged.duplicate_record_id = duplicateId;
    // The merge itself is one record.merged; relationship fix-ups on other records still fire updates.
    const elsewhere = (event: RecordEvent) => event.id.record_id !== duplicateId && event.id.record_id !== primaryId;
    return [merged, ...deleted.filter(elsewhere), ...written.filter(elsewhere)];
  }

  /**
   * `POST /v2/objects/{object}/records/merge` (docs "merge two records"): a new record gets both
   * originals' values, the primary's where both have one and, for multiselect attributes, the
   * values of both (primary first) so that no email address or domain is lost. Both originals are
   * gone afterwards (404 on any read or write; a repeat of the merge is a 404). Records that
   * referenced either original reference the new record. Two `record.merged` events name the new
   * record in `id.record_id` and one original each in `duplicate_record_id`; the docs mention no
   * `record.created` for the new record, so none is sent. `pendingMs` > 0 emulates a merge answered
   * with 202: the new record answers `merge_in_progress` until then.
   */
  mergeIntoNew(
    objectSlug: string,
    primaryId: string,
    secondaryId: string,
    actor: Actor,
    pendingMs = 0,
  ): { newRecordId: string; events: RecordEvent[] } {
    const object = this.object(objectSlug);
    if (primaryId === secondaryId) {
      throw invalid("self_merge", `Cannot merge record with ID "${primaryId}" with itself.`);
    }
    const primary = this.get(object, primaryId, "write");
    const secondary = this.get(object, secondaryId, "write");
    const originals = new Set([primary.id, secondary.id]);
    const newId = this.random.uuid();
    const repoint = (value: StoredValue): StoredValue =>
      value.fields["target_object"] === object.slug && originals.has(String(value.fields["target_record_id"]))
        ? { ...value, fields: { ...value.fields, target_record_id: newId } }
        : value;
    const values = new Map<AttributeDef, StoredValue[]>();
    for (const attribute of object.attributes) {
      if (attribute.system) continue;
      const ours = primary.values.get(attribute.slug) ?? [];
      const theirs = secondary.values.get(attribute.slug) ?? [];
      const both = attribute.multiselect ? [...ours, ...theirs] : ours.length > 0 ? ours : theirs;
      const seen = new Set<string>();
      const merged = both.map(repoint).filter((value) => {
        const key = identityOf(attribute, value.fields);
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
      values.set(attribute, merged);
    }
    // The originals let go of their unique values first: the new record takes them.
    for (const original of [primary, secondary]) {
      for (const attribute of object.attributes) {
        if (attribute.unique) this.setValues(object, original, attribute, []);
      }
      this.records.get(object.slug)?.delete(original.id);
    }
    const now = this.now();
    const stamp = (fields: ValueFields): StoredValue[] => [{ activeFrom: now, actor, fields }];
    const record: StoredRecord = { id: newId, object: object.slug, createdAt: now, values: new Map() };
    record.values.set("record_id", stamp({ value: newId }));
    record.values.set("created_at", stamp({ value: now }));
    record.values.set("created_by", stamp({ referenced_actor_type: actor.type, referenced_actor_id: actor.id }));
    this.records.get(object.slug)?.set(newId, record);
    for (const [attribute, next] of values) this.setValues(object, record, attribute, next);
    const events: RecordEvent[] = [primary.id, secondary.id].map((original) => ({
      ...this.event("record.merged", object, newId, actor),
      duplicate_object_id: object.id,
      duplicate_record_id: original,
    }));
    this.repointReferences(object, originals, record, actor, events);
    if (pendingMs > 0) this.mergePending.set(newId, this.clock() + pendingMs);
    this.version++;
    return { newRecordId: newId, events };
  }

  /**
   * After a merge: every other record that referenced an original references the merged record.
   * The far side of a two-way relationship keeps the link only where the merged record kept it
   * (a person merged from two with different companies stays in the team of the primary's one).
   */
  private repointReferences(
    object: ObjectDef,
    originals: Set<string>,
    merged: StoredRecord,
    actor: Actor,
    events: RecordEvent[],
  ): void {
    for (const other of this.objects) {
      const references = other.attributes.filter((attribute) => attribute.type === "record-reference");
      if (references.length === 0) continue;
      for (const record of this.records.get(other.slug)?.values() ?? []) {
        if (record.id === merged.id) continue;
        for (const attribute of references) {
          const before = record.values.get(attribute.slug) ?? [];
          if (!before.some((value) => pointsAt(value, object.slug, originals))) continue;
          const inverse = attribute.inverse?.object === object.slug ? attribute.inverse.attribute : undefined;
          const keep =
            inverse === undefined ||
            (merged.values.get(inverse) ?? []).some((value) => value.fields["target_record_id"] === record.id);
          const seen = new Set<string>();
          const next: StoredValue[] = [];
          for (const value of before) {
            let kept = value;
            if (pointsAt(value, object.slug, originals)) {
              if (!keep) continue;
              kept = { ...value, fields: { ...value.fields, target_record_id: merged.id } };
            }
            const key = identityOf(attribute, kept.fields);
            if (!seen.has(key)) next.push(kept);
            seen.add(key);
          }
          this.setValues(other, record, attribute, next);
          events.push(this.event("record.updated", other, record.id, actor, attribute.id));
        }
      }
    }
  }

  /** Attio's read form of a record. */
  serialize(object: ObjectDef, record: StoredRecord): unknown {
    const values: Record<string, unknown[]> = {};
    for (const attribute of object.attributes) {
      if (attribute.archived) continue;
      values[attribute.slug] = (record.values.get(attribute.slug) ?? []).map((value) => ({
        active_from: value.activeFrom,
        active_until: null,
        created_by_actor: value.actor,
        ...value.fields,
        attribute_type: attribute.type,
      }));
    }
    const noun =
      object.slug === "people" ? "person" : object.slug === "companies" ? "company" : `${object.slug}/record`;
    return {
      id: { workspace_id: this.workspace.id, object_id: object.id, record_id: record.id },
      created_at: record.createdAt,
      web_url: `https://app.attio.com/${this.workspace.slug}/${noun}/${record.id}`,
      values,
    };
  }

  private parseValues(object: ObjectDef, input: unknown, enrich = false): Map<AttributeDef, ValueFields[]> {
    if (input === null || typeof input !== "object" || Array.isArray(input)) {
      throw invalid("validation_type", "Body payload validation error: data.values must be an object.");
    }
    const ctx = this.valueContext();
    const parsed = new Map<AttributeDef, ValueFields[]>();
    for (const [key, raw] of Object.entries(input)) {
      const attribute = this.attribute(object, key);
      // Archived attributes cannot be written until they are restored.
      if (!attribute || attribute.archived) {
        throw invalid("value_not_found", `Cannot find attribute with slug/ID "${key}".`);
      }
      if (!attribute.writable && !(enrich && !attribute.system && attribute.type !== "interaction")) {
        throw invalid("system_edit_unauthorized", `Cannot update a System attribute ("${attribute.slug}").`);
      }
      parsed.set(attribute, parseInput(object, attribute, raw, ctx));
    }
    return parsed;
  }

  private write(
    object: ObjectDef,
    existing: StoredRecord | null,
    parsed: Map<AttributeDef, ValueFields[]>,
    actor: Actor,
    mode: WriteMode,
  ): WriteResult {
    const recordId = existing?.id ?? this.random.uuid();
    if (mode.kind === "create") this.applyDefaults(object, parsed, actor);
    this.checkUnique(object, recordId, parsed);
    const missing = (attribute: AttributeDef) =>
      invalid("missing_value", `Required value for attribute with ID "${attribute.id}" was not provided.`);
    for (const attribute of object.attributes) {
      if (!attribute.required || attribute.archived) continue;
      const incoming = parsed.get(attribute);
      // A new record needs a value; an update may not clear one (PATCH/PUT answer 400 missing_value).
      if (mode.kind === "create" && (incoming?.length ?? 0) === 0) throw missing(attribute);
      if (mode.kind !== "create" && incoming !== undefined && incoming.length === 0) {
        const appended = attribute.multiselect && mode.kind === "append";
        if (!appended || (existing?.values.get(attribute.slug)?.length ?? 0) === 0) throw missing(attribute);
      }
    }
    const now = this.now();
    const events: RecordEvent[] = [];
    let record = existing;
    if (!record) {
      record = { id: recordId, object: object.slug, createdAt: now, values: new Map() };
      this.records.get(object.slug)?.set(recordId, record);
      this.version++;
      const stamp = (fields: ValueFields): StoredValue[] => [{ activeFrom: now, actor, fields }];
      record.values.set("record_id", stamp({ value: recordId }));
      record.values.set("created_at", stamp({ value: now }));
      record.values.set("created_by", stamp({ referenced_actor_type: actor.type, referenced_actor_id: actor.id }));
      events.push(this.event("record.created", object, recordId, actor));
    }
    for (const [attribute, incoming] of parsed) {
      const before = record.values.get(attribute.slug) ?? [];
      const append =
        attribute.multiselect &&
        (mode.kind === "append" || (mode.kind === "assert" && mode.matching === attribute.slug));
      const next = merge(attribute, before, incoming, append, now, actor);
      if (sameValues(attribute, before, next)) continue;
      this.setValues(object, record, attribute, next);
      // New records announce themselves with record.created only.
      if (existing) events.push(this.event("record.updated", object, recordId, actor, attribute.id));
      if (attribute.inverse) this.syncInverse(object, record, attribute, before, next, actor, events);
    }
    if (object.slug === "people") this.linkCompanyByEmail(object, record, events);
    return { record, events, created: !existing };
  }

  /** Default values (docs "default values"): static templates, or the creating actor, or now + a duration. */
  private applyDefaults(object: ObjectDef, parsed: Map<AttributeDef, ValueFields[]>, actor: Actor): void {
    for (const attribute of object.attributes) {
      const template = attribute.defaultValue;
      if (!template || attribute.archived || parsed.has(attribute)) continue;
      if (template.type === "static") {
        parsed.set(
          attribute,
          template.template.map((fields) => ({ ...fields })),
        );
      } else if (template.template === "current-user") {
        parsed.set(attribute, [{ referenced_actor_type: actor.type, referenced_actor_id: actor.id }]);
      } else {
        const at = addDuration(this.clock(), template.template);
        const value = attribute.type === "date" ? new Date(at).toISOString().slice(0, 10) : attioTimestamp(at);
        parsed.set(attribute, [{ value }]);
      }
    }
  }

  private checkUnique(object: ObjectDef, recordId: string, parsed: Map<AttributeDef, ValueFields[]>): void {
    for (const [attribute, values] of parsed) {
      if (!attribute.unique) continue;
      for (const fields of values) {
        const owner = this.uniqueIndex.get(`${object.slug}/${attribute.slug}/${identityOf(attribute, fields)}`);
        if (owner && owner !== recordId) {
          const shown = JSON.stringify(uniqueDisplay(attribute, fields));
          throw invalid(
            "uniqueness_conflict",
            `The value "${shown}" provided for attribute with ID "${attribute.id}" conflicts with one already in the system.`,
          );
        }
      }
    }
  }

  private setValues(object: ObjectDef, record: StoredRecord, attribute: AttributeDef, next: StoredValue[]): void {
    if (attribute.unique) {
      for (const value of record.values.get(attribute.slug) ?? []) {
        this.uniqueIndex.delete(`${object.slug}/${attribute.slug}/${identityOf(attribute, value.fields)}`);
      }
      for (const value of next) {
        this.uniqueIndex.set(`${object.slug}/${attribute.slug}/${identityOf(attribute, value.fields)}`, record.id);
      }
    }
    record.values.set(attribute.slug, next);
    this.version++;
  }

  /** Keeps the other side of a two-way relationship (people.company <-> companies.team, ...) in step. */
  private syncInverse(
    object: ObjectDef,
    record: StoredRecord,
    attribute: AttributeDef,
    before: StoredValue[],
    next: StoredValue[],
    actor: Actor,
    events: RecordEvent[],
  ): void {
    const ids = (values: StoredValue[]) => new Set(values.map((value) => String(value.fields["target_record_id"])));
    const was = ids(before);
    const now = ids(next);
    for (const id of was) if (!now.has(id)) this.unlinkInverse(record, attribute, id, actor, events);
    for (const id of now) {
      if (was.has(id) || !attribute.inverse) continue;
      const targetObject = this.object(attribute.inverse.object);
      const target = this.records.get(targetObject.slug)?.get(id);
      const inverse = this.attribute(targetObject, attribute.inverse.attribute);
      if (!target || !inverse) continue;
      const link: StoredValue = {
        activeFrom: this.now(),
        actor,
        fields: { target_object: object.slug, target_record_id: record.id },
      };
      const current = target.values.get(inverse.slug) ?? [];
      // A single-valued inverse (people.company) moves: the old side loses the record.
      if (!inverse.multiselect) {
        for (const old of current) {
          const oldOwner = this.records.get(object.slug)?.get(String(old.fields["target_record_id"]));
          if (oldOwner && oldOwner.id !== record.id) {
            const left = (oldOwner.values.get(attribute.slug) ?? []).filter(
              (value) => value.fields["target_record_id"] !== target.id,
            );
            this.setValues(object, oldOwner, attribute, left);
            events.push(this.event("record.updated", object, oldOwner.id, actor, attribute.id));
          }
        }
      }
      this.setValues(targetObject, target, inverse, inverse.multiselect ? [...current, link] : [link]);
      events.push(this.event("record.updated", targetObject, target.id, actor, inverse.id));
    }
  }

  private unlinkInverse(
    record: StoredRecord,
    attribute: AttributeDef,
    targetId: string,
    actor: Actor,
    events: RecordEvent[],
  ): void {
    if (!attribute.inverse) return;
    const targetObject = this.objects.find((candidate) => candidate.slug === attribute.inverse?.object);
    const target = targetObject ? this.records.get(targetObject.slug)?.get(targetId) : undefined;
    const inverse = targetObject ? this.attribute(targetObject, attribute.inverse.attribute) : undefined;
    if (!targetObject || !target || !inverse) return;
    const current = target.values.get(inverse.slug) ?? [];
    const left = current.filter((value) => value.fields["target_record_id"] !== record.id);
    if (left.length === current.length) return;
    this.setValues(targetObject, target, inverse, left);
    events.push(this.event("record.updated", targetObject, target.id, actor, inverse.id));
  }

  /**
   * Attio links a person to the company whose domain matches their email, as the `system` actor
   * (recorded: the `company` value of a new person is created by `{"type":"system","id":null}`).
   */
  private linkCompanyByEmail(people: ObjectDef, person: StoredRecord, events: RecordEvent[]): void {
    if ((person.values.get("company") ?? []).length > 0) return;
    const companyAttribute = this.attribute(people, "company");
    if (!companyAttribute) return;
    for (const email of person.values.get("email_addresses") ?? []) {
      const domain = rootDomain(String(email.fields["email_domain"]));
      const companyId = this.uniqueIndex.get(`companies/domains/${domain}`);
      if (!companyId) continue;
      const system: Actor = { type: "system", id: null };
      const value: StoredValue = {
        activeFrom: this.now(),
        actor: system,
        fields: { target_object: "companies", target_record_id: companyId },
      };
      this.setValues(people, person, companyAttribute, [value]);
      events.push(this.event("record.updated", people, person.id, system, companyAttribute.id));
      this.syncInverse(people, person, companyAttribute, [], [value], system, events);
      return;
    }
  }

  event(
    type: RecordEvent["event_type"],
    object: ObjectDef,
    recordId: string,
    actor: Actor,
    attributeId?: string,
  ): RecordEvent {
    const id: RecordEvent["id"] = { workspace_id: this.workspace.id, object_id: object.id, record_id: recordId };
    if (attributeId) id.attribute_id = attributeId;
    return { event_type: type, id, actor };
  }
}

function merge(
  attribute: AttributeDef,
  before: StoredValue[],
  incoming: ValueFields[],
  append: boolean,
  now: string,
  actor: Actor,
): StoredValue[] {
  const existing = new Map(before.map((value) => [identityOf(attribute, value.fields), value]));
  const fresh = incoming.map(
    (fields) => existing.get(identityOf(attribute, fields)) ?? { activeFrom: now, actor, fields },
  );
  if (!append) return fresh;
  const kept = new Set(before.map((value) => identityOf(attribute, value.fields)));
  return [...before, ...fresh.filter((value) => !kept.has(identityOf(attribute, value.fields)))];
}

function sameValues(attribute: AttributeDef, a: StoredValue[], b: StoredValue[]): boolean {
  if (a.length !== b.length) return false;
  // Identity alone would miss edits to non-identity fields (a text value is its own identity, a name is JSON).
  return a.every((value, i) => {
    const other = b[i];
    return (
      other !== undefined &&
      identityOf(attribute, value.fields) === identityOf(attribute, other.fields) &&
      value === other
    );
  });
}

function pointsAt(value: StoredValue, objectSlug: string, ids: Set<string>): boolean {
  return value.fields["target_object"] === objectSlug && ids.has(String(value.fields["target_record_id"]));
}

function uniqueDisplay(attribute: AttributeDef, fields: ValueFields): unknown {
  if (attribute.type === "email-address") return { email_address: fields["email_address"] };
  if (attribute.type === "domain") return { domain: fields["domain"] };
  if ("value" in fields) return { value: fields["value"] };
  return fields;
}
