import { ATTIO_RECORD_ID_FIELD, type OrgCapabilities, PLAIN_ORG } from "./schema-salesforce.ts";
import { DEFAULT_INDUSTRIES, DEFAULT_STAGES } from "./tables.ts";
import { CLOSE_DATE_FALLBACK_DAYS } from "./transforms.ts";
import type { FieldMapping, ObjectMapping } from "./types.ts";

/**
 * The opinionated default mappings: usable with zero configuration. Some fields depend on what the
 * org has (describe tells): the country goes to *CountryCode with State & Country picklists, the
 * currency code only to multi-currency orgs, LinkedIn only when Contact.LinkedIn__c exists.
 */

/**
 * A new Attio workspace's deals have only name, stage, owner, value, associated_people and
 * associated_company. A close date, a source and a probability are custom attributes a workspace
 * may add under any slug: these are tried in order (the configured slug first), and a field whose
 * attribute the workspace lacks is left out with a warning instead of switching the mapping off.
 */
export const DEAL_ATTRIBUTE_CANDIDATES = {
  close_date: ["expected_close_date", "close_date", "closing_date", "expected_close", "estimated_close_date"],
  source: ["source", "lead_source", "deal_source"],
  probability: ["probability", "win_probability", "deal_probability"],
} as const;

/** What config.toml may say about the optional deal attributes (config-toml.ts `[mappings.deals]`). */
export interface DealOptions {
  close_date_attribute?: string | undefined;
  probability_attribute?: string | undefined;
  source_attribute?: string | undefined;
  /** With no close date attribute (or an empty one): CloseDate = the deal's creation day + these days. */
  close_date_fallback_days: number;
}

export const DEFAULT_DEAL_OPTIONS: DealOptions = { close_date_fallback_days: CLOSE_DATE_FALLBACK_DAYS };

/** The configured slug, then the common ones: the first that exists is used (validate.ts). */
function candidates(configured: string | undefined, common: readonly string[]): [string, ...string[]] {
  const [first = "", ...rest] = configured ? [configured] : common;
  return [first, ...rest];
}

/** The conventional External ID field, where the org has it on `object` (config can name another). */
function externalId(org: OrgCapabilities, object: string): Pick<ObjectMapping, "salesforce_external_id_field"> {
  return org.attioRecordIdObjects.includes(object) ? { salesforce_external_id_field: ATTIO_RECORD_ID_FIELD } : {};
}

function field(attio: string, salesforce: string, transform: string, extra: Partial<FieldMapping> = {}): FieldMapping {
  return { attio, salesforce, transform, direction: "both", ...extra };
}

function companies(org: OrgCapabilities): ObjectMapping {
  return {
    name: "companies",
    attio_object: "companies",
    salesforce_object: "Account",
    ...externalId(org, "Account"),
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
    ...externalId(org, "Contact"),
    enabled: true,
    read_only: false,
    fields,
    match_keys: [{ attio: "email_addresses", salesforce: "Email", normalize: "email" }],
    stages: [],
    industries: [],
  };
}

function deals(org: OrgCapabilities, options: DealOptions): ObjectMapping {
  const days = options.close_date_fallback_days;
  const [closeDate, ...closeDates] = candidates(options.close_date_attribute, DEAL_ATTRIBUTE_CANDIDATES.close_date);
  const [source, ...sources] = candidates(options.source_attribute, DEAL_ATTRIBUTE_CANDIDATES.source);
  const [probability, ...probabilities] = candidates(
    options.probability_attribute,
    DEAL_ATTRIBUTE_CANDIDATES.probability,
  );
  const fields = [
    field("name", "Name", "text"),
    field("value", "Amount", "currency_to_number"),
    field("stage", "StageName", "status_to_stage"),
    field(closeDate, "CloseDate", "close_date", {
      options: { fallback_days: days },
      attio_candidates: closeDates,
      // Without a close date attribute, CloseDate (required) is derived and never written back.
      fallback: {
        attio: "created_at",
        salesforce: "CloseDate",
        transform: "date_plus_days",
        direction: "attio_to_sf",
        options: { days },
      },
    }),
    field("associated_company", "AccountId", "record_reference", { options: { target: "companies" } }),
    field(source, "LeadSource", "select", { attio_candidates: sources, optional: true }),
    field(probability, "Probability", "percent", { attio_candidates: probabilities, optional: true }),
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
    ...externalId(org, "Opportunity"),
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
  dealOptions: DealOptions = DEFAULT_DEAL_OPTIONS,
): ObjectMapping[] {
  return [companies(org), people(org), deals(org, dealOptions), users()];
}
