export type FieldType =
  | "id"
  | "boolean"
  | "string"
  | "textarea"
  | "picklist"
  | "reference"
  | "datetime"
  | "date"
  | "currency"
  | "double"
  | "int"
  | "percent"
  | "phone"
  | "url"
  | "email"
  | "address";

export interface PicklistEntry {
  value: string;
  label: string;
  defaultValue: boolean;
}

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  length: number;
  /** Digits in all and after the point (currency, double, percent); 0 for other types. */
  precision: number;
  scale: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  unique: boolean;
  restrictedPicklist: boolean;
  picklist: PicklistEntry[];
  referenceTo: string[];
  relationshipName: string | null;
  /** The compound (Name, BillingAddress, ...) this field is a component of, and its key in it. */
  compound: { name: string; component: string } | null;
  /** Created by an admin (a `__c` field). */
  custom: boolean;
  /** The value a create that leaves the field out gets (checkboxes); picklist defaults are in `picklist`. */
  defaultValue: string | boolean | null;
  /** Whether SOQL may use it in WHERE (long text areas and compound addresses may not). */
  filterable: boolean;
  /** An auto-number name field: `{0000}` in the format is the counter, zero-padded. */
  autoNumber: { format: string; next: number } | null;
}

export interface SObjectDef {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  createable: boolean;
  fields: FieldDef[];
}

/** Flags: c(reateable) u(pdateable) n(illable) d(efaultedOnCreate) x (externalId) q (unique) r(estricted picklist). */
type Spec = [name: string, type: FieldType, flags: string, extra?: Partial<FieldDef>];

const INDUSTRY = [
  "Agriculture",
  "Apparel",
  "Banking",
  "Biotechnology",
  "Chemicals",
  "Communications",
  "Construction",
  "Consulting",
  "Education",
  "Electronics",
  "Energy",
  "Engineering",
  "Entertainment",
  "Environmental",
  "Finance",
  "Food & Beverage",
  "Government",
  "Healthcare",
  "Hospitality",
  "Insurance",
  "Machinery",
  "Manufacturing",
  "Media",
  "Not For Profit",
  "Recreation",
  "Retail",
  "Shipping",
  "Technology",
  "Telecommunications",
  "Transportation",
  "Utilities",
  "Other",
];
const SOURCE = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"];
const ACCOUNT_TYPE = [
  "Prospect",
  "Customer - Direct",
  "Customer - Channel",
  "Channel Partner / Reseller",
  "Installation Partner",
  "Technology Partner",
  "Other",
];
const GEOCODE_ACCURACY = [
  "Address",
  "NearAddress",
  "Block",
  "Street",
  "ExtendedZip",
  "Zip",
  "Neighborhood",
  "City",
  "County",
  "State",
  "Unknown",
];

/** Default stages of a new org, with probability, forecast category, closed and won. */
export const STAGES: Array<[stage: string, probability: number, forecast: string, closed: boolean, won: boolean]> = [
  ["Prospecting", 10, "Pipeline", false, false],
  ["Qualification", 10, "Pipeline", false, false],
  ["Needs Analysis", 20, "Pipeline", false, false],
  ["Value Proposition", 50, "Pipeline", false, false],
  ["Id. Decision Makers", 60, "Pipeline", false, false],
  ["Perception Analysis", 70, "Pipeline", false, false],
  ["Proposal/Price Quote", 75, "Pipeline", false, false],
  ["Negotiation/Review", 90, "Pipeline", false, false],
  ["Closed Won", 100, "Closed", true, true],
  ["Closed Lost", 0, "Omitted", true, false],
];

const pick = (values: string[]): Partial<FieldDef> => ({
  picklist: values.map((value) => ({ value, label: value, defaultValue: false })),
});
const lookup = (target: string, relationshipName: string): Partial<FieldDef> => ({
  referenceTo: [target],
  relationshipName,
  length: 18,
});
const part = (name: string, component: string, length: number): Partial<FieldDef> => ({
  compound: { name, component },
  length,
});
const checkbox = (name: string, flags = "cud"): Spec => [name, "boolean", flags, { defaultValue: false }];
const number = (precision: number, scale: number): Partial<FieldDef> => ({ precision, scale });

const SYSTEM: Spec[] = [
  ["Id", "id", "d", { length: 18 }],
  ["IsDeleted", "boolean", "d"],
  ["CreatedDate", "datetime", "d"],
  ["CreatedById", "reference", "d", lookup("User", "CreatedBy")],
  ["LastModifiedDate", "datetime", "d"],
  ["LastModifiedById", "reference", "d", lookup("User", "LastModifiedBy")],
  ["SystemModstamp", "datetime", "d"],
];
const OWNER: Spec = ["OwnerId", "reference", "cud", lookup("User", "Owner")];

/** A standard address: its components, geocode fields, and the read-only compound. */
const address = (prefix: string): Spec[] => [
  [`${prefix}Street`, "textarea", "cun", part(`${prefix}Address`, "Street", 255)],
  [`${prefix}City`, "string", "cun", part(`${prefix}Address`, "City", 40)],
  [`${prefix}State`, "string", "cun", part(`${prefix}Address`, "State", 80)],
  [`${prefix}PostalCode`, "string", "cun", part(`${prefix}Address`, "PostalCode", 20)],
  [`${prefix}Country`, "string", "cun", part(`${prefix}Address`, "Country", 80)],
  [`${prefix}Latitude`, "double", "cun", { ...part(`${prefix}Address`, "Latitude", 0), ...number(18, 15) }],
  [`${prefix}Longitude`, "double", "cun", { ...part(`${prefix}Address`, "Longitude", 0), ...number(18, 15) }],
  [
    `${prefix}GeocodeAccuracy`,
    "picklist",
    "cun",
    { ...pick(GEOCODE_ACCURACY), ...part(`${prefix}Address`, "GeocodeAccuracy", 40) },
  ],
  [`${prefix}Address`, "address", "n"],
];

/**
 * The standard objects of a new org, with the standard fields the sandbox keeps (no custom field,
 * no custom object: an admin adds those through the Tooling API, see tooling.ts).
 */
const SPECS: Array<{
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  createable?: boolean;
  fields: Spec[];
}> = [
  {
    name: "Account",
    label: "Account",
    labelPlural: "Accounts",
    keyPrefix: "001",
    fields: [
      ...SYSTEM,
      ["Name", "string", "cu", { length: 255 }],
      ["Type", "picklist", "cun", pick(ACCOUNT_TYPE)],
      ["ParentId", "reference", "cun", lookup("Account", "Parent")],
      ...address("Billing"),
      ...address("Shipping"),
      ["Phone", "phone", "cun", { length: 40 }],
      ["Fax", "phone", "cun", { length: 40 }],
      ["AccountNumber", "string", "cun", { length: 40 }],
      ["Website", "url", "cun", { length: 255 }],
      ["Sic", "string", "cun", { length: 20 }],
      ["Industry", "picklist", "cun", pick(INDUSTRY)],
      ["AnnualRevenue", "currency", "cun", number(18, 0)],
      ["NumberOfEmployees", "int", "cun"],
      ["Ownership", "picklist", "cun", pick(["Public", "Private", "Subsidiary", "Other"])],
      ["TickerSymbol", "string", "cun", { length: 20 }],
      ["Description", "textarea", "cun", { length: 32000 }],
      ["Rating", "picklist", "cun", pick(["Hot", "Warm", "Cold"])],
      ["Site", "string", "cun", { length: 80 }],
      OWNER,
      ["AccountSource", "picklist", "cun", pick(SOURCE)],
      // Set only on records deleted by a merge: the id of the record that won.
      ["MasterRecordId", "reference", "n", lookup("Account", "MasterRecord")],
    ],
  },
  {
    name: "Contact",
    label: "Contact",
    labelPlural: "Contacts",
    keyPrefix: "003",
    fields: [
      ...SYSTEM,
      ["AccountId", "reference", "cun", lookup("Account", "Account")],
      ["LastName", "string", "cu", part("Name", "LastName", 80)],
      ["FirstName", "string", "cun", part("Name", "FirstName", 40)],
      [
        "Salutation",
        "picklist",
        "cun",
        { ...pick(["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."]), ...part("Name", "Salutation", 40) },
      ],
      ["Name", "string", "", { length: 121 }],
      ...address("Other"),
      ...address("Mailing"),
      ["Phone", "phone", "cun", { length: 40 }],
      ["Fax", "phone", "cun", { length: 40 }],
      ["MobilePhone", "phone", "cun", { length: 40 }],
      ["HomePhone", "phone", "cun", { length: 40 }],
      ["OtherPhone", "phone", "cun", { length: 40 }],
      ["AssistantPhone", "phone", "cun", { length: 40 }],
      ["ReportsToId", "reference", "cun", lookup("Contact", "ReportsTo")],
      ["Email", "email", "cun", { length: 80 }],
      ["Title", "string", "cun", { length: 128 }],
      ["Department", "string", "cun", { length: 80 }],
      ["AssistantName", "string", "cun", { length: 40 }],
      ["LeadSource", "picklist", "cun", pick(SOURCE)],
      ["Birthdate", "date", "cun"],
      ["Description", "textarea", "cun", { length: 32000 }],
      OWNER,
      checkbox("HasOptedOutOfEmail"),
      checkbox("HasOptedOutOfFax"),
      checkbox("DoNotCall"),
      ["MasterRecordId", "reference", "n", lookup("Contact", "MasterRecord")],
    ],
  },
  {
    name: "Opportunity",
    label: "Opportunity",
    labelPlural: "Opportunities",
    keyPrefix: "006",
    fields: [
      ...SYSTEM,
      ["AccountId", "reference", "cun", lookup("Account", "Account")],
      checkbox("IsPrivate"),
      // Present since API v49.0 (the Contact an opportunity was created from).
      ["ContactId", "reference", "cun", lookup("Contact", "Contact")],
      ["Name", "string", "cu", { length: 120 }],
      ["Description", "textarea", "cun", { length: 32000 }],
      ["StageName", "picklist", "cu", pick(STAGES.map(([stage]) => stage))],
      ["Amount", "currency", "cun", number(18, 2)],
      ["Probability", "percent", "cund", number(3, 0)],
      ["TotalOpportunityQuantity", "double", "cun", number(18, 2)],
      ["CloseDate", "date", "cu"],
      [
        "Type",
        "picklist",
        "cun",
        pick([
          "New Customer",
          "Existing Customer - Upgrade",
          "Existing Customer - Replacement",
          "Existing Customer - Downgrade",
        ]),
      ],
      ["NextStep", "string", "cun", { length: 255 }],
      ["LeadSource", "picklist", "cun", pick(SOURCE)],
      ["IsClosed", "boolean", "d"],
      ["IsWon", "boolean", "d"],
      ["ForecastCategoryName", "picklist", "cund", pick(["Omitted", "Pipeline", "Best Case", "Commit", "Closed"])],
      OWNER,
    ],
  },
  {
    // Users are read-only here: the sync maps owners to them, it does not create them.
    name: "User",
    label: "User",
    labelPlural: "Users",
    keyPrefix: "005",
    createable: false,
    fields: [
      ...SYSTEM,
      ["Username", "string", "", { length: 80 }],
      ["LastName", "string", "", { length: 80 }],
      ["FirstName", "string", "n", { length: 40 }],
      ["Name", "string", "", { length: 121 }],
      ["Email", "email", "", { length: 128 }],
      ["IsActive", "boolean", "ud"],
      ["Title", "string", "un", { length: 80 }],
      ["Department", "string", "un", { length: 80 }],
    ],
  },
];

/** A field with every attribute at its default, overridden by `extra`. */
export function buildField(name: string, type: FieldType, flags: string, extra: Partial<FieldDef> = {}): FieldDef {
  const length = ["string", "textarea", "phone", "url", "email", "picklist"].includes(type) ? 255 : 0;
  const base: FieldDef = {
    name,
    label: name.replace(/__c$/, "").replace(/_/g, " "),
    type,
    length,
    precision: 0,
    scale: 0,
    nillable: flags.includes("n"),
    createable: flags.includes("c"),
    updateable: flags.includes("u"),
    defaultedOnCreate: flags.includes("d"),
    externalId: flags.includes("x"),
    unique: flags.includes("q"),
    restrictedPicklist: flags.includes("r"),
    picklist: [],
    referenceTo: [],
    relationshipName: null,
    compound: null,
    custom: name.endsWith("__c"),
    defaultValue: null,
    filterable: true,
    autoNumber: null,
  };
  const f = { ...base, ...extra };
  // Long text areas and compound addresses cannot be filtered on in SOQL.
  if ((f.type === "textarea" && f.length > 255) || f.type === "address") f.filterable = false;
  return f;
}

/** The system fields every object has, for a custom object. */
export function systemFields(): FieldDef[] {
  return [...SYSTEM, OWNER].map(([name, type, flags, extra]) => buildField(name, type, flags, extra));
}

/** Fresh copies of the standard objects (each org owns and may extend its own). */
export function standardObjects(): SObjectDef[] {
  return SPECS.map((spec) => ({
    name: spec.name,
    label: spec.label,
    labelPlural: spec.labelPlural,
    keyPrefix: spec.keyPrefix,
    custom: false,
    createable: spec.createable ?? true,
    fields: spec.fields.map(([name, type, flags, extra]) => buildField(name, type, flags, extra)),
  }));
}

/** A metadata component created through the Tooling API (kept so it can be read back by id). */
export interface MetadataComponent {
  id: string;
  type: "CustomField" | "CustomObject";
  fullName: string;
  developerName: string;
  tableEnumOrId: string | null;
  metadata: Record<string, unknown>;
  createdDate: string;
  createdById: string;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/**
 * One org's schema: the standard objects, plus the custom fields and objects created in it. Owned
 * by the store; every part of the emulator (SOQL, REST, Bulk API, change events) reads it, so a
 * field added through the Tooling API is usable everywhere at once.
 */
export class OrgSchema {
  readonly objects: SObjectDef[] = standardObjects();
  readonly components = new Map<string, MetadataComponent>();
  private byName = new Map<string, SObjectDef>();
  private customObjects = 0;

  constructor() {
    for (const def of this.objects) this.byName.set(def.name.toLowerCase(), def);
  }

  sobject(name: string): SObjectDef | undefined {
    return this.byName.get(name.toLowerCase());
  }

  addObject(def: SObjectDef): void {
    this.objects.push(def);
    this.byName.set(def.name.toLowerCase(), def);
  }

  /** Custom objects get key prefixes a00, a01, ... in creation order, as in a new org. */
  nextKeyPrefix(): string {
    const n = this.customObjects++;
    return `a${BASE62.charAt(Math.floor(n / 62) % 62)}${BASE62.charAt(n % 62)}`;
  }
}

export function field(def: SObjectDef, name: string): FieldDef | undefined {
  const lower = name.toLowerCase();
  return def.fields.find((candidate) => candidate.name.toLowerCase() === lower);
}

/** `GET /sobjects`: the org's objects, custom ones included. */
export function describeGlobal(schema: OrgSchema, version: string): unknown {
  return {
    encoding: "UTF-8",
    maxBatchSize: 200,
    sobjects: schema.objects.map((def) => ({
      name: def.name,
      label: def.label,
      labelPlural: def.labelPlural,
      keyPrefix: def.keyPrefix,
      custom: def.custom,
      createable: def.createable,
      updateable: true,
      deletable: def.createable,
      queryable: true,
      replicateable: true,
      urls: {
        sobject: `/services/data/v${version}/sobjects/${def.name}`,
        describe: `/services/data/v${version}/sobjects/${def.name}/describe`,
      },
    })),
  };
}

/** `GET /sobjects/X/describe`, with the keys of a real describe (rest-describe-account excerpt). */
export function describe(def: SObjectDef, version: string): unknown {
  return {
    name: def.name,
    label: def.label,
    labelPlural: def.labelPlural,
    keyPrefix: def.keyPrefix,
    createable: def.createable,
    updateable: true,
    deletable: def.createable,
    queryable: true,
    replicateable: true,
    custom: def.custom,
    urls: { sobject: `/services/data/v${version}/sobjects/${def.name}` },
    fields: def.fields.map((f) => ({
      name: f.name,
      label: f.label,
      type: f.type,
      length: f.length,
      precision: f.precision,
      scale: f.scale,
      nillable: f.nillable,
      createable: f.createable,
      updateable: f.updateable,
      defaultedOnCreate: f.defaultedOnCreate,
      defaultValue: f.defaultValue,
      externalId: f.externalId,
      unique: f.unique,
      custom: f.custom,
      filterable: f.filterable,
      autoNumber: f.autoNumber !== null,
      calculated: false,
      compoundFieldName: f.compound?.name ?? (f.name === "Name" && def.name === "Account" ? "Name" : null),
      controllerName: null,
      dependentPicklist: false,
      restrictedPicklist: f.restrictedPicklist,
      referenceTo: f.referenceTo,
      relationshipName: f.relationshipName,
      picklistValues: f.picklist.map((entry) => ({
        active: true,
        defaultValue: entry.defaultValue,
        label: entry.label,
        validFor: null,
        value: entry.value,
      })),
    })),
  };
}
