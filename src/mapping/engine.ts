import { SyncError } from "../lib/errors.ts";
import { type AttioValues, currentValues } from "./attio-values.ts";
import {
  type AttioValue,
  getTransform,
  hostOf,
  type IdLookup,
  SKIP,
  scalarOf,
  type Transform,
  type TransformContext,
  type UserLookup,
} from "./transforms.ts";
import type {
  DeferredReference,
  FieldMapping,
  IndustryEntry,
  MappingIssue,
  MatchKey,
  ObjectMapping,
  SfRecord,
  SfScalar,
  StageEntry,
  TransformOptions,
} from "./types.ts";

/**
 * The mapping engine: applies an ObjectMapping to one record in either direction. Compile a mapping
 * once (compileMapping), then map as many records as needed; nothing here does I/O.
 */

/** Parts of an Attio location value; a location is written as one object with all of them. */
export const LOCATION_PARTS = [
  "line_1",
  "line_2",
  "line_3",
  "line_4",
  "locality",
  "region",
  "postcode",
  "country_code",
  "latitude",
  "longitude",
] as const;
/** Parts of an Attio personal-name value. */
export const NAME_PARTS = ["first_name", "last_name", "full_name"] as const;

const PART_KIND = new Map<string, "location" | "name">([
  ...LOCATION_PARTS.map((p) => [p, "location"] as const),
  ...NAME_PARTS.map((p) => [p, "name"] as const),
]);

export interface CompiledField {
  readonly spec: FieldMapping;
  readonly transform: Transform;
  readonly slug: string;
  readonly part: string | undefined;
  readonly toSalesforce: boolean;
  readonly toAttio: boolean;
}

export interface CompiledMapping {
  readonly mapping: ObjectMapping;
  readonly fields: readonly CompiledField[];
}

/** Splits `primary_location.locality` into slug and part; only location and name parts exist. */
export function parseAttioPath(path: string): { slug: string; part: string | undefined } | { error: string } {
  const dot = path.indexOf(".");
  if (dot === -1) return { slug: path, part: undefined };
  const slug = path.slice(0, dot);
  const part = path.slice(dot + 1);
  if (!PART_KIND.has(part)) {
    return {
      error: `"${part}" is not a part of a location (${LOCATION_PARTS.join(", ")}) or name (${NAME_PARTS.join(", ")})`,
    };
  }
  return { slug, part };
}

/** Checks every field's transform and path; throws a config_invalid SyncError naming the field. */
export function compileMapping(mapping: ObjectMapping): CompiledMapping {
  const fields = mapping.fields.map((spec, index): CompiledField => {
    const where = `mappings.${mapping.name}.fields[${index}] (${spec.attio} -> ${spec.salesforce})`;
    const transform = getTransform(spec.transform);
    if (!transform) throw new SyncError("config_invalid", `${where}: unknown transform "${spec.transform}"`);
    const path = parseAttioPath(spec.attio);
    if ("error" in path) throw new SyncError("config_invalid", `${where}: ${path.error}`);
    return {
      spec,
      transform,
      slug: path.slug,
      part: path.part,
      toSalesforce: !mapping.read_only && spec.direction !== "sf_to_attio",
      toAttio: !mapping.read_only && spec.direction !== "attio_to_sf" && transform.reversible,
    };
  });
  return { mapping, fields };
}

export interface MapOptions {
  ids?: IdLookup;
  users?: UserLookup;
  /** `YYYY-MM-DD`; only used by required-date fallbacks when a record has no created_at. */
  today?: string;
  /** Option/status titles per Attio attribute slug, when known from the schema layer. */
  attioTitles?: Readonly<Record<string, readonly string[]>>;
}

export interface SalesforceWrite {
  fields: Record<string, SfScalar>;
  issues: MappingIssue[];
  deferred: DeferredReference[];
}

export interface AttioWrite {
  /** Request-ready `data.values`: every attribute as an array of write items ([] clears it). */
  values: Record<string, unknown[]>;
  issues: MappingIssue[];
  deferred: DeferredReference[];
}

interface Collector {
  issues: MappingIssue[];
  deferred: DeferredReference[];
}

const NO_OPTIONS = Object.freeze({});

/**
 * A context reused for every field of one record (transforms are synchronous and keep no reference).
 * A class rather than an object of closures: this runs per record, and closures cost allocations.
 */
class RecordContext implements TransformContext {
  field: CompiledField | undefined;
  part: string | undefined;
  options: TransformOptions = NO_OPTIONS;
  attioTitles: readonly string[] | undefined;
  readonly stages: readonly StageEntry[];
  readonly industries: readonly IndustryEntry[];
  readonly ids: IdLookup | undefined;
  readonly users: UserLookup | undefined;
  readonly today: string | undefined;

  constructor(
    compiled: CompiledMapping,
    readonly record: AttioValues | undefined,
    private readonly mapOptions: MapOptions,
    private readonly collector: Collector | null,
    private readonly side: "attio" | "salesforce",
  ) {
    this.stages = compiled.mapping.stages;
    this.industries = compiled.mapping.industries;
    this.ids = mapOptions.ids;
    this.users = mapOptions.users;
    this.today = mapOptions.today;
  }

  focus(field: CompiledField): this {
    this.field = field;
    this.part = field.part;
    this.options = field.spec.options ?? NO_OPTIONS;
    this.attioTitles = this.mapOptions.attioTitles?.[field.slug];
    return this;
  }

  issue(code: MappingIssue["code"], message: string, value?: unknown): void {
    const spec = this.field?.spec;
    if (!spec) return;
    this.collector?.issues.push({
      code,
      attio: spec.attio,
      salesforce: spec.salesforce,
      message,
      ...(value === undefined ? {} : { value }),
    });
  }

  defer(targetObject: string, sourceId: string): void {
    const spec = this.field?.spec;
    if (!spec) return;
    this.collector?.deferred.push({
      attio: spec.attio,
      salesforce: spec.salesforce,
      targetObject,
      sourceId,
      side: this.side,
    });
  }
}

function assertWritable(compiled: CompiledMapping): void {
  if (compiled.mapping.read_only) {
    throw new SyncError(
      "mapping_failed",
      `mapping ${compiled.mapping.name} is read-only: nothing is written through it`,
    );
  }
}

/** Attio record values -> the Salesforce fields to write. */
export function mapToSalesforce(
  compiled: CompiledMapping,
  values: AttioValues,
  options: MapOptions = {},
): SalesforceWrite {
  assertWritable(compiled);
  const out: SalesforceWrite = { fields: {}, issues: [], deferred: [] };
  const ctx = new RecordContext(compiled, values, options, out, "attio");
  for (const field of compiled.fields) {
    if (!field.toSalesforce) continue;
    const value = field.transform.toSalesforce(currentValues(values, field.slug), ctx.focus(field));
    if (value !== SKIP) out.fields[field.spec.salesforce] = value;
  }
  return out;
}

function sameScalar(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if ((a === null || a === undefined || a === "") && (b === null || b === undefined || b === "")) return true;
  return typeof a === "number" && typeof b === "string" && b.trim() !== "" && Number(b) === a;
}

export interface AttioMapOptions extends MapOptions {
  /**
   * The Attio record as it is now, when updating. Unmapped parts of a location or name are kept, and
   * a field whose Salesforce value is what this record would map to is not written at all: lossy
   * mappings (industry, ranges, fallbacks, primary-of-many) then never overwrite richer Attio data.
   */
  current?: AttioValues;
}

/** Salesforce record -> Attio `data.values`. Fields absent from the record (not queried) are left alone. */
export function mapToAttio(compiled: CompiledMapping, record: SfRecord, options: AttioMapOptions = {}): AttioWrite {
  assertWritable(compiled);
  const out: AttioWrite = { values: {}, issues: [], deferred: [] };
  const { current } = options;
  const parts = new Map<string, Record<string, unknown>>();
  const silent = current ? new RecordContext(compiled, current, options, null, "attio") : null;
  const ctx = new RecordContext(compiled, current, options, out, "salesforce");
  for (const field of compiled.fields) {
    if (!field.toAttio) continue;
    const incoming = record[field.spec.salesforce];
    if (incoming === undefined) continue;
    if (current && silent) {
      const now = field.transform.toSalesforce(currentValues(current, field.slug), silent.focus(field));
      if (now !== SKIP && sameScalar(now, incoming)) continue;
    }
    const item = field.transform.toAttio(incoming, ctx.focus(field));
    if (item === SKIP) continue;
    if (field.part) {
      const composite = parts.get(field.slug) ?? {};
      composite[field.part] = item ?? null;
      parts.set(field.slug, composite);
    } else {
      out.values[field.slug] = item === null || item === undefined ? [] : [item];
    }
  }
  for (const [slug, overlay] of parts) {
    const base = current ? currentValues(current, slug)[0] : undefined;
    out.values[slug] = composeParts(overlay, base);
  }
  return out;
}

function composeParts(overlay: Record<string, unknown>, base: AttioValue | undefined): unknown[] {
  const firstPart = Object.keys(overlay)[0] ?? "";
  if (PART_KIND.get(firstPart) === "location") {
    const location: Record<string, unknown> = {};
    for (const key of LOCATION_PARTS) {
      location[key] = key in overlay ? overlay[key] : ((base?.[key] as unknown) ?? null);
    }
    return LOCATION_PARTS.every((key) => location[key] === null) ? [] : [location];
  }
  const firstName = namePart(overlay, base, "first_name");
  const lastName = namePart(overlay, base, "last_name");
  const fullName =
    "full_name" in overlay ? namePart(overlay, base, "full_name") : [firstName, lastName].filter(Boolean).join(" ");
  if (!firstName && !lastName && !fullName) return [];
  // Attio's object form of a personal name needs all three keys.
  return [{ first_name: firstName, last_name: lastName, full_name: fullName }];
}

function namePart(overlay: Record<string, unknown>, base: AttioValue | undefined, key: string): string {
  return String((key in overlay ? overlay[key] : base?.[key]) ?? "").trim();
}

/**
 * The Attio attributes a mapping reads: its fields, its match keys and the attribute holding the
 * Salesforce id. A record kept for later (a job page's listing) needs nothing else.
 *
 * @example attioAttributesRead(compileMapping(companies)) // Set { "name", "domains", "primary_location", ... }
 */
export function attioAttributesRead(compiled: CompiledMapping): ReadonlySet<string> {
  const slugs = new Set(compiled.fields.map((field) => field.slug));
  for (const key of compiled.mapping.match_keys) {
    const path = parseAttioPath(key.attio);
    if (!("error" in path)) slugs.add(path.slug);
  }
  if (compiled.mapping.attio_id_attribute) slugs.add(compiled.mapping.attio_id_attribute);
  return slugs;
}

/** Whether mapping this object's records needs the owner directory (a field with the owner transform). */
export function mapsOwners(compiled: CompiledMapping): boolean {
  return compiled.fields.some((field) => field.transform.name === "owner");
}

/** A reference the engine will look up, for prefetching the ID map for a batch. */
export interface ReferenceNeed {
  targetObject: string;
  id: string;
}

/** Attio record ids this record's reference fields will resolve (mapToSalesforce). */
export function attioReferences(compiled: CompiledMapping, values: AttioValues): ReferenceNeed[] {
  const needs: ReferenceNeed[] = [];
  for (const field of compiled.fields) {
    if (!field.toSalesforce || field.transform.name !== "record_reference") continue;
    const ref = currentValues(values, field.slug)[0];
    if (typeof ref?.["target_record_id"] === "string") {
      needs.push({
        targetObject: String(ref["target_object"] ?? field.spec.options?.["target"] ?? ""),
        id: ref["target_record_id"],
      });
    }
  }
  return needs;
}

/** Salesforce ids this record's reference fields will resolve (mapToAttio). */
export function salesforceReferences(compiled: CompiledMapping, record: SfRecord): ReferenceNeed[] {
  const needs: ReferenceNeed[] = [];
  for (const field of compiled.fields) {
    if (!field.toAttio || field.transform.name !== "record_reference") continue;
    const id = record[field.spec.salesforce];
    if (typeof id === "string" && id !== "")
      needs.push({ targetObject: String(field.spec.options?.["target"] ?? ""), id });
  }
  return needs;
}

function normalizeKey(kind: MatchKey["normalize"], value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const text = String(value).trim();
  if (text === "") return null;
  switch (kind) {
    case "email":
      return text.toLowerCase();
    case "domain":
      return hostOf(text);
    case "text":
      return text.toLowerCase().replace(/\s+/g, " ");
    default:
      return text;
  }
}

export interface MatchKeyValue {
  attio: string;
  salesforce: string;
  /** Normalised, comparable on both sides. */
  value: string;
}

/** The normalised identity values of an Attio record (all its emails/domains, not only the first). */
export function attioMatchKeys(mapping: ObjectMapping, values: AttioValues): MatchKeyValue[] {
  const keys: MatchKeyValue[] = [];
  for (const key of mapping.match_keys) {
    const path = parseAttioPath(key.attio);
    if ("error" in path) continue;
    for (const value of currentValues(values, path.slug)) {
      const normalized = normalizeKey(key.normalize, scalarOf(value, path.part));
      if (normalized !== null) keys.push({ attio: key.attio, salesforce: key.salesforce, value: normalized });
    }
  }
  return keys;
}

/** The normalised identity values of a Salesforce record, comparable with attioMatchKeys. */
export function salesforceMatchKeys(mapping: ObjectMapping, record: SfRecord): MatchKeyValue[] {
  const keys: MatchKeyValue[] = [];
  for (const key of mapping.match_keys) {
    const normalized = normalizeKey(key.normalize, record[key.salesforce]);
    if (normalized !== null) keys.push({ attio: key.attio, salesforce: key.salesforce, value: normalized });
  }
  return keys;
}
