import attioCompanyAttributes from "../../../fixtures/attio/attributes-companies.json";
import attioDealAttributes from "../../../fixtures/attio/attributes-deals.json";
import attioPeopleAttributes from "../../../fixtures/attio/attributes-people.json";
import companyRecord from "../../../fixtures/attio/company-record.json";
import dealsQuery from "../../../fixtures/attio/deals-query.json";
import personRecord from "../../../fixtures/attio/person-record.json";
import workspaceMembers from "../../../fixtures/attio/workspace-members.json";
import describeAccount from "../../../fixtures/salesforce/describe-account.json";
import describeAccountStateCountry from "../../../fixtures/salesforce/describe-account-state-country.json";
import describeContact from "../../../fixtures/salesforce/describe-contact.json";
import describeOpportunity from "../../../fixtures/salesforce/describe-opportunity.json";
import { AttioAttributeListSchema, WorkspaceMemberListSchema } from "../../../src/attio/attribute-schema.ts";
import type { AttioValues } from "../../../src/mapping/attio-values.ts";
import { SObjectDescribeSchema } from "../../../src/mapping/schema-salesforce.ts";
import type { IdLookup } from "../../../src/mapping/transforms.ts";

/** Fixture records, shaped like Attio's recorded responses (made-up companies and people). */
export const company = companyRecord.data.values as unknown as AttioValues;
export const person = personRecord.data.values as unknown as AttioValues;
export const [wonDeal, openDeal] = dealsQuery.data.map((d) => d.values as unknown as AttioValues) as [
  AttioValues,
  AttioValues,
];
export const members = WorkspaceMemberListSchema.parse(workspaceMembers).data;

export const attioAttributes = {
  companies: AttioAttributeListSchema.parse(attioCompanyAttributes).data,
  people: AttioAttributeListSchema.parse(attioPeopleAttributes).data,
  deals: AttioAttributeListSchema.parse(attioDealAttributes).data,
};
export const describes = {
  Account: SObjectDescribeSchema.parse(describeAccount),
  AccountStateCountry: SObjectDescribeSchema.parse(describeAccountStateCountry),
  Contact: SObjectDescribeSchema.parse(describeContact),
  Opportunity: SObjectDescribeSchema.parse(describeOpportunity),
};

/** An ID map held in memory: pairs of (attio object, attio id, salesforce id). */
export function idMap(pairs: ReadonlyArray<readonly [string, string, string]>): IdLookup {
  return {
    salesforceIdFor: (object, id) => pairs.find((p) => p[0] === object && p[1] === id)?.[2],
    attioIdFor: (object, sfId) => pairs.find((p) => p[0] === object && p[2] === sfId)?.[1],
  };
}

/** Wraps a value the way Attio returns it. */
export function val(attributeType: string, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    active_from: "2026-01-01T00:00:00.000000000Z",
    active_until: null,
    attribute_type: attributeType,
    ...fields,
  };
}

/**
 * What Attio would hold after applying a write: converts write items back to read values, using the
 * attribute types of the fixture attribute lists. Only the shapes the engine writes are handled.
 */
export function applyWrite(
  current: AttioValues,
  write: Record<string, unknown[]>,
  attributes: ReadonlyArray<{ api_slug: string; type: string }>,
): AttioValues {
  const next: Record<string, ReadonlyArray<Record<string, unknown>>> = { ...current };
  for (const [slug, items] of Object.entries(write)) {
    const type = attributes.find((a) => a.api_slug === slug)?.type ?? "text";
    next[slug] = items.map((item) => val(type, readForm(type, item)));
  }
  return next;
}

function readForm(type: string, item: unknown): Record<string, unknown> {
  switch (type) {
    case "email-address":
      return { email_address: item };
    case "domain":
      return { domain: item, root_domain: item };
    case "phone-number":
      return typeof item === "string"
        ? { phone_number: item, original_phone_number: item }
        : { original_phone_number: (item as Record<string, unknown>)["original_phone_number"] };
    case "select":
      return { option: { title: item } };
    case "status":
      return { status: { title: item } };
    case "currency":
      return { currency_value: item, currency_code: "EUR" };
    case "location":
    case "personal-name":
    case "record-reference":
    case "actor-reference":
      return item as Record<string, unknown>;
    default:
      return { value: item };
  }
}

/** mulberry32: a small seeded PRNG, so generated cases are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(next: () => number, items: readonly T[]): T {
  return items[Math.floor(next() * items.length)] as T;
}
