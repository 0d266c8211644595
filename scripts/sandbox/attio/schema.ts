import type { SeededRandom } from "../shared/random.ts";

export type AttributeType =
  | "text"
  | "number"
  | "checkbox"
  | "currency"
  | "date"
  | "timestamp"
  | "rating"
  | "status"
  | "select"
  | "record-reference"
  | "actor-reference"
  | "location"
  | "domain"
  | "email-address"
  | "phone-number"
  | "interaction"
  | "personal-name";

/** A select option or a status (the `select-option` and `status` schemas of the OpenAPI spec). */
export interface OptionDef {
  id: string;
  title: string;
  archived: boolean;
  /** Statuses only. */
  celebrationEnabled: boolean;
  /** Statuses only: an ISO 8601 duration, or null. */
  targetTimeInStatus: string | null;
}

/** An attribute's default value, as `POST /v2/objects/{object}/attributes` takes it. */
export type DefaultValue =
  | { type: "dynamic"; template: string }
  | { type: "static"; template: Array<Record<string, unknown>> }
  | null;

export interface AttributeDef {
  id: string;
  slug: string;
  title: string;
  description: string | null;
  type: AttributeType;
  /** record_id, created_at, created_by: nobody writes these, not even Attio's enrichment. */
  system: boolean;
  /** Made through the API (is_system_attribute: false). Attio's own attributes are system-defined. */
  custom: boolean;
  writable: boolean;
  required: boolean;
  unique: boolean;
  multiselect: boolean;
  archived: boolean;
  /** Select options or statuses. */
  options: OptionDef[];
  currencyCode: string | null;
  currencyDisplay: string | null;
  /** Object slugs a record-reference may point at. */
  targets: string[];
  /** The attribute on the target object that mirrors this one (two-way relationship). */
  inverse: { object: string; attribute: string } | null;
  defaultValue: DefaultValue;
  createdAt: string;
}

export interface ObjectDef {
  id: string;
  slug: string;
  singular: string;
  plural: string;
  createdAt: string;
  attributes: AttributeDef[];
}

/** An object's attribute by slug or id, as every endpoint and filter names it. */
export function findAttribute(object: ObjectDef, slugOrId: string): AttributeDef | undefined {
  return object.attributes.find((candidate) => candidate.slug === slugOrId || candidate.id === slugOrId);
}

/**
 * Compact attribute specs: flags are w(ritable), u(nique), m(ultiselect), r(equired), s(ystem).
 * Enriched attributes (filled by Attio, not writable over the API) have no `w`.
 * Lists follow the order real records show their values in (recorded people/companies/deals).
 */
type Spec = [
  slug: string,
  type: AttributeType,
  flags: string,
  extra?: Partial<AttributeDef> & { optionTitles?: string[] },
];

const INTERACTIONS: Spec[] = [
  "first_calendar_interaction",
  "last_calendar_interaction",
  "next_calendar_interaction",
  "first_email_interaction",
  "last_email_interaction",
  "first_interaction",
  "last_interaction",
  "next_interaction",
].map((slug): Spec => [slug, "interaction", ""]);

const CONNECTION: Spec[] = [
  ["strongest_connection_strength_legacy", "number", ""],
  [
    "strongest_connection_strength",
    "select",
    "",
    { optionTitles: ["Very weak", "Weak", "Good", "Strong", "Very strong"] },
  ],
  ["strongest_connection_user", "actor-reference", ""],
];

const SOCIAL: Spec[] = ["angellist", "facebook", "instagram", "linkedin", "twitter"].map(
  (slug): Spec => [slug, "text", "w"],
);

const SYSTEM_HEAD: Spec[] = [["record_id", "text", "s"]];
const SYSTEM_TAIL: Spec[] = [
  ["created_at", "timestamp", "s"],
  ["created_by", "actor-reference", "s"],
];

const ref = (targets: string[], inverse?: [string, string]): Partial<AttributeDef> => ({
  targets,
  inverse: inverse ? { object: inverse[0], attribute: inverse[1] } : null,
});

/**
 * A new workspace's objects: people and companies, with deals and users enabled. Nothing custom:
 * custom objects, attributes, options and statuses exist only once a test, the sandbox or a user
 * creates them through the API (`schema-api.ts`, `provision.ts`).
 */
export const OBJECT_SPECS: Array<{ slug: string; singular: string; plural: string; attributes: Spec[] }> = [
  {
    slug: "people",
    singular: "Person",
    plural: "People",
    attributes: [
      ...SYSTEM_HEAD,
      ["name", "personal-name", "w"],
      ["email_addresses", "email-address", "wum"],
      ["description", "text", "w"],
      ["company", "record-reference", "w", ref(["companies"], ["companies", "team"])],
      ["job_title", "text", "w"],
      ["avatar_url", "text", ""],
      ["phone_numbers", "phone-number", "wm"],
      ["primary_location", "location", "w"],
      ...SOCIAL,
      ["twitter_follower_count", "number", ""],
      ...INTERACTIONS,
      ...CONNECTION,
      ["associated_deals", "record-reference", "wm", ref(["deals"], ["deals", "associated_people"])],
      ["associated_users", "record-reference", "wm", ref(["users"], ["users", "person"])],
      ...SYSTEM_TAIL,
    ],
  },
  {
    slug: "companies",
    singular: "Company",
    plural: "Companies",
    attributes: [
      ...SYSTEM_HEAD,
      ["domains", "domain", "wum"],
      ["name", "text", "w"],
      ["description", "text", "w"],
      ["team", "record-reference", "wm", ref(["people"], ["people", "company"])],
      [
        "categories",
        "select",
        "wm",
        {
          optionTitles: [
            "B2B",
            "B2C",
            "SAAS",
            "Technology",
            "Information Technology & Services",
            "Manufacturing",
            "Finance",
            "Insurance",
            "Healthcare",
            "Retail",
            "Education",
            "Energy",
            "Consulting",
            "Media",
            "Logistics",
          ],
        },
      ],
      ["primary_location", "location", "w"],
      ["logo_url", "text", ""],
      ...SOCIAL,
      ["twitter_follower_count", "number", ""],
      [
        "estimated_arr_usd",
        "select",
        "",
        {
          optionTitles: [
            "$0-$1M",
            "$1M-$10M",
            "$10M-$50M",
            "$50M-$100M",
            "$100M-$250M",
            "$250M-$500M",
            "$500M-$1B",
            "$1B-$10B",
            "$10B+",
          ],
        },
      ],
      ["funding_raised_usd", "currency", "", { currencyCode: "USD", currencyDisplay: "symbol" }],
      ["foundation_date", "date", ""],
      [
        "employee_range",
        "select",
        "",
        { optionTitles: ["1-10", "11-50", "51-250", "251-1K", "1K-5K", "5K-10K", "10K-50K", "50K-100K", "100K+"] },
      ],
      ...INTERACTIONS,
      ...CONNECTION,
      ["associated_deals", "record-reference", "wm", ref(["deals"], ["deals", "associated_company"])],
      ["associated_workspaces", "record-reference", "wm", ref(["workspaces"])],
      ...SYSTEM_TAIL,
    ],
  },
  {
    slug: "deals",
    singular: "Deal",
    plural: "Deals",
    attributes: [
      ...SYSTEM_HEAD,
      // Exactly the standard set (docs "standard objects: deals", recorded deals query): a close date,
      // a source or a probability are custom attributes a workspace adds through the API.
      ["name", "text", "wr"],
      ["stage", "status", "wr", { title: "Deal stage", optionTitles: ["Lead", "In Progress", "Won 🎉", "Lost"] }],
      ["owner", "actor-reference", "wr", { title: "Deal owner" }],
      ["value", "currency", "w", { title: "Deal value", currencyCode: "USD", currencyDisplay: "symbol" }],
      ["associated_people", "record-reference", "wm", ref(["people"], ["people", "associated_deals"])],
      ["associated_company", "record-reference", "w", ref(["companies"], ["companies", "associated_deals"])],
      ...SYSTEM_TAIL,
    ],
  },
  {
    slug: "users",
    singular: "User",
    plural: "Users",
    attributes: [
      ...SYSTEM_HEAD,
      // Both required and unique (docs "standard objects: users").
      ["user_id", "text", "wur"],
      ["primary_email_address", "email-address", "wur"],
      ["person", "record-reference", "w", ref(["people"], ["people", "associated_users"])],
      ["workspace", "record-reference", "wm", ref(["workspaces"])],
      ...SYSTEM_TAIL,
    ],
  },
];

/** Builds the workspace's objects with ids drawn from `random`, so ids are stable for a seed. */
export function buildObjects(random: SeededRandom, createdAt: string): ObjectDef[] {
  return OBJECT_SPECS.map((spec) => ({
    id: random.uuid(),
    slug: spec.slug,
    singular: spec.singular,
    plural: spec.plural,
    createdAt,
    attributes: spec.attributes.map((attribute) => buildAttribute(attribute, random, createdAt)),
  }));
}

export function buildAttribute(
  [slug, type, flags, extra]: Spec,
  random: SeededRandom,
  createdAt: string,
): AttributeDef {
  const { optionTitles, ...rest } = extra ?? {};
  return {
    id: random.uuid(),
    slug,
    // Attio titles are in sentence case: "Email addresses" (recorded GET /v2/objects/people/attributes).
    title: sentenceCase(slug),
    type,
    system: flags.includes("s"),
    writable: flags.includes("w"),
    required: flags.includes("r"),
    unique: flags.includes("u"),
    multiselect: flags.includes("m"),
    description: null,
    custom: false,
    archived: false,
    options: (optionTitles ?? []).map((title) => newOption(random.uuid(), title)),
    currencyCode: null,
    currencyDisplay: null,
    targets: [],
    inverse: null,
    defaultValue: null,
    createdAt,
    ...rest,
  };
}

function sentenceCase(slug: string): string {
  const words = slug.split("_");
  return words.map((word, i) => (i === 0 ? word.charAt(0).toUpperCase() + word.slice(1) : word)).join(" ");
}

export function newOption(id: string, title: string): OptionDef {
  // The recorded deal's "Won 🎉" status has celebration_enabled false: no status starts with it on.
  return { id, title, archived: false, celebrationEnabled: false, targetTimeInStatus: null };
}

/** The attributes every object has, custom ones included (docs "standard objects": record_id, created_at, created_by). */
export function systemAttributes(random: SeededRandom, createdAt: string): AttributeDef[] {
  return [...SYSTEM_HEAD, ...SYSTEM_TAIL].map((spec) => buildAttribute(spec, random, createdAt));
}

/** Attio's timestamps carry nanosecond precision: `2026-05-15T21:49:04.642000000Z`. */
export function attioTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}
