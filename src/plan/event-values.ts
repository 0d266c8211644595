import type { AttioValues } from "../mapping/attio-values.ts";
import type { CompiledMapping, MapOptions } from "../mapping/engine.ts";
import { attioSide, salesforceFieldsOf, salesforceSide } from "./canon.ts";
import { type Base, sameValue } from "./plan-fields.ts";

/**
 * What a Salesforce change event says about its record's fields, and whether that is already what
 * the pair's base holds. Pure.
 *
 * Most change events the sync receives are echoes of its own writes (a job's Bulk insert echoes
 * once per record). When every mapped field an event carries equals the stored base, the event
 * brings nothing to sync and the engine settles it without reading either CRM. Only events that
 * really list their fields qualify: CREATE (every non-null field is present, so a mapped field
 * that is absent is null) and UPDATE (changedFields and nulledFields name what changed). GAP events,
 * deletes and the sync's own internal messages carry no values and are always read.
 */
export interface ChangeEventValues {
  changeType: "CREATE" | "UPDATE";
  /** Field names as the event lists them (`BillingAddress.City` for compound components). */
  changedFields: readonly string[];
  nulledFields: readonly string[];
  fields: Readonly<Record<string, unknown>>;
}

/** Compound fields whose components are named without the compound's prefix. */
const NAME_COMPOUNDS = new Set(["Name"]);

/**
 * A compound component's flat field name: `BillingAddress.City` -> `BillingCity`,
 * `Name.FirstName` -> `FirstName`.
 *
 * @example flatFieldName("MailingAddress.PostalCode") // "MailingPostalCode"
 */
export function flatFieldName(name: string): string {
  const dot = name.indexOf(".");
  if (dot < 0) return name;
  const compound = name.slice(0, dot);
  const component = name.slice(dot + 1);
  if (NAME_COMPOUNDS.has(compound)) return component;
  return `${compound.replace(/Address$/, "")}${component}`;
}

/** The event's values with compound fields flattened to the names SOQL returns. */
export function flattenEventFields(fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [component, inner] of Object.entries(value)) out[flatFieldName(`${name}.${component}`)] = inner;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/**
 * Whether the event's values of the mapped fields all equal the base's Salesforce side, so the
 * event needs no read: nothing in it differs from what was last synced.
 */
export function eventMatchesBase(
  compiled: CompiledMapping,
  base: Base | null | undefined,
  event: ChangeEventValues,
): boolean {
  if (!base) return false;
  const flat = flattenEventFields(event.fields);
  const mapped = salesforceFieldsOf(compiled);
  let fields: string[];
  if (event.changeType === "CREATE") {
    fields = mapped;
    for (const field of mapped) if (!(field in flat)) flat[field] = null;
  } else {
    const named = new Set([...event.changedFields, ...event.nulledFields].map(flatFieldName));
    for (const field of event.nulledFields) flat[flatFieldName(field)] = null;
    fields = mapped.filter((field) => named.has(field));
    // A changed mapped field whose value the event does not carry cannot be compared.
    if (fields.some((field) => !(field in flat))) return false;
  }
  const values = salesforceSide(compiled, flat);
  // A field the base lacks (a reference still deferred) counts as empty there.
  return fields.every((field) => sameValue(values[field], base.salesforce[field]));
}

/**
 * Whether an Attio record's mapped values all equal the base's Attio side: nothing changed in Attio
 * since the pair was last synced (the webhook echo of our own write, an edit of unmapped
 * attributes), so its event needs no Salesforce read. Attio webhooks carry no values, so the
 * record itself is read first. A reference that cannot be resolved yet is never taken as equal.
 */
export function attioMatchesBase(
  compiled: CompiledMapping,
  base: Base | null | undefined,
  values: AttioValues,
  options: MapOptions,
): boolean {
  if (!base) return false;
  const side = attioSide(compiled, values, options);
  if (side.deferred.length > 0) return false;
  // A field neither holds (a person with no company: no AccountId) is empty on both.
  return salesforceFieldsOf(compiled).every((field) =>
    sameValue(side.values[field] ?? null, base.attio[field] ?? null),
  );
}
