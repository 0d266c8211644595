import { z } from "zod";

/**
 * The parts of `GET /sobjects/{object}/describe` the mapping engine relies on. Unknown keys are kept
 * out (zod strips them); a describe missing one of these is rejected with the path that is wrong.
 */
export const PicklistValueSchema = z.object({
  active: z.boolean(),
  defaultValue: z.boolean().optional(),
  label: z.string().nullable(),
  value: z.string(),
  validFor: z.string().nullable().optional(),
});

export const SfFieldDescribeSchema = z.object({
  name: z.string(),
  label: z.string(),
  type: z.string(),
  length: z.number().optional(),
  nillable: z.boolean(),
  createable: z.boolean(),
  updateable: z.boolean(),
  defaultedOnCreate: z.boolean(),
  externalId: z.boolean().optional().default(false),
  unique: z.boolean().optional().default(false),
  restrictedPicklist: z.boolean().optional().default(false),
  referenceTo: z.array(z.string()).optional().default([]),
  picklistValues: z.array(PicklistValueSchema).optional().default([]),
});
export type SfFieldDescribe = z.infer<typeof SfFieldDescribeSchema>;

export const SObjectDescribeSchema = z.object({
  name: z.string(),
  label: z.string().optional(),
  createable: z.boolean().optional(),
  updateable: z.boolean().optional(),
  fields: z.array(SfFieldDescribeSchema),
});
export type SObjectDescribe = z.infer<typeof SObjectDescribeSchema>;

/** Salesforce won't create a record without this field: not nillable and nothing defaults it. */
export function isRequiredOnCreate(field: SfFieldDescribe): boolean {
  return field.createable && !field.nillable && !field.defaultedOnCreate && field.type !== "boolean";
}

export function activePicklistValues(field: SfFieldDescribe): string[] {
  return field.picklistValues.filter((v) => v.active).map((v) => v.value);
}

/** Features of the org that change the default mappings, learnt from describe. */
export interface OrgCapabilities {
  /** State & Country/Territory picklists: BillingCountryCode/MailingCountryCode exist. */
  stateCountryPicklists: boolean;
  /** Multi-currency: CurrencyIsoCode exists on Opportunity. */
  multiCurrency: boolean;
  /** A custom LinkedIn__c field on Contact. */
  contactLinkedIn: boolean;
  /** Opportunity.ContactId (API v49+). */
  opportunityContactId: boolean;
  /**
   * The described objects (Account, Contact, Opportunity, custom mappings') with an External ID field of the conventional
   * name ATTIO_RECORD_ID_FIELD (`npm run setup` offers to create it): creates become upserts on it.
   */
  attioRecordIdObjects: string[];
}

/** The conventional External ID field that holds the Attio record id. */
export const ATTIO_RECORD_ID_FIELD = "Attio_Record_Id__c";

/** What is assumed with no describe at hand: the plainest org that still has API v62 fields. */
export const PLAIN_ORG: OrgCapabilities = {
  stateCountryPicklists: false,
  multiCurrency: false,
  contactLinkedIn: false,
  opportunityContactId: true,
  attioRecordIdObjects: [],
};

/** Reads the capabilities from whichever of Account, Contact, Opportunity describes are given. */
export function orgCapabilities(describes: Readonly<Record<string, SObjectDescribe | undefined>>): OrgCapabilities {
  const has = (object: string, field: string): boolean | undefined => {
    const describe = describes[object];
    return describe ? describe.fields.some((f) => f.name === field) : undefined;
  };
  return {
    stateCountryPicklists:
      has("Account", "BillingCountryCode") ?? has("Contact", "MailingCountryCode") ?? PLAIN_ORG.stateCountryPicklists,
    multiCurrency:
      has("Opportunity", "CurrencyIsoCode") ?? has("Account", "CurrencyIsoCode") ?? PLAIN_ORG.multiCurrency,
    contactLinkedIn: has("Contact", "LinkedIn__c") ?? PLAIN_ORG.contactLinkedIn,
    opportunityContactId: has("Opportunity", "ContactId") ?? PLAIN_ORG.opportunityContactId,
    attioRecordIdObjects: Object.keys(describes).filter((object) =>
      describes[object]?.fields.some((f) => f.name === ATTIO_RECORD_ID_FIELD && f.externalId),
    ),
  };
}
