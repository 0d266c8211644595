import { type OrgCapabilities, PLAIN_ORG } from "./schema-salesforce.ts";
import { DEFAULT_INDUSTRIES, DEFAULT_STAGES } from "./tables.ts";
import type { FieldMapping, ObjectMapping } from "./types.ts";

/**
 * The opinionated default mappings: usable with zero configuration. Some fields depend on what the
 * org has (describe tells): the country goes to *CountryCode with State & Country picklists, the
 * currency code only to multi-currency orgs, LinkedIn only when Contact.LinkedIn__c exists.
 */

/** Slugs of the deal attributes that are not standard in Attio (workspaces create them). */
export interface DealAttributeSlugs {
  close_date: string;
  probability: string;
  source: string;
}

export const DEFAULT_DEAL_ATTRIBUTES: DealAttributeSlugs = {
  close_date: "close_date",
  probability: "probability",
  source: "source",
};

function field(attio: string, salesforce: string, transform: string, extra: Partial<FieldMapping> = {}): FieldMapping {
  return { attio, salesforce, transform, direction: "both", ...extra };
}

function companies(org: OrgCapabilities): ObjectMapping {
  return {
    name: "companies",
    attio_object: "companies",
    salesforce_object: "Account",
    enabled: true,
    read_only: false,
    fields: [
      field("name", "Name", "text"),
      field("domains", "Website", "domain_to_url"),
      field("description", "Description", "text"),
      field("primary_location.locality", "BillingCity", "text"),
      field("primary_location.region", "BillingState", "text"),
      field("primary_location.postcode", "BillingPostalCode", "text"),
      org.stateCountryPicklists
        ? field("primary_location.country_code", "BillingCountryCode", "country_code")
        : field("primary_location.country_code", "BillingCountry", "country_name"),
      field("categories", "Industry", "industry"),
      // Enriched by Attio (is_writable: false), so one way unless the workspace replaced them.
      field("employee_range", "NumberOfEmployees", "range_to_number", {
        direction: "attio_to_sf",
        options: { ranges: "employees" },
      }),
      field("estimated_arr_usd", "AnnualRevenue", "range_to_number", {
        direction: "attio_to_sf",
        options: { ranges: "usd" },
      }),
    ],
    match_keys: [{ attio: "domains", salesforce: "Website", normalize: "domain" }],
    stages: [],
    industries: [...DEFAULT_INDUSTRIES],
  };
}

function people(org: OrgCapabilities): ObjectMapping {
  const fields = [
    field("name.first_name", "FirstName", "text"),
    field("name.last_name", "LastName", "last_name"),
    field("email_addresses", "Email", "email"),
    field("phone_numbers", "Phone", "phone"),
    field("job_title", "Title", "text"),
    field("primary_location.locality", "MailingCity", "text"),
    field("primary_location.region", "MailingState", "text"),
    org.stateCountryPicklists
      ? field("primary_location.country_code", "MailingCountryCode", "country_code")
      : field("primary_location.country_code", "MailingCountry", "country_name"),
    field("company", "AccountId", "record_reference", { options: { target: "companies" } }),
  ];
  if (org.contactLinkedIn) fields.push(field("linkedin", "LinkedIn__c", "text"));
  return {
    name: "people",
    attio_object: "people",
    salesforce_object: "Contact",
    enabled: true,
    read_only: false,
    fields,
    match_keys: [{ attio: "email_addresses", salesforce: "Email", normalize: "email" }],
    stages: [],
    industries: [],
  };
}

function deals(org: OrgCapabilities, slugs: DealAttributeSlugs): ObjectMapping {
  const fields = [
    field("name", "Name", "text"),
    field("value", "Amount", "currency_to_number"),
    field("stage", "StageName", "status_to_stage"),
    field(slugs.close_date, "CloseDate", "close_date"),
    field("associated_company", "AccountId", "record_reference", { options: { target: "companies" } }),
    field(slugs.source, "LeadSource", "select"),
    field(slugs.probability, "Probability", "percent"),
    field("owner", "OwnerId", "owner"),
  ];
  if (org.multiCurrency) fields.push(field("value", "CurrencyIsoCode", "currency_code", { direction: "attio_to_sf" }));
  if (org.opportunityContactId) {
    fields.push(field("associated_people", "ContactId", "record_reference", { options: { target: "people" } }));
  }
  return {
    name: "deals",
    attio_object: "deals",
    salesforce_object: "Opportunity",
    enabled: true,
    read_only: false,
    fields,
    // Deals have no unique key on either side: the same name is the best default evidence that two
    // deals are one (several with one name become an ambiguous match for a person to settle).
    match_keys: [{ attio: "name", salesforce: "Name", normalize: "text" }],
    stages: [...DEFAULT_STAGES],
    industries: [],
  };
}

/** Workspace members <-> Users: matched by email so owners can be mapped; nothing is written. */
function users(): ObjectMapping {
  return {
    name: "users",
    attio_object: "workspace_members",
    salesforce_object: "User",
    enabled: true,
    read_only: true,
    fields: [],
    match_keys: [{ attio: "email_address", salesforce: "Email", normalize: "email" }],
    stages: [],
    industries: [],
  };
}

/** The four default mappings for an org with the given capabilities. */
export function defaultMappings(
  org: OrgCapabilities = PLAIN_ORG,
  dealSlugs: DealAttributeSlugs = DEFAULT_DEAL_ATTRIBUTES,
): ObjectMapping[] {
  return [companies(org), people(org), deals(org, dealSlugs), users()];
}
