import type { AttioValues } from "./attio-values.ts";
import { countryCode, countryName } from "./countries.ts";
import { LAST_NAME_FALLBACK, lastNameWithFallback } from "./names.ts";
import { ARR_USD_RANGES, EMPLOYEE_RANGES, numberToRange, rangeToNumber } from "./ranges.ts";
import { stageKey } from "./tables.ts";
import type { IndustryEntry, MappingIssue, SfScalar, StageEntry, TransformOptions } from "./types.ts";

/**
 * Named transforms: each converts one Attio attribute (or one part of it) to one Salesforce field and
 * back. Pure functions over plain data; anything they need from outside (ids, users, tables, today)
 * comes in through the context. A transform never throws on bad data: it reports an issue and SKIPs.
 */

/** Returned when a value must not be written at all (as opposed to `null`, which clears it). */
export const SKIP: unique symbol = Symbol("skip");
export type Skip = typeof SKIP;

/** One Attio value object as read (`values[slug][i]`). */
export type AttioValue = Readonly<Record<string, unknown>>;

/** Resolves record ids through the ID map. Keyed by the Attio object of the target on both sides. */
export interface IdLookup {
  salesforceIdFor(attioObject: string, attioRecordId: string): string | undefined;
  attioIdFor(attioObject: string, salesforceId: string): string | undefined;
}

/** Workspace members <-> Salesforce Users, matched by email (see users.ts). */
export interface UserLookup {
  salesforceUserFor(workspaceMemberId: string): string | undefined;
  workspaceMemberFor(salesforceUserId: string): string | undefined;
  /**
   * The workspace member given to a record whose Salesforce owner has no member (the configured
   * default owner, else the workspace's first admin); undefined when there is none.
   */
  readonly defaultMember?: string | undefined;
  /** An email to name a member or user by in warnings, when known. */
  emailOf?(id: string): string | undefined;
}

/** What a transform may consult and where it reports. Built by the engine once per record. */
export interface TransformContext {
  /** The whole Attio record being read (forward), or the current Attio record if known (reverse). */
  readonly record: AttioValues | undefined;
  readonly part: string | undefined;
  readonly options: TransformOptions;
  readonly stages: readonly StageEntry[];
  readonly industries: readonly IndustryEntry[];
  readonly ids: IdLookup | undefined;
  readonly users: UserLookup | undefined;
  /** Option or status titles of the target Attio attribute, when the schema layer knows them. */
  readonly attioTitles: readonly string[] | undefined;
  /** `YYYY-MM-DD`, only used when a required date has no source at all. */
  readonly today: string | undefined;
  /** Reports why a value was not written as it is; `value` is the value as read on its side. */
  issue(code: MappingIssue["code"], message: string, value?: unknown): void;
  defer(targetObject: string, sourceId: string): void;
}

export interface Transform {
  readonly name: string;
  readonly summary: string;
  /** Attio attribute types this transform reads/writes (checked by the schema layer). */
  readonly attioTypes: readonly string[];
  /** Salesforce field types it reads/writes. */
  readonly salesforceTypes: readonly string[];
  /** False when Salesforce -> Attio is impossible; such fields are forced to attio_to_sf. */
  readonly reversible: boolean;
  /** `values` are the attribute's current values (possibly []). */
  toSalesforce(values: readonly AttioValue[], ctx: TransformContext): SfScalar | Skip;
  /** One write item (unwrapped, single-value form), `null` to clear, or SKIP. */
  toAttio(value: unknown, ctx: TransformContext): unknown;
}

const TEXTUAL_SF = ["string", "textarea", "url", "email", "phone", "picklist", "combobox", "multipicklist"];
const NUMERIC_SF = ["int", "double", "currency", "percent", "long"];

/** The natural scalar of an Attio value, by its type (or the requested part of a composite value). */
export function scalarOf(value: AttioValue | undefined, part: string | undefined): unknown {
  if (!value) return null;
  if (part) return value[part] ?? null;
  switch (value["attribute_type"]) {
    case "email-address":
      return value["email_address"];
    case "domain":
      return value["domain"];
    case "phone-number":
      return value["phone_number"] || value["original_phone_number"] || null;
    case "personal-name":
      return value["full_name"];
    case "select":
      return (value["option"] as AttioValue | undefined)?.["title"] ?? null;
    case "status":
      return (value["status"] as AttioValue | undefined)?.["title"] ?? null;
    case "currency":
      return value["currency_value"];
    case "record-reference":
      return value["target_record_id"];
    case "actor-reference":
      return value["referenced_actor_id"];
    default:
      return value["value"] ?? null;
  }
}

function cleanText(value: unknown): string | null {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value !== "string") return null;
  const trimmed = value.trim();
  return trimmed.length > 0 ? trimmed : null;
}

function toNumber(value: unknown): number | null {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) return Number(value);
  return null;
}

const DATE = /^(\d{4}-\d{2}-\d{2})/;
function toDate(value: unknown): string | null {
  return typeof value === "string" ? (DATE.exec(value)?.[1] ?? null) : null;
}

function addDays(isoDate: string, days: number): string {
  const date = new Date(`${isoDate}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * "https://www.Acme.com/about?x" -> "acme.com". Attio stores hosts, Salesforce Website holds whatever
 * was typed; `www.` is dropped because Attio's domains never carry it.
 */
const SIMPLE_URL = /^(?:https?:\/\/)?(?:www\.)?([a-z0-9-]+(?:\.[a-z0-9-]+)+)\/?$/;

export function hostOf(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  // Most websites are plain lowercase hosts: skip the (slow) URL parser for them.
  const simple = SIMPLE_URL.exec(trimmed);
  if (simple?.[1]) return simple[1];
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`);
    const host = url.hostname
      .toLowerCase()
      .replace(/^www\./, "")
      .replace(/\.$/, "");
    return host.includes(".") ? host : null;
  } catch {
    return null;
  }
}

/**
 * Salesforce Phone is free text; Attio validates E.164 and needs a country. "+44 20 7946 0958" and
 * "0044 20..." carry one; "(415) 555-0100" does not, and is written with `default_country` when the
 * mapping sets it, else reported. Extensions ("x12", "ext. 12") are dropped: Attio has no field for them.
 */
const E164 = /^\+[1-9]\d{3,14}$/;

export function normalizePhone(raw: string, defaultCountry: string | undefined): unknown {
  if (E164.test(raw)) return raw;
  const main = raw.split(/\s*(?:ext\.?|x|#)\s*\d+\s*$/i)[0]?.trim() ?? "";
  const international = main.startsWith("+") || main.startsWith("00");
  const digits = main.replace(/\D/g, "").replace(/^00/, "");
  if (digits.length < 4 || digits.length > 15) return null;
  if (international) return `+${digits}`;
  if (defaultCountry) return { original_phone_number: main, country_code: defaultCountry.toUpperCase() };
  return undefined;
}

function rangeOptions(ctx: TransformContext): readonly string[] {
  if (ctx.attioTitles && ctx.attioTitles.length > 0) return ctx.attioTitles;
  const ranges = ctx.options["ranges"];
  if (ranges === "usd") return ARR_USD_RANGES;
  if (typeof ranges === "string" && ranges.includes("|")) return ranges.split("|").map((r) => r.trim());
  return EMPLOYEE_RANGES;
}

type Row = { attio: string; salesforce: string };
interface Lookup {
  /** attio key -> salesforce value (first row wins). */
  forward: Map<string, string>;
  /** lowercased salesforce value -> rows in table order. */
  reverse: Map<string, Row[]>;
}
// Tables are shared by every record of a mapping: index each one once.
const lookups = new WeakMap<readonly Row[], Lookup>();
function lookup(rows: readonly Row[], key: (attio: string) => string): Lookup {
  const cached = lookups.get(rows);
  if (cached) return cached;
  const built: Lookup = { forward: new Map(), reverse: new Map() };
  for (const row of rows) {
    const k = key(row.attio);
    if (!built.forward.has(k)) built.forward.set(k, row.salesforce);
    const lower = row.salesforce.toLowerCase();
    built.reverse.set(lower, [...(built.reverse.get(lower) ?? []), row]);
  }
  lookups.set(rows, built);
  return built;
}
const lowerCase = (text: string) => text.toLowerCase();

function first(values: readonly AttioValue[]): AttioValue | undefined {
  return values[0];
}

const text: Transform = {
  name: "text",
  summary: "text as is (trimmed; empty is null)",
  attioTypes: ["text", "location", "personal-name", "number", "date", "select", "status", "domain", "email-address"],
  salesforceTypes: TEXTUAL_SF,
  reversible: true,
  toSalesforce: (values, ctx) => cleanText(scalarOf(first(values), ctx.part)),
  toAttio: (value) => cleanText(value),
};

const number: Transform = {
  name: "number",
  summary: "number as is",
  attioTypes: ["number", "currency", "rating"],
  salesforceTypes: NUMERIC_SF,
  reversible: true,
  toSalesforce: (values, ctx) => toNumber(scalarOf(first(values), ctx.part)),
  toAttio: (value, ctx) => {
    if (value === null || value === undefined || value === "") return null;
    const n = toNumber(value);
    if (n === null) ctx.issue("invalid_value", `not a number: ${JSON.stringify(value)}`, value);
    return n ?? SKIP;
  },
};

const integer: Transform = {
  ...number,
  name: "integer",
  summary: "number rounded to an integer",
  toSalesforce: (values, ctx) => {
    const n = toNumber(scalarOf(first(values), ctx.part));
    return n === null ? null : Math.round(n);
  },
};

const checkbox: Transform = {
  name: "checkbox",
  summary: "boolean; an empty Attio checkbox is false (Salesforce checkboxes are never null)",
  attioTypes: ["checkbox"],
  salesforceTypes: ["boolean"],
  reversible: true,
  toSalesforce: (values) => first(values)?.["value"] === true,
  toAttio: (value) => value === true || value === "true",
};

const date: Transform = {
  name: "date",
  summary: "YYYY-MM-DD; timestamps are cut to their UTC day",
  attioTypes: ["date", "timestamp"],
  salesforceTypes: ["date", "datetime"],
  reversible: true,
  toSalesforce: (values) => toDate(scalarOf(first(values), undefined)),
  toAttio: (value) => toDate(value),
};

/** Days added to a deal's creation day when it has no close date (Opportunity.CloseDate is required). */
export const CLOSE_DATE_FALLBACK_DAYS = 90;

/**
 * Opportunity.CloseDate is required. With no close date in Attio, the deal's creation day plus
 * `fallback_days` (default 90) is written: derived from the record, so it does not move between runs.
 */
const closeDate: Transform = {
  ...date,
  name: "close_date",
  summary: `date; when empty, the record's created_at + fallback_days (default ${CLOSE_DATE_FALLBACK_DAYS})`,
  toSalesforce: (values, ctx) => {
    const own = toDate(scalarOf(first(values), undefined));
    if (own) return own;
    const days =
      typeof ctx.options["fallback_days"] === "number" ? ctx.options["fallback_days"] : CLOSE_DATE_FALLBACK_DAYS;
    const created = toDate(ctx.record?.["created_at"]?.[0]?.["value"]) ?? ctx.today;
    if (!created) {
      ctx.issue("invalid_value", "no close date, no created_at and no today to derive one from");
      return SKIP;
    }
    ctx.issue("fallback_used", `no close date: using created_at + ${days} days`);
    return addDays(created, days);
  },
};

/**
 * A date derived from another (a deal's created_at): that day plus `days` (default 90). One way: a
 * derived value means nothing on the side it came from, so it is never written back.
 */
const datePlusDays: Transform = {
  name: "date_plus_days",
  summary: `date or timestamp + days (default ${CLOSE_DATE_FALLBACK_DAYS}); Attio -> Salesforce only`,
  attioTypes: ["date", "timestamp"],
  salesforceTypes: ["date", "datetime"],
  reversible: false,
  toSalesforce: (values, ctx) => {
    const from = toDate(scalarOf(first(values), undefined)) ?? ctx.today;
    if (!from) return SKIP;
    return addDays(from, typeof ctx.options["days"] === "number" ? ctx.options["days"] : CLOSE_DATE_FALLBACK_DAYS);
  },
  toAttio: () => SKIP,
};

const email: Transform = {
  name: "email",
  summary: "primary (first) email address; Salesforce -> Attio checks the address",
  attioTypes: ["email-address", "text"],
  salesforceTypes: ["email", "string"],
  reversible: true,
  toSalesforce: (values) => cleanText(scalarOf(first(values), undefined)),
  toAttio: (value, ctx) => {
    const address = cleanText(value);
    if (address === null) return null;
    if (!EMAIL.test(address)) {
      ctx.issue("invalid_value", `not an email address: ${address}`, value);
      return SKIP;
    }
    return address;
  },
};

const phone: Transform = {
  name: "phone",
  summary: "primary phone in E.164; Salesforce -> Attio needs a + prefix or the default_country option",
  attioTypes: ["phone-number", "text"],
  salesforceTypes: ["phone", "string"],
  reversible: true,
  toSalesforce: (values) => cleanText(scalarOf(first(values), undefined)),
  toAttio: (value, ctx) => {
    const raw = cleanText(value);
    if (raw === null) return null;
    const country = typeof ctx.options["default_country"] === "string" ? ctx.options["default_country"] : undefined;
    const normalized = normalizePhone(raw, country);
    if (normalized === null || normalized === undefined) {
      ctx.issue(
        "invalid_value",
        normalized === null
          ? `not a phone number: ${raw}`
          : `phone ${raw} has no +country prefix and the mapping sets no default_country`,
        value,
      );
      return SKIP;
    }
    return normalized;
  },
};

const domainToUrl: Transform = {
  name: "domain_to_url",
  summary: "primary domain -> https://domain; Website -> its host (www. dropped)",
  attioTypes: ["domain"],
  salesforceTypes: ["url", "string"],
  reversible: true,
  toSalesforce: (values) => {
    const domain = cleanText(scalarOf(first(values), undefined));
    return domain === null ? null : `https://${domain}`;
  },
  toAttio: (value, ctx) => {
    const raw = cleanText(value);
    if (raw === null) return null;
    const host = hostOf(raw);
    if (host === null) ctx.issue("invalid_value", `no host in website ${raw}`, value);
    return host ?? SKIP;
  },
};

const lastName: Transform = {
  name: "last_name",
  summary: `last name; when empty: full name's last word, email local part, then "${LAST_NAME_FALLBACK}"`,
  attioTypes: ["personal-name"],
  salesforceTypes: ["string"],
  reversible: true,
  toSalesforce: (_values, ctx) => {
    const result = lastNameWithFallback(ctx.record ?? {});
    if (result.fallback) ctx.issue("fallback_used", `no last name: using "${result.value}"`);
    return result.value;
  },
  toAttio: (value) => {
    const name = cleanText(value);
    return name === LAST_NAME_FALLBACK ? null : name;
  },
};

const countryNameTransform: Transform = {
  name: "country_name",
  summary: "ISO country code -> country name; name, alias or code -> ISO code",
  attioTypes: ["location", "text"],
  salesforceTypes: ["string", "picklist"],
  reversible: true,
  toSalesforce: (values, ctx) => {
    const code = cleanText(scalarOf(first(values), ctx.part ?? "country_code"));
    if (code === null) return null;
    const name = countryName(code);
    if (name === null) ctx.issue("unmapped_value", `unknown country code ${code}`, code);
    return name ?? SKIP;
  },
  toAttio: (value, ctx) => {
    const textValue = cleanText(value);
    if (textValue === null) return null;
    const code = countryCode(textValue);
    if (code === null) ctx.issue("unmapped_value", `unknown country ${textValue}`, value);
    return code ?? SKIP;
  },
};

const countryCodeTransform: Transform = {
  ...countryNameTransform,
  name: "country_code",
  summary: "ISO country code both ways (Salesforce State & Country picklists)",
  toSalesforce: (values, ctx) => {
    const code = cleanText(scalarOf(first(values), ctx.part ?? "country_code"));
    if (code === null) return null;
    const known = countryCode(code);
    if (known === null) ctx.issue("unmapped_value", `unknown country code ${code}`, code);
    return known ?? SKIP;
  },
};

const select: Transform = {
  name: "select",
  summary: "primary option title <-> picklist value, unchanged",
  attioTypes: ["select", "status", "text"],
  salesforceTypes: ["picklist", "multipicklist", "string", "combobox"],
  reversible: true,
  toSalesforce: (values) => cleanText(scalarOf(first(values), undefined)),
  toAttio: (value, ctx) => {
    const title = cleanText(value);
    if (title !== null && ctx.attioTitles && !ctx.attioTitles.includes(title)) {
      ctx.issue("unmapped_value", `Attio has no option "${title}"`, value);
      return SKIP;
    }
    return title;
  },
};

const industry: Transform = {
  name: "industry",
  summary: "first category found in the industry table -> Industry; Industry -> the table's first category",
  attioTypes: ["select"],
  salesforceTypes: ["picklist", "string"],
  reversible: true,
  toSalesforce: (values, ctx) => {
    if (values.length === 0) return null;
    const table = lookup(ctx.industries, lowerCase).forward;
    for (const value of values) {
      const title = cleanText(scalarOf(value, undefined));
      const industryValue = title === null ? undefined : table.get(title.toLowerCase());
      if (industryValue !== undefined) return industryValue;
    }
    const titles = values.map((v) => cleanText(scalarOf(v, undefined)));
    ctx.issue("unmapped_value", `no industry for categories ${titles.join(", ")}`, titles);
    return SKIP;
  },
  toAttio: (value, ctx) => {
    const industryValue = cleanText(value);
    // Categories are richer than Industry: a cleared Industry does not wipe them.
    if (industryValue === null) return SKIP;
    const rows = lookup(ctx.industries, lowerCase).reverse.get(industryValue.toLowerCase()) ?? [];
    const row = ctx.attioTitles ? rows.find((r) => ctx.attioTitles?.includes(r.attio)) : rows[0];
    if (!row) ctx.issue("unmapped_value", `no category for industry ${industryValue}`, value);
    return row?.attio ?? SKIP;
  },
};

const rangeToNumberTransform: Transform = {
  name: "range_to_number",
  summary: "range option -> its lower bound; number -> the option whose range holds it",
  attioTypes: ["select"],
  salesforceTypes: NUMERIC_SF,
  reversible: true,
  toSalesforce: (values, ctx) => {
    const title = cleanText(scalarOf(first(values), undefined));
    if (title === null) return null;
    const n = rangeToNumber(title);
    if (n === null) ctx.issue("unmapped_value", `"${title}" is not a range`, title);
    return n ?? SKIP;
  },
  toAttio: (value, ctx) => {
    if (value === null || value === undefined || value === "") return null;
    const n = toNumber(value);
    const title = n === null ? null : numberToRange(n, rangeOptions(ctx));
    if (title === null) ctx.issue("out_of_range", `no range holds ${JSON.stringify(value)}`, value);
    return title ?? SKIP;
  },
};

const currencyToNumber: Transform = {
  ...number,
  name: "currency_to_number",
  summary: "currency amount -> number (the code is a separate field)",
  attioTypes: ["currency", "number"],
};

const currencyCode: Transform = {
  name: "currency_code",
  summary: "currency code -> CurrencyIsoCode; one way (Attio sets the code per attribute)",
  attioTypes: ["currency"],
  salesforceTypes: ["picklist", "string"],
  reversible: false,
  toSalesforce: (values) => cleanText(first(values)?.["currency_code"]),
  toAttio: () => SKIP,
};

const statusToStage: Transform = {
  name: "status_to_stage",
  summary: "status title -> StageName through the stage table; unknown stages reported, never guessed",
  attioTypes: ["status", "select"],
  salesforceTypes: ["picklist"],
  reversible: true,
  toSalesforce: (values, ctx) => {
    const title = cleanText(scalarOf(first(values), undefined));
    // StageName is required: an empty stage leaves it as it is rather than clearing it.
    if (title === null) return SKIP;
    const stage = lookup(ctx.stages, stageKey).forward.get(stageKey(title));
    if (stage === undefined) ctx.issue("unmapped_value", `stage "${title}" is not in the stage table`, title);
    return stage ?? SKIP;
  },
  toAttio: (value, ctx) => {
    const stage = cleanText(value);
    if (stage === null) return SKIP;
    const rows = lookup(ctx.stages, stageKey).reverse.get(stage.toLowerCase()) ?? [];
    if (ctx.attioTitles) {
      for (const row of rows) {
        const key = stageKey(row.attio);
        const title = ctx.attioTitles.find((t) => stageKey(t) === key);
        if (title) return title;
      }
    } else if (rows[0]) {
      return rows[0].attio;
    }
    ctx.issue(
      "unmapped_value",
      ctx.attioTitles
        ? `StageName "${stage}" has no Attio status through the stage table`
        : `StageName "${stage}" is not in the stage table`,
      value,
    );
    return SKIP;
  },
};

const percent: Transform = {
  name: "percent",
  summary: "number -> percent 0-100 (option scale, e.g. 100 when Attio holds 0-1)",
  attioTypes: ["number", "rating"],
  salesforceTypes: ["percent", "double", "int"],
  reversible: true,
  toSalesforce: (values, ctx) => {
    const n = toNumber(scalarOf(first(values), undefined));
    if (n === null) return null;
    const scaled = n * (typeof ctx.options["scale"] === "number" ? ctx.options["scale"] : 1);
    if (scaled < 0 || scaled > 100) {
      ctx.issue("out_of_range", `probability ${scaled} is outside 0-100`, n);
      return SKIP;
    }
    return scaled;
  },
  toAttio: (value, ctx) => {
    if (value === null || value === undefined || value === "") return null;
    const n = toNumber(value);
    if (n === null) ctx.issue("invalid_value", `not a number: ${JSON.stringify(value)}`, value);
    return n === null ? SKIP : n / (typeof ctx.options["scale"] === "number" ? ctx.options["scale"] : 1);
  },
};

/** Option `target`: the Attio object the reference points at (companies, people, or a custom one). */
const recordReference: Transform = {
  name: "record_reference",
  summary: "record reference <-> lookup id through the ID map; unsynced targets are deferred",
  attioTypes: ["record-reference"],
  salesforceTypes: ["reference", "string"],
  reversible: true,
  toSalesforce: (values, ctx) => {
    const ref = first(values);
    const targetId = cleanText(ref?.["target_record_id"]);
    if (!ref || targetId === null) return null;
    const target = cleanText(ref["target_object"]) ?? String(ctx.options["target"] ?? "");
    const id = ctx.ids?.salesforceIdFor(target, targetId);
    if (id === undefined) {
      ctx.defer(target, targetId);
      return SKIP;
    }
    return id;
  },
  toAttio: (value, ctx) => {
    const sfId = cleanText(value);
    if (sfId === null) return null;
    const target = String(ctx.options["target"] ?? "");
    const id = ctx.ids?.attioIdFor(target, sfId);
    if (id === undefined) {
      ctx.defer(target, sfId);
      return SKIP;
    }
    return { target_object: target, target_record_id: id };
  },
};

/**
 * A deal's owner: workspace member <-> Salesforce User with the same email. An owner with no
 * counterpart is reported: going to Salesforce, OwnerId is left out (Salesforce keeps the record's
 * owner, or gives a new record to the integration user); coming to Attio, where a deal must have an
 * owner, the default member is used (UserLookup.defaultMember).
 */
const owner: Transform = {
  name: "owner",
  summary: "workspace member <-> Salesforce User, matched by email; never creates users",
  attioTypes: ["actor-reference"],
  salesforceTypes: ["reference"],
  reversible: true,
  toSalesforce: (values, ctx) => {
    const actor = first(values);
    if (!actor) return SKIP;
    const id = cleanText(actor["referenced_actor_id"]);
    if (actor["referenced_actor_type"] !== "workspace-member" || !id) {
      ctx.issue(
        "unmatched_user",
        `the owner is not a workspace member (${String(actor["referenced_actor_type"])})`,
        id,
      );
      return SKIP;
    }
    const userId = ctx.users?.salesforceUserFor(id);
    if (userId === undefined) {
      const who = ctx.users?.emailOf?.(id) ?? id;
      ctx.issue("unmatched_user", `no active Salesforce User has the email of workspace member ${who}`, who);
    }
    return userId ?? SKIP;
  },
  toAttio: (value, ctx) => {
    const userId = cleanText(value);
    if (userId === null) return SKIP;
    const member = ctx.users?.workspaceMemberFor(userId);
    if (member !== undefined) return { referenced_actor_type: "workspace-member", referenced_actor_id: member };
    const who = ctx.users?.emailOf?.(userId) ?? userId;
    const fallback = ctx.users?.defaultMember;
    if (fallback === undefined) {
      ctx.issue("unmatched_user", `no workspace member has the email of Salesforce User ${who}`, who);
      return SKIP;
    }
    ctx.issue(
      "default_owner_used",
      `no workspace member has the email of Salesforce User ${who}: the default owner ${ctx.users?.emailOf?.(fallback) ?? fallback} is used`,
      who,
    );
    return { referenced_actor_type: "workspace-member", referenced_actor_id: fallback };
  },
};

export const TRANSFORMS = {
  text,
  number,
  integer,
  checkbox,
  date,
  close_date: closeDate,
  date_plus_days: datePlusDays,
  email,
  phone,
  domain_to_url: domainToUrl,
  last_name: lastName,
  country_name: countryNameTransform,
  country_code: countryCodeTransform,
  select,
  industry,
  range_to_number: rangeToNumberTransform,
  currency_to_number: currencyToNumber,
  currency_code: currencyCode,
  status_to_stage: statusToStage,
  percent,
  record_reference: recordReference,
  owner,
} as const satisfies Record<string, Transform>;

export type TransformName = keyof typeof TRANSFORMS;
export const TRANSFORM_NAMES = Object.keys(TRANSFORMS) as [TransformName, ...TransformName[]];

export function getTransform(name: string): Transform | undefined {
  return Object.hasOwn(TRANSFORMS, name) ? TRANSFORMS[name as TransformName] : undefined;
}
