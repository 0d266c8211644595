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

export interface FieldDef {
  name: string;
  label: string;
  type: FieldType;
  length: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  unique: boolean;
  restrictedPicklist: boolean;
  picklist: string[];
  referenceTo: string[];
  relationshipName: string | null;
  /** The compound (Name, BillingAddress, ...) this field is a component of, and its key in it. */
  compound: { name: string; component: string } | null;
}

export interface SObjectDef {
  name: string;
  label: string;
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

const pick = (values: string[]): Partial<FieldDef> => ({ picklist: values });
const lookup = (target: string, relationshipName: string): Partial<FieldDef> => ({
  referenceTo: [target],
  relationshipName,
});
const part = (name: string, component: string, length: number): Partial<FieldDef> => ({
  compound: { name, component },
  length,
});

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
const ATTIO_ID: Spec = ["Attio_Id__c", "string", "cunxq", { length: 36 }];

const address = (prefix: string): Spec[] => [
  [`${prefix}Street`, "textarea", "cun", part(`${prefix}Address`, "Street", 255)],
  [`${prefix}City`, "string", "cun", part(`${prefix}Address`, "City", 40)],
  [`${prefix}State`, "string", "cun", part(`${prefix}Address`, "State", 80)],
  [`${prefix}PostalCode`, "string", "cun", part(`${prefix}Address`, "PostalCode", 20)],
  [`${prefix}Country`, "string", "cun", part(`${prefix}Address`, "Country", 80)],
  [`${prefix}Address`, "address", "n"],
];

const SPECS: Array<{ name: string; label: string; keyPrefix: string; createable?: boolean; fields: Spec[] }> = [
  {
    name: "Account",
    label: "Account",
    keyPrefix: "001",
    fields: [
      ...SYSTEM,
      ["Name", "string", "cu", { length: 255 }],
      ["Type", "picklist", "cun", pick(ACCOUNT_TYPE)],
      ["ParentId", "reference", "cun", lookup("Account", "Parent")],
      ...address("Billing"),
      ["Phone", "phone", "cun", { length: 40 }],
      ["Website", "url", "cun", { length: 255 }],
      ["Industry", "picklist", "cun", pick(INDUSTRY)],
      ["AnnualRevenue", "currency", "cun"],
      ["NumberOfEmployees", "int", "cun"],
      ["Description", "textarea", "cun", { length: 32000 }],
      OWNER,
      ["AccountSource", "picklist", "cun", pick(SOURCE)],
      // Set only on records deleted by a merge: the id of the record that won.
      ["MasterRecordId", "reference", "n", lookup("Account", "MasterRecord")],
      ATTIO_ID,
    ],
  },
  {
    name: "Contact",
    label: "Contact",
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
      ...address("Mailing"),
      ["Phone", "phone", "cun", { length: 40 }],
      ["MobilePhone", "phone", "cun", { length: 40 }],
      ["Email", "email", "cun", { length: 80 }],
      ["Title", "string", "cun", { length: 128 }],
      ["Department", "string", "cun", { length: 80 }],
      ["LeadSource", "picklist", "cun", pick(SOURCE)],
      ["Description", "textarea", "cun", { length: 32000 }],
      OWNER,
      ["MasterRecordId", "reference", "n", lookup("Contact", "MasterRecord")],
      ATTIO_ID,
    ],
  },
  {
    name: "Opportunity",
    label: "Opportunity",
    keyPrefix: "006",
    fields: [
      ...SYSTEM,
      ["AccountId", "reference", "cun", lookup("Account", "Account")],
      ["ContactId", "reference", "cun", lookup("Contact", "Contact")],
      ["Name", "string", "cu", { length: 120 }],
      ["Description", "textarea", "cun", { length: 32000 }],
      ["StageName", "picklist", "cu", pick(STAGES.map(([stage]) => stage))],
      ["Amount", "currency", "cun"],
      ["Probability", "percent", "cund"],
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
      ATTIO_ID,
    ],
  },
  {
    // Users are read-only here: the sync maps owners to them, it does not create them.
    name: "User",
    label: "User",
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
  {
    name: "Project__c",
    label: "Project",
    keyPrefix: "a05",
    fields: [
      ...SYSTEM,
      OWNER,
      // A custom object's text Name defaults to the record id when not given.
      ["Name", "string", "cud", { length: 80 }],
      ["Status__c", "picklist", "cunr", pick(["Planned", "Active", "Done"])],
      ["Account__c", "reference", "cun", lookup("Account", "Account__r")],
      ["Budget__c", "currency", "cun"],
      ["Start_Date__c", "date", "cun"],
      ATTIO_ID,
    ],
  },
];

export const SOBJECTS: SObjectDef[] = SPECS.map((spec) => ({
  name: spec.name,
  label: spec.label,
  keyPrefix: spec.keyPrefix,
  custom: spec.name.endsWith("__c"),
  createable: spec.createable ?? true,
  fields: spec.fields.map(buildField),
}));

function buildField([name, type, flags, extra]: Spec): FieldDef {
  return {
    name,
    label: name.replace(/__c$/, "").replace(/_/g, " "),
    type,
    length: ["string", "textarea", "phone", "url", "email", "picklist"].includes(type) ? 255 : 0,
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
    ...extra,
  };
}

export function sobject(name: string): SObjectDef | undefined {
  const lower = name.toLowerCase();
  return SOBJECTS.find((candidate) => candidate.name.toLowerCase() === lower);
}

export function field(def: SObjectDef, name: string): FieldDef | undefined {
  const lower = name.toLowerCase();
  return def.fields.find((candidate) => candidate.name.toLowerCase() === lower);
}

/** `GET /sobjects/X/describe`, with the keys of a real describe (rest-describe-account excerpt). */
export function describe(def: SObjectDef, version: string): unknown {
  return {
    name: def.name,
    label: def.label,
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
      precision: f.type === "currency" ? 18 : 0,
      scale: f.type === "currency" ? 2 : 0,
      nillable: f.nillable,
      createable: f.createable,
      updateable: f.updateable,
      defaultedOnCreate: f.defaultedOnCreate,
      externalId: f.externalId,
      unique: f.unique,
      compoundFieldName: f.compound?.name ?? (f.name === "Name" && def.name === "Account" ? "Name" : null),
      controllerName: null,
      dependentPicklist: false,
      restrictedPicklist: f.restrictedPicklist,
      referenceTo: f.referenceTo,
      relationshipName: f.relationshipName,
      picklistValues: f.picklist.map((value) => ({
        active: true,
        defaultValue: false,
        label: value,
        validFor: null,
        value,
      })),
    })),
  };
}
