import { invalid } from "./errors.ts";
import { type AttributeDef, attioTimestamp, type ObjectDef, type OptionDef } from "./schema.ts";

/** The type-specific fields of one value in Attio's read form (without active_from & co). */
export type ValueFields = Record<string, unknown>;

/** What parsing needs to know about the rest of the workspace. */
export interface ValueContext {
  workspaceId: string;
  objectBySlug(slug: string): ObjectDef | undefined;
  /** The record of `object` whose unique attribute `attribute` holds `identity`, if any. */
  findByUnique(object: string, attribute: string, identity: string): string | undefined;
  recordExists(object: string, recordId: string): boolean;
  memberIdByEmail(email: string): string | undefined;
  memberExists(id: string): boolean;
}

const bad = (attribute: AttributeDef, why: string) =>
  invalid("validation_type", `Invalid value was passed to attribute with slug "${attribute.slug}": ${why}`);

/**
 * Turns one attribute's write-form input (docs "attribute types" pages) into read-form value fields.
 * Multiselect attributes take arrays; others take a single value or an array of at most one.
 */
export function parseInput(
  object: ObjectDef,
  attribute: AttributeDef,
  input: unknown,
  ctx: ValueContext,
): ValueFields[] {
  if (input === null) return [];
  let items: unknown[];
  if (Array.isArray(input)) {
    if (!attribute.multiselect && input.length > 1) throw bad(attribute, "only one value is allowed");
    items = input;
  } else {
    if (attribute.multiselect) throw bad(attribute, "multiselect attributes take an array of values");
    items = [input];
  }
  const out: ValueFields[] = [];
  const seen = new Set<string>();
  for (const item of items) {
    const fields = parseOne(object, attribute, item, ctx);
    const key = identityOf(attribute, fields);
    if (!seen.has(key)) out.push(fields);
    seen.add(key);
  }
  return out;
}

/** A string that is equal for two values that Attio treats as the same value. */
export function identityOf(attribute: AttributeDef, fields: ValueFields): string {
  switch (attribute.type) {
    case "email-address":
      return String(fields["email_address"]);
    case "domain":
      return String(fields["domain"]);
    case "phone-number":
      return String(fields["phone_number"]);
    case "select":
      return String((fields["option"] as { id: { option_id: string } }).id.option_id);
    case "status":
      return String((fields["status"] as { id: { status_id: string } }).id.status_id);
    case "record-reference":
      return `${fields["target_object"]}/${fields["target_record_id"]}`;
    case "actor-reference":
      return `${fields["referenced_actor_type"]}/${fields["referenced_actor_id"]}`;
    default:
      return JSON.stringify(fields);
  }
}

function unwrap(item: unknown, key: string): unknown {
  if (item !== null && typeof item === "object" && !Array.isArray(item) && key in item) {
    return (item as Record<string, unknown>)[key];
  }
  return item;
}

function parseOne(object: ObjectDef, attribute: AttributeDef, item: unknown, ctx: ValueContext): ValueFields {
  switch (attribute.type) {
    case "text": {
      const value = unwrap(item, "value");
      if (typeof value !== "string") throw bad(attribute, "expected a string");
      return { value };
    }
    case "number":
    case "rating": {
      const raw = unwrap(item, "value");
      const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
      if (typeof value !== "number" || !Number.isFinite(value)) throw bad(attribute, "expected a number");
      if (attribute.type === "rating" && (!Number.isInteger(value) || value < 0 || value > 5)) {
        throw bad(attribute, "ratings are whole numbers from 0 to 5");
      }
      return { value };
    }
    case "checkbox": {
      const raw = unwrap(item, "value");
      const value = raw === "true" ? true : raw === "false" ? false : raw;
      if (typeof value !== "boolean") throw bad(attribute, "expected a boolean");
      return { value };
    }
    case "date": {
      const raw = unwrap(item, "value");
      if (typeof raw !== "string" || Number.isNaN(Date.parse(raw))) throw bad(attribute, "expected an ISO date");
      return { value: raw.slice(0, 10) };
    }
    case "timestamp": {
      const raw = unwrap(item, "value");
      if (typeof raw !== "string") throw bad(attribute, "expected an ISO timestamp");
      // A timestamp without a zone is taken as UTC.
      const zoned = /[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`;
      const ms = Date.parse(zoned);
      if (Number.isNaN(ms)) throw bad(attribute, "expected an ISO timestamp");
      return { value: attioTimestamp(ms) };
    }
    case "currency": {
      const raw = unwrap(item, "currency_value");
      const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
      if (typeof value !== "number" || !Number.isFinite(value)) throw bad(attribute, "expected a number");
      if (Math.round(value * 10_000) !== value * 10_000) throw bad(attribute, "at most 4 decimal places");
      return { currency_code: attribute.currencyCode ?? "USD", currency_value: value };
    }
    case "email-address":
      return parseEmail(attribute, unwrap(item, "email_address"));
    case "domain":
      return parseDomain(attribute, unwrap(item, "domain"));
    case "phone-number":
      return parsePhone(attribute, item);
    case "personal-name":
      return parseName(attribute, item);
    case "location":
      return parseLocation(attribute, item);
    case "select":
    case "status":
      return parseOption(object, attribute, item, ctx);
    case "record-reference":
      return parseReference(attribute, item, ctx);
    case "actor-reference":
      return parseActor(attribute, item, ctx);
    case "interaction":
      throw bad(attribute, "interaction values are generated by Attio");
  }
}

function parseEmail(attribute: AttributeDef, raw: unknown): ValueFields {
  if (typeof raw !== "string" || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(raw.trim()))
    throw bad(attribute, "not an email address");
  const original = raw.trim();
  const email = original.toLowerCase();
  const [local = "", domain = ""] = email.split("@");
  return {
    original_email_address: original,
    email_address: email,
    email_domain: domain,
    email_root_domain: rootDomain(domain),
    email_local_specifier: local.split("+")[0] ?? local,
  };
}

function parseDomain(attribute: AttributeDef, raw: unknown): ValueFields {
  if (typeof raw !== "string") throw bad(attribute, "expected a domain");
  // Attio strips schemes and paths from domains.
  const domain = raw
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, "")
    .replace(/[/?#].*$/, "");
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain)) throw bad(attribute, "not a domain");
  return { domain, root_domain: rootDomain(domain) };
}

const SECOND_LEVEL = new Set(["co.uk", "com.au", "co.jp", "com.br", "co.nz", "org.uk"]);

export function rootDomain(domain: string): string {
  const labels = domain.split(".");
  const lastTwo = labels.slice(-2).join(".");
  return SECOND_LEVEL.has(lastTwo) ? labels.slice(-3).join(".") : lastTwo;
}

/** Calling codes to ISO countries, longest prefix first; enough for sample data in a sandbox. */
const CALLING_CODES: Array<[string, string]> = [
  ["353", "IE"],
  ["351", "PT"],
  ["49", "DE"],
  ["44", "GB"],
  ["34", "ES"],
  ["33", "FR"],
  ["39", "IT"],
  ["31", "NL"],
  ["46", "SE"],
  ["45", "DK"],
  ["61", "AU"],
  ["65", "SG"],
  ["81", "JP"],
  ["91", "IN"],
  ["55", "BR"],
  ["1", "US"],
];

function parsePhone(attribute: AttributeDef, item: unknown): ValueFields {
  const raw = unwrap(item, "original_phone_number");
  if (typeof raw !== "string") throw bad(attribute, "expected a phone number");
  const digits = raw.replace(/[\s().-]/g, "");
  const explicitCountry =
    item !== null && typeof item === "object" ? (item as Record<string, unknown>)["country_code"] : undefined;
  let e164 = digits;
  if (!digits.startsWith("+")) {
    if (typeof explicitCountry !== "string") throw bad(attribute, "phone numbers need a + country prefix");
    const code = CALLING_CODES.find(([, iso]) => iso === explicitCountry.toUpperCase())?.[0];
    if (!code) throw bad(attribute, `unknown country code ${explicitCountry}`);
    e164 = `+${code}${digits.replace(/^0/, "")}`;
  }
  if (!/^\+[1-9]\d{6,14}$/.test(e164)) throw bad(attribute, "not a valid E.164 phone number");
  const country =
    typeof explicitCountry === "string"
      ? explicitCountry.toUpperCase()
      : (CALLING_CODES.find(([code]) => e164.slice(1).startsWith(code))?.[1] ?? null);
  return { original_phone_number: raw, country_code: country, phone_number: e164 };
}

function parseName(attribute: AttributeDef, item: unknown): ValueFields {
  if (typeof item === "string") {
    // The string form is "Last, First".
    const [last = "", first = ""] = item.split(",").map((part) => part.trim());
    return { first_name: first, last_name: last, full_name: [first, last].filter(Boolean).join(" ") };
  }
  if (item === null || typeof item !== "object") throw bad(attribute, "expected a name object or string");
  const { first_name, last_name, full_name } = item as Record<string, unknown>;
  if (typeof first_name !== "string" || typeof last_name !== "string" || typeof full_name !== "string") {
    throw bad(attribute, "first_name, last_name and full_name are all required");
  }
  return { first_name, last_name, full_name };
}

/** The 10 keys of a location value, all of which Attio's object form requires (nulls allowed). */
export const LOCATION_KEYS = [
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

function parseLocation(attribute: AttributeDef, item: unknown): ValueFields {
  const out: ValueFields = Object.fromEntries(LOCATION_KEYS.map((key) => [key, null]));
  if (typeof item === "string") {
    // "1 Infinite Loop, Cupertino, CA, 95014, US": read from the end, the rest is the street.
    const parts = item.split(",").map((part) => part.trim());
    if (parts.length > 1 && /^[A-Za-z]{2}$/.test(parts.at(-1) ?? "")) out["country_code"] = parts.pop()?.toUpperCase();
    if (parts.length > 1 && /\d/.test(parts.at(-1) ?? "")) out["postcode"] = parts.pop();
    if (parts.length > 2) out["region"] = parts.pop();
    if (parts.length > 1) out["locality"] = parts.pop();
    out["line_1"] = parts.join(", ") || null;
    return out;
  }
  if (item === null || typeof item !== "object") throw bad(attribute, "expected a location object or string");
  const record = item as Record<string, unknown>;
  for (const key of LOCATION_KEYS) {
    if (!(key in record)) throw bad(attribute, `location objects need all 10 keys; "${key}" is missing`);
    const value = record[key];
    if (value !== null && typeof value !== "string") throw bad(attribute, `"${key}" must be a string or null`);
    out[key] = value;
  }
  return out;
}

function parseOption(object: ObjectDef, attribute: AttributeDef, item: unknown, ctx: ValueContext): ValueFields {
  const key = attribute.type === "status" ? "status" : "option";
  const raw = unwrap(item, key);
  if (typeof raw !== "string") throw bad(attribute, `expected an ${key} title or id`);
  // Options are never created by a write, and archived ones cannot be chosen.
  const option = attribute.options.find(
    (candidate) => !candidate.archived && (candidate.title === raw || candidate.id === raw),
  );
  if (!option) {
    // The spec's messages: `Cannot find select attribute with select option title "…"` and
    // `Cannot find status attribute with status option title "…"`.
    const noun = attribute.type === "status" ? "status option" : "select option";
    throw invalid("value_not_found", `Cannot find ${attribute.type} attribute with ${noun} title "${raw}".`);
  }
  return optionFields(ctx.workspaceId, object, attribute, option);
}

/** A select or status value's fields: the option or status as the `select-option`/`status` schemas show it. */
export function optionFields(
  workspaceId: string,
  object: ObjectDef,
  attribute: AttributeDef,
  option: OptionDef,
): ValueFields {
  const id = { workspace_id: workspaceId, object_id: object.id, attribute_id: attribute.id };
  if (attribute.type === "status") {
    return {
      status: {
        id: { ...id, status_id: option.id },
        title: option.title,
        is_archived: option.archived,
        target_time_in_status: option.targetTimeInStatus,
        celebration_enabled: option.celebrationEnabled,
      },
    };
  }
  return { option: { id: { ...id, option_id: option.id }, title: option.title, is_archived: option.archived } };
}

/** ISO 8601 durations as the spec's status and default-value fields take them ("P1M", "P0Y0M1DT0H0M0S"). */
export const ISO_DURATION =
  /^P(?!$)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/** `ms` plus an ISO 8601 duration, in UTC calendar terms. */
export function addDuration(ms: number, duration: string): number {
  const match = ISO_DURATION.exec(duration);
  if (!match) throw new Error(`not an ISO 8601 duration: ${duration}`);
  const [, years, months, weeks, days, hours, minutes, seconds] = match.map((part) =>
    Number((part ?? "0").replace(",", ".")),
  );
  const date = new Date(ms);
  date.setUTCFullYear(date.getUTCFullYear() + (years ?? 0), date.getUTCMonth() + (months ?? 0));
  date.setUTCDate(date.getUTCDate() + (weeks ?? 0) * 7 + (days ?? 0));
  return date.getTime() + ((hours ?? 0) * 3600 + (minutes ?? 0) * 60 + (seconds ?? 0)) * 1000;
}

function parseReference(attribute: AttributeDef, item: unknown, ctx: ValueContext): ValueFields {
  let targetObject: string | undefined;
  let targetId: string | undefined;
  if (typeof item === "string") {
    // A bare string works for references limited to people (an email) or companies (a domain).
    const only = attribute.targets.length === 1 ? attribute.targets[0] : undefined;
    if (only === "companies") {
      targetObject = only;
      targetId = ctx.findByUnique("companies", "domains", String(parseDomainLoose(item)));
    } else if (only === "people") {
      targetObject = only;
      targetId = ctx.findByUnique("people", "email_addresses", item.trim().toLowerCase());
    } else throw bad(attribute, "expected {target_object, target_record_id}");
    if (!targetId) throw invalid("value_not_found", `No ${only} record found matching "${item}".`);
  } else if (item !== null && typeof item === "object") {
    const record = item as Record<string, unknown>;
    if (typeof record["target_object"] !== "string") throw bad(attribute, "target_object is required");
    const target = ctx.objectBySlug(record["target_object"]);
    targetObject = target?.slug ?? record["target_object"];
    if (typeof record["target_record_id"] === "string") targetId = record["target_record_id"];
    else if (target) targetId = matchByUniqueAttribute(target, record, ctx);
    if (!targetId) throw bad(attribute, "give target_record_id or a unique attribute of the target");
  } else throw bad(attribute, "expected a record reference");
  if (!attribute.targets.includes(targetObject)) {
    throw bad(attribute, `records of "${targetObject}" cannot be referenced here`);
  }
  if (!ctx.recordExists(targetObject, targetId)) {
    throw invalid("value_not_found", `Record with ID "${targetId}" of object "${targetObject}" not found.`);
  }
  return { target_object: targetObject, target_record_id: targetId };
}

function parseDomainLoose(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, "")
    .replace(/[/?#].*$/, "");
}

function matchByUniqueAttribute(
  target: ObjectDef,
  record: Record<string, unknown>,
  ctx: ValueContext,
): string | undefined {
  for (const attribute of target.attributes) {
    if (!attribute.unique || !(attribute.slug in record)) continue;
    const values = parseInput(target, { ...attribute, multiselect: true }, asArray(record[attribute.slug]), ctx);
    for (const fields of values) {
      const id = ctx.findByUnique(target.slug, attribute.slug, identityOf(attribute, fields));
      if (id) return id;
    }
    const shown = JSON.stringify(record[attribute.slug]);
    throw invalid("value_not_found", `No ${target.slug} record found with ${attribute.slug} ${shown}.`);
  }
  return undefined;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function parseActor(attribute: AttributeDef, item: unknown, ctx: ValueContext): ValueFields {
  let memberId: string | undefined;
  const email = typeof item === "string" ? item : unwrap(item, "workspace_member_email_address");
  if (typeof email === "string") memberId = ctx.memberIdByEmail(email.trim().toLowerCase());
  else if (item !== null && typeof item === "object") {
    const record = item as Record<string, unknown>;
    if (record["referenced_actor_type"] !== "workspace-member") {
      throw bad(attribute, "only workspace members can be written to actor-reference attributes");
    }
    if (typeof record["referenced_actor_id"] === "string" && ctx.memberExists(record["referenced_actor_id"])) {
      memberId = record["referenced_actor_id"];
    }
  }
  if (!memberId) throw invalid("value_not_found", `Workspace member not found for attribute "${attribute.slug}".`);
  return { referenced_actor_type: "workspace-member", referenced_actor_id: memberId };
}
