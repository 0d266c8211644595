import { SfError, type SfErrorItem, sfError } from "./errors.ts";
import { makeId, normalizeId } from "./ids.ts";
import { type FieldDef, field, OrgSchema, type SObjectDef, STAGES } from "./schema.ts";

export type Fields = Record<string, unknown>;

export interface SfRecord {
  id: string;
  object: string;
  fields: Fields;
  deleted: boolean;
}

/** One committed change, before it becomes a change event. */
export interface Change {
  entity: string;
  id: string;
  type: "CREATE" | "UPDATE" | "DELETE";
  /** Field name -> new value: every non-null field on CREATE, the changed ones on UPDATE. */
  values: Fields;
}

/** Who writes and how: the user, and the origin that CDC reports. */
export interface WriteContext {
  userId: string;
  changeOrigin: string;
}

/** A validated write, applied only by `commit()`, so allOrNone batches can fail without side effects. */
export interface PreparedWrite {
  id: string;
  created: boolean;
  commit(): Change;
}

/** Salesforce REST datetimes: `2024-10-26T16:20:53.000+0000`, second precision. */
export function sfDateTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace("Z", "+0000");
}

/** Parsed datetimes: stamps have second precision, so 100,000s of records share few of them. */
const parsedStamps = new Map<string, number>();

export function parseSfDateTime(raw: string): number {
  let ms = parsedStamps.get(raw);
  if (ms === undefined) {
    ms = Date.parse(raw.replace(/([+-]\d\d)(\d\d)$/, "$1:$2"));
    if (parsedStamps.size >= 100_000) parsedStamps.clear();
    parsedStamps.set(raw, ms);
  }
  return ms;
}

const DERIVED_ON_WRITE = new Set([
  "Id",
  "IsDeleted",
  "CreatedDate",
  "CreatedById",
  "LastModifiedDate",
  "LastModifiedById",
  "SystemModstamp",
]);

/** Field types whose SOQL comparisons are case-insensitive text comparisons (what an index can answer). */
const TEXT_TYPES = new Set(["string", "textarea", "phone", "url", "email", "picklist"]);

/** The org's data and schema: records by object, the recycle bin, id counters, and the org's objects and fields. */
export class SalesforceStore {
  private records = new Map<string, Map<string, SfRecord>>();
  private counters = new Map<string, number>();
  /** Insertion order of every record, so index lookups answer in the order a full scan would. */
  private order = new Map<string, number>();
  /**
   * Per `Object.Field` (text fields only): lowercased value -> ids of the records (deleted ones
   * included) holding it. Built on a field's first lookup, then kept current by every write, so
   * matching by Website, Email or an external id stays fast with 100,000s of records.
   */
  private indexes = new Map<string, Map<string, Set<string>>>();
  readonly integrationUserId: string;
  readonly humanUserIds: string[];

  /**
   * `schema`: the org's objects and fields; a new org's standard ones unless given (a reset that
   * keeps the org's metadata passes the old store's).
   */
  constructor(
    private clock: () => number = Date.now,
    readonly schema: OrgSchema = new OrgSchema(),
  ) {
    for (const def of schema.objects) this.records.set(def.name, new Map());
    const users: Array<[string, string, string, string]> = [
      // The integration user, then the sales team: Ada and Bruno are also members of the Attio
      // workspace (same emails), Rosa is not.
      ["Integration", "User", "integration@harborlight-sandbox.example", "Integration"],
      ["Ada", "Okafor", "ada@harborlight.example", "Sales"],
      ["Bruno", "Lindqvist", "bruno@harborlight.example", "Sales"],
      ["Rosa", "Delgado", "rosa.delgado@harborlight.example", "Sales"],
    ];
    const ids = users.map(([first, last, email, department]) => {
      const id = this.nextId("User");
      const now = sfDateTime(Date.UTC(2025, 0, 6, 9, 0, 0));
      this.order.set(id, this.order.size);
      this.records.get("User")?.set(id, {
        id,
        object: "User",
        deleted: false,
        fields: {
          Id: id,
          IsDeleted: false,
          CreatedDate: now,
          CreatedById: id,
          LastModifiedDate: now,
          LastModifiedById: id,
          SystemModstamp: now,
          Username: email,
          FirstName: first,
          LastName: last,
          Name: `${first} ${last}`,
          Email: email,
          IsActive: true,
          Title: null,
          Department: department,
        },
      });
      return id;
    });
    this.integrationUserId = ids[0] ?? "";
    this.humanUserIds = ids.slice(1);
  }

  def(name: string): SObjectDef {
    const def = this.schema.sobject(name);
    if (!def) throw sfError(404, "NOT_FOUND", `The requested resource does not exist`);
    return def;
  }

  all(object: string, includeDeleted = false): SfRecord[] {
    const records = [...(this.records.get(this.def(object).name)?.values() ?? [])];
    return includeDeleted ? records : records.filter((record) => !record.deleted);
  }

  find(id: string): SfRecord | undefined {
    const normalized = normalizeId(id);
    if (!normalized) return undefined;
    for (const records of this.records.values()) {
      const record = records.get(normalized);
      if (record) return record;
    }
    return undefined;
  }

  /** A live record of `object`, or the error Salesforce gives for a missing one. */
  get(object: string, id: string): SfRecord {
    const def = this.def(object);
    const record = this.find(id);
    if (!record || record.object !== def.name || record.deleted)
      throw sfError(404, "NOT_FOUND", "The requested resource does not exist");
    return record;
  }

  counts(): Record<string, number> {
    const live = (records: Iterable<SfRecord>) => {
      let n = 0;
      for (const record of records) if (!record.deleted) n++;
      return n;
    };
    return Object.fromEntries(
      this.schema.objects.map((def) => [def.name, live(this.records.get(def.name)?.values() ?? [])]),
    );
  }

  findByExternalId(object: string, fieldName: string, value: string): SfRecord[] {
    const def = this.def(object);
    const f = field(def, fieldName);
    if (!f) return [];
    if (f.type === "id") {
      const record = this.find(value);
      return record && record.object === def.name && !record.deleted ? [record] : [];
    }
    const indexed = this.lookup(def.name, f.name, [value], false);
    if (indexed) return indexed;
    const wanted = value.toLowerCase();
    return this.all(def.name).filter((record) => String(record.fields[f.name] ?? "").toLowerCase() === wanted);
  }

  /**
   * Records of `object` whose text field `fieldName` equals one of `values`, ignoring case (as SOQL
   * compares text), in the order a scan of `all()` gives; `null` when the field is not a text field.
   */
  lookup(object: string, fieldName: string, values: readonly string[], includeDeleted: boolean): SfRecord[] | null {
    const def = this.def(object);
    const f = field(def, fieldName);
    const records = this.records.get(def.name);
    if (f?.type === "id") {
      // Records are kept by their 18-character id: `Id IN (...)` needs no scan.
      const byId = values.flatMap((value) => {
        const record = records?.get(normalizeId(value) ?? "");
        return record && (!record.deleted || includeDeleted) ? [record] : [];
      });
      return [...new Map(byId.map((r) => [r.id, r])).values()].sort(
        (a, b) => (this.order.get(a.id) ?? 0) - (this.order.get(b.id) ?? 0),
      );
    }
    if (!f || !TEXT_TYPES.has(f.type)) return null;
    const index = this.index(def.name, f.name);
    const found = new Map<string, SfRecord>();
    for (const value of values) {
      const wanted = value.toLowerCase();
      for (const id of index.get(wanted) ?? []) {
        const record = records?.get(id);
        // The index is kept current by writes; the check keeps a lookup exact regardless.
        if (!record || (record.deleted && !includeDeleted)) continue;
        if (String(record.fields[f.name] ?? "").toLowerCase() === wanted) found.set(id, record);
      }
    }
    return [...found.values()].sort((a, b) => (this.order.get(a.id) ?? 0) - (this.order.get(b.id) ?? 0));
  }

  private index(object: string, fieldName: string): Map<string, Set<string>> {
    const key = `${object}.${fieldName}`;
    let index = this.indexes.get(key);
    if (!index) {
      index = new Map();
      this.indexes.set(key, index);
      for (const record of this.records.get(object)?.values() ?? [])
        addToIndex(index, record.fields[fieldName], record.id);
    }
    return index;
  }

  /** Moves a written record's entries in its object's indexes (`before`: its fields before the write). */
  private reindex(record: SfRecord, before: Fields | null): void {
    for (const [key, index] of this.indexes) {
      const [object, fieldName = ""] = key.split(".");
      if (object !== record.object) continue;
      const old = before?.[fieldName];
      const now = record.fields[fieldName];
      if (before && old === now) continue;
      if (before) removeFromIndex(index, old, record.id);
      addToIndex(index, now, record.id);
    }
  }

  /** Adds a custom field to an object: existing records get its default (a checkbox's) or null. */
  addField(object: string, f: FieldDef): void {
    const def = this.def(object);
    def.fields.push(f);
    for (const record of this.records.get(def.name)?.values() ?? []) record.fields[f.name] = f.defaultValue;
  }

  /** Adds a custom object (with its system and name fields) to the org. */
  addObject(def: SObjectDef): void {
    this.schema.addObject(def);
    this.records.set(def.name, new Map());
  }

  prepareCreate(object: string, input: Fields, ctx: WriteContext): PreparedWrite {
    const def = this.def(object);
    if (!def.createable) throw sfError(400, "INVALID_TYPE", `Cannot create records of type ${def.name}`);
    const clean = this.validate(def, input, "create", null);
    const id = this.nextId(def.name);
    return {
      id,
      created: true,
      commit: () => {
        const now = sfDateTime(this.clock());
        const fields: Fields = {};
        for (const f of def.fields) fields[f.name] = null;
        Object.assign(fields, clean, {
          Id: id,
          IsDeleted: false,
          CreatedDate: now,
          CreatedById: ctx.userId,
          LastModifiedDate: now,
          LastModifiedById: ctx.userId,
          SystemModstamp: now,
        });
        for (const f of defaultedFields(def)) {
          if (f.name in clean) continue;
          if (f.autoNumber) {
            const counter = String(f.autoNumber.next++);
            fields[f.name] = f.autoNumber.format.replace(/\{(0+)\}/, (_, zeros: string) =>
              counter.padStart(zeros.length, "0"),
            );
          } else {
            // Checkboxes take their default; picklists their default value.
            fields[f.name] = f.defaultValue ?? f.picklist.find((entry) => entry.defaultValue)?.value ?? null;
          }
        }
        if ("OwnerId" in fields && fields["OwnerId"] === null) fields["OwnerId"] = ctx.userId;
        // A custom object's text name defaults to the record id when not given.
        if (def.custom && fields["Name"] === null) fields["Name"] = id;
        derive(def, fields, clean);
        const record: SfRecord = { id, object: def.name, fields, deleted: false };
        this.records.get(def.name)?.set(id, record);
        this.order.set(id, this.order.size);
        this.reindex(record, null);
        const values: Fields = {};
        for (const [name, value] of Object.entries(fields)) {
          if (value !== null && name !== "Id" && name !== "IsDeleted" && name !== "SystemModstamp")
            values[name] = value;
        }
        return { entity: def.name, id, type: "CREATE", values };
      },
    };
  }

  prepareUpdate(object: string, id: string, input: Fields, ctx: WriteContext): PreparedWrite {
    const def = this.def(object);
    const record = this.find(id);
    if (!record || record.object !== def.name) {
      throw sfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id");
    }
    if (record.deleted) throw sfError(400, "ENTITY_IS_DELETED", "entity is deleted");
    const clean = this.validate(def, input, "update", record);
    return {
      id: record.id,
      created: false,
      commit: () => {
        const next: Fields = { ...record.fields, ...clean };
        derive(def, next, clean);
        const now = sfDateTime(this.clock());
        const values: Fields = {};
        for (const [name, value] of Object.entries(next)) {
          if (!DERIVED_ON_WRITE.has(name) && record.fields[name] !== value) values[name] = value;
        }
        // Every write moves the timestamps, even one that changes nothing else.
        next["LastModifiedDate"] = now;
        next["SystemModstamp"] = now;
        if (record.fields["LastModifiedById"] !== ctx.userId) values["LastModifiedById"] = ctx.userId;
        next["LastModifiedById"] = ctx.userId;
        values["LastModifiedDate"] = now;
        const before = record.fields;
        record.fields = next;
        this.reindex(record, before);
        return { entity: def.name, id: record.id, type: "UPDATE", values };
      },
    };
  }

  prepareDelete(id: string, ctx: WriteContext): PreparedWrite {
    const record = this.find(id);
    if (!record) throw sfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id");
    if (record.deleted) throw sfError(400, "ENTITY_IS_DELETED", "entity is deleted");
    if (!this.def(record.object).createable)
      throw sfError(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id");
    return {
      id: record.id,
      created: false,
      commit: () => {
        const now = sfDateTime(this.clock());
        record.deleted = true;
        record.fields["IsDeleted"] = true;
        record.fields["SystemModstamp"] = now;
        record.fields["LastModifiedDate"] = now;
        record.fields["LastModifiedById"] = ctx.userId;
        return { entity: record.object, id: record.id, type: "DELETE", values: {} };
      },
    };
  }

  /**
   * Merges up to two losers into `masterId` as one transaction, in the order Salesforce documents for
   * merges: the losers are deleted with `MasterRecordId` set to the master, their children are
   * re-parented to the master, then the master is updated (with `masterFields`, the values a user
   * picked from the losers, if any). Everything is validated before anything is written.
   */
  merge(object: string, masterId: string, loserIds: string[], masterFields: Fields, ctx: WriteContext): Change[] {
    const def = this.def(object);
    if (!field(def, "MasterRecordId")) {
      throw sfError(400, "INVALID_OPERATION", `merge is not supported for ${def.name}`);
    }
    if (loserIds.length < 1 || loserIds.length > 2) {
      throw sfError(400, "INVALID_OPERATION", "A merge takes a master record and one or two records to merge");
    }
    const master = this.get(def.name, masterId);
    const losers = loserIds.map((id) => {
      const loser = this.find(id);
      if (!loser || loser.object !== def.name)
        throw sfError(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id");
      if (loser.deleted) throw sfError(400, "ENTITY_IS_DELETED", "entity is deleted");
      if (loser.id === master.id) throw sfError(400, "INVALID_OPERATION", "Cannot merge a record with itself");
      return loser;
    });
    if (new Set(losers.map((loser) => loser.id)).size !== losers.length) {
      throw sfError(400, "INVALID_OPERATION", "The same record is listed twice");
    }
    const loserSet = new Set(losers.map((loser) => loser.id));
    const deletes = losers.map((loser) => this.prepareDelete(loser.id, ctx));
    // Children: every live record with a lookup (other than MasterRecordId) to one of the losers.
    const reparents: PreparedWrite[] = [];
    for (const childDef of this.schema.objects) {
      const lookups = childDef.fields.filter(
        (f) => f.type === "reference" && f.name !== "MasterRecordId" && f.referenceTo.includes(def.name),
      );
      if (lookups.length === 0) continue;
      for (const child of this.all(childDef.name)) {
        if (loserSet.has(child.id)) continue;
        const moved: Fields = {};
        for (const f of lookups) {
          const value = child.fields[f.name];
          if (typeof value === "string" && loserSet.has(value))
            moved[f.name] = child.id === master.id ? null : master.id;
        }
        if (Object.keys(moved).length > 0) reparents.push(this.prepareUpdate(childDef.name, child.id, moved, ctx));
      }
    }
    const masterUpdate = this.prepareUpdate(def.name, master.id, masterFields, ctx);
    const changes: Change[] = [];
    for (const [index, prepared] of deletes.entries()) {
      changes.push(prepared.commit());
      const loser = losers[index];
      if (loser) loser.fields["MasterRecordId"] = master.id;
    }
    for (const prepared of reparents) changes.push(prepared.commit());
    changes.push(masterUpdate.commit());
    return changes;
  }

  /** Checks a write against describe: unknown, read-only, required, typed, picklist, unique, lookup. */
  private validate(def: SObjectDef, input: Fields, op: "create" | "update", existing: SfRecord | null): Fields {
    const errors: SfErrorItem[] = [];
    const clean: Fields = {};
    for (const [key, value] of Object.entries(input)) {
      if (key === "attributes" || (key.toLowerCase() === "id" && op === "update")) continue;
      const f = field(def, key);
      if (!f) {
        errors.push({
          errorCode: "INVALID_FIELD",
          message: `No such column '${key}' on sobject of type ${def.name}`,
          fields: [],
        });
        continue;
      }
      if (op === "create" ? !f.createable : !f.updateable) {
        errors.push({
          errorCode: "INVALID_FIELD_FOR_INSERT_UPDATE",
          message: `Unable to create/update fields: ${f.name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
          fields: [f.name],
        });
        continue;
      }
      const problem = this.checkValue(def, f, value, existing?.id ?? null);
      if (problem) errors.push(problem);
      else if (f.type === "boolean" && !f.nillable && (value === null || value === "")) clean[f.name] = false;
      else
        clean[f.name] = value === "" && f.type !== "string" && f.type !== "textarea" ? null : normalizeValue(f, value);
    }
    // Required on create: createable, not nillable, not defaulted. On update, no field that cannot
    // be null may be set to null (a default applies on create only).
    const missing = def.fields
      .filter((f) =>
        op === "create"
          ? f.createable &&
            !f.nillable &&
            !f.defaultedOnCreate &&
            (clean[f.name] === undefined || clean[f.name] === null)
          : f.updateable && !f.nillable && f.name in clean && clean[f.name] === null,
      )
      .map((f) => f.name);
    if (missing.length > 0) {
      errors.push({
        errorCode: "REQUIRED_FIELD_MISSING",
        message: `Required fields are missing: [${missing.join(", ")}]`,
        fields: missing,
      });
    }
    if (errors.length > 0) throw new SfError(400, errors);
    return clean;
  }

  private checkValue(def: SObjectDef, f: FieldDef, value: unknown, selfId: string | null): SfErrorItem | null {
    if (value === null || value === "") return null;
    const typeError = (): SfErrorItem => ({
      errorCode: "INVALID_TYPE_ON_FIELD_IN_RECORD",
      message: `${f.label}: value not of required type: ${String(value)}`,
      fields: [f.name],
    });
    switch (f.type) {
      case "string":
      case "textarea":
      case "phone":
      case "url":
      case "email":
      case "picklist": {
        if (typeof value !== "string") return typeError();
        if (f.length > 0 && value.length > f.length) {
          return {
            errorCode: "STRING_TOO_LONG",
            message: `${f.label}: data value too large: ${value.slice(0, 40)} (max length=${f.length})`,
            fields: [f.name],
          };
        }
        if (f.type === "email" && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) {
          return {
            errorCode: "INVALID_EMAIL_ADDRESS",
            message: `${f.label}: invalid email address: ${value}`,
            fields: [f.name],
          };
        }
        if (f.type === "picklist" && f.restrictedPicklist && !f.picklist.some((entry) => entry.value === value)) {
          return {
            errorCode: "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            message: `${f.label}: bad value for restricted picklist field: ${value}`,
            fields: [f.name],
          };
        }
        if (f.unique) {
          const clash = this.findByExternalId(def.name, f.name, value).find((record) => record.id !== selfId);
          if (clash) {
            return {
              errorCode: "DUPLICATE_VALUE",
              message: `duplicate value found: ${f.name} duplicates value on record with id: ${clash.id}`,
              fields: [f.name],
            };
          }
        }
        return null;
      }
      case "int":
        return typeof value === "number" && Number.isInteger(value) ? null : typeError();
      case "currency":
      case "double":
      case "percent": {
        if (typeof value !== "number" || !Number.isFinite(value)) return typeError();
        // precision counts every digit, scale those after the point: the rest is the integer part.
        if (f.precision > 0 && Math.abs(value) >= 10 ** (f.precision - f.scale)) {
          return {
            errorCode: "NUMBER_OUTSIDE_VALID_RANGE",
            message: `${f.label}: value outside of valid range on numeric field: ${value}`,
            fields: [f.name],
          };
        }
        return null;
      }
      case "boolean":
        return typeof value === "boolean" ? null : typeError();
      case "date":
        return typeof value === "string" && /^\d{4}-\d\d-\d\d$/.test(value) ? null : typeError();
      case "datetime":
        return typeof value === "string" && !Number.isNaN(parseSfDateTime(value)) ? null : typeError();
      case "reference": {
        const id = typeof value === "string" ? normalizeId(value) : null;
        const targets = f.referenceTo.map((name) => this.def(name).keyPrefix);
        if (!id || !targets.includes(id.slice(0, 3))) {
          return {
            errorCode: "MALFORMED_ID",
            message: `${f.label}: id value of incorrect type: ${String(value)}`,
            fields: [f.name],
          };
        }
        const target = this.find(id);
        if (!target)
          return { errorCode: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: [] };
        if (target.deleted) return { errorCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [f.name] };
        return null;
      }
      default:
        return typeError();
    }
  }

  /** Ids are drawn when a write is prepared; a rolled-back write burns its id, as in Salesforce. */
  private nextId(object: string): string {
    const def = this.def(object);
    const n = (this.counters.get(def.name) ?? 0) + 1;
    this.counters.set(def.name, n);
    return makeId(def.keyPrefix, 1_000_000 + n);
  }
}

/** Per object: the fields a create that leaves them out fills in (recomputed when fields are added). */
const defaulted = new WeakMap<SObjectDef, { count: number; fields: FieldDef[] }>();

function defaultedFields(def: SObjectDef): FieldDef[] {
  let cached = defaulted.get(def);
  if (!cached || cached.count !== def.fields.length) {
    const fields = def.fields.filter(
      (f) => f.autoNumber !== null || f.defaultValue !== null || f.picklist.some((entry) => entry.defaultValue),
    );
    cached = { count: def.fields.length, fields };
    defaulted.set(def, cached);
  }
  return cached.fields;
}

function addToIndex(index: Map<string, Set<string>>, value: unknown, id: string): void {
  if (value === null || value === undefined) return;
  const key = String(value).toLowerCase();
  const ids = index.get(key);
  if (ids) ids.add(id);
  else index.set(key, new Set([id]));
}

function removeFromIndex(index: Map<string, Set<string>>, value: unknown, id: string): void {
  if (value === null || value === undefined) return;
  const key = String(value).toLowerCase();
  const ids = index.get(key);
  ids?.delete(id);
  if (ids?.size === 0) index.delete(key);
}

function normalizeValue(f: FieldDef, value: unknown): unknown {
  if (f.type === "reference" && typeof value === "string") return normalizeId(value);
  if (f.type === "datetime" && typeof value === "string") return sfDateTime(parseSfDateTime(value));
  return value;
}

/** Fields Salesforce computes: Contact/User Name, and an Opportunity's stage-driven fields. */
function derive(def: SObjectDef, fields: Fields, written: Fields): void {
  if (def.name === "Contact" || def.name === "User") {
    fields["Name"] = [fields["FirstName"], fields["LastName"]]
      .filter((part) => typeof part === "string" && part !== "")
      .join(" ");
  }
  if (def.name === "Opportunity" && "StageName" in written) {
    const stage = STAGES.find(([name]) => name === fields["StageName"]);
    if (stage) {
      const [, probability, forecast, closed, won] = stage;
      if (!("Probability" in written)) fields["Probability"] = probability;
      if (!("ForecastCategoryName" in written)) fields["ForecastCategoryName"] = forecast;
      fields["IsClosed"] = closed;
      fields["IsWon"] = won;
    }
  }
  if (def.name === "Opportunity") {
    fields["IsClosed"] ??= false;
    fields["IsWon"] ??= false;
  }
}
