import { describe, expect, it } from "vitest";
import type { AttioValues } from "../../../src/mapping/attio-values.ts";
import { COUNTRY_CODES } from "../../../src/mapping/countries.ts";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping, mapToAttio, mapToSalesforce } from "../../../src/mapping/engine.ts";
import { ARR_USD_RANGES, EMPLOYEE_RANGES } from "../../../src/mapping/ranges.ts";
import { PLAIN_ORG } from "../../../src/mapping/schema-salesforce.ts";
import { applyWrite, attioAttributes, idMap, pick, rng, val } from "./support.ts";

/**
 * Attio -> Salesforce -> Attio over generated records: applying the reverse mapping to the Salesforce
 * fields must give back Attio values that map to the very same Salesforce fields (a fixed point), and
 * the two-way fields must come back equal to what was generated.
 */

const CASES = 300;
const NAMES = ["Ada", "Zoë", "Łukasz", "渡辺", "Nguyễn", "O'Brien", "Anne-Marie", "Søren"];
const LASTS = ["Lovelace", "Dvořák", "山田", "van der Berg", "Ó Súilleabháin", "McAllister"];
const WORDS = ["Harbor", "Kite", "Quartz", "Nimbus", "Fjord", "Atlas", "Ember"];
const STAGES = ["Lead", "In Progress", "Won 🎉", "Lost"];

function maybe<T>(next: () => number, value: T): T | null {
  return next() < 0.2 ? null : value;
}

function generatedCompany(next: () => number, n: number): AttioValues {
  const word = pick(next, WORDS);
  const country = maybe(next, pick(next, COUNTRY_CODES));
  const range = maybe(next, pick(next, EMPLOYEE_RANGES));
  const arr = maybe(next, pick(next, ARR_USD_RANGES));
  return {
    name: [val("text", { value: `${word} ${n} ${pick(next, ["GmbH", "Ltd", "株式会社", "S.A."])}` })],
    domains: [val("domain", { domain: `${word.toLowerCase()}-${n}.example` })],
    description: next() < 0.5 ? [] : [val("text", { value: `About ${word} – ünïcødé ✓` })],
    primary_location: [
      val("location", {
        line_1: null,
        line_2: null,
        line_3: null,
        line_4: null,
        locality: maybe(next, pick(next, ["Zürich", "São Paulo", "Kraków", "Ōsaka"])),
        region: maybe(next, "Region"),
        postcode: maybe(next, String(10000 + n)),
        country_code: country,
        latitude: null,
        longitude: null,
      }),
    ],
    categories: [val("select", { option: { title: pick(next, ["Technology", "Banking", "Retail", "Media"]) } })],
    employee_range: range ? [val("select", { option: { title: range } })] : [],
    estimated_arr_usd: arr ? [val("select", { option: { title: arr } })] : [],
  };
}

function generatedPerson(next: () => number, n: number): AttioValues {
  const first = pick(next, NAMES);
  const last = pick(next, LASTS);
  const phone = `+${pick(next, ["1", "44", "81", "48"])}${String(2_000_000_000 + Math.floor(next() * 7e9))}`;
  return {
    name: [val("personal-name", { first_name: first, last_name: last, full_name: `${first} ${last}` })],
    email_addresses: [val("email-address", { email_address: `p${n}@mail-${n % 7}.example` })],
    phone_numbers: next() < 0.3 ? [] : [val("phone-number", { phone_number: phone, original_phone_number: phone })],
    job_title: [val("text", { value: pick(next, ["CEO", "Ingénieure", "Head of Ops"]) })],
    primary_location: [
      val("location", {
        line_1: null,
        line_2: null,
        line_3: null,
        line_4: null,
        locality: "Lyon",
        region: null,
        postcode: null,
        country_code: pick(next, COUNTRY_CODES),
        latitude: null,
        longitude: null,
      }),
    ],
    company: [val("record-reference", { target_object: "companies", target_record_id: `co-${n % 5}` })],
  };
}

function generatedDeal(next: () => number, n: number): AttioValues {
  return {
    name: [val("text", { value: `${pick(next, WORDS)} deal #${n}` })],
    value: [val("currency", { currency_value: Math.round(next() * 1e8) / 100, currency_code: "EUR" })],
    stage: [val("status", { status: { title: pick(next, STAGES) } })],
    close_date: [
      val("date", { value: `2026-${String(1 + (n % 12)).padStart(2, "0")}-${String(1 + (n % 28)).padStart(2, "0")}` }),
    ],
    probability: [val("number", { value: n % 101 })],
    source: [val("select", { option: { title: pick(next, ["Web", "Other", "Partner Referral"]) } })],
    associated_company: [val("record-reference", { target_object: "companies", target_record_id: `co-${n % 5}` })],
    associated_people: [val("record-reference", { target_object: "people", target_record_id: `pe-${n % 3}` })],
    owner: [val("actor-reference", { referenced_actor_type: "workspace-member", referenced_actor_id: "m1" })],
  };
}

const ids = idMap([
  ...[0, 1, 2, 3, 4].map((i) => ["companies", `co-${i}`, `001CO${i}`] as const),
  ...[0, 1, 2].map((i) => ["people", `pe-${i}`, `003PE${i}`] as const),
]);
const users = { salesforceUserFor: () => "005M1", workspaceMemberFor: () => "m1" };

const cases = [
  { name: "companies", generate: generatedCompany, attributes: attioAttributes.companies },
  { name: "people", generate: generatedPerson, attributes: attioAttributes.people },
  { name: "deals", generate: generatedDeal, attributes: attioAttributes.deals },
] as const;

describe.each(cases)("round trip of $name", ({ name, generate, attributes }) => {
  const spec = defaultMappings(PLAIN_ORG).find((m) => m.name === name);
  if (!spec) throw new Error(name);
  // Two-way for the round trip: the ranges are one-way by default only because Attio enriches them.
  const compiled = compileMapping({ ...spec, fields: spec.fields.map((f) => ({ ...f, direction: "both" as const })) });

  it(`Attio -> Salesforce -> Attio -> Salesforce is a fixed point over ${CASES} generated records`, () => {
    const next = rng(0x5eed + name.length);
    for (let n = 0; n < CASES; n++) {
      const original = generate(next, n);
      const sf = mapToSalesforce(compiled, original, { ids, users });
      const back = mapToAttio(compiled, sf.fields, { ids, users });
      expect(back.issues, JSON.stringify(sf.fields)).toEqual([]);
      const restored = applyWrite({}, back.values, attributes);
      expect(mapToSalesforce(compiled, restored, { ids, users }).fields).toEqual(sf.fields);
      for (const slug of [
        "name",
        "description",
        "job_title",
        "stage",
        "close_date",
        "probability",
        "employee_range",
        "estimated_arr_usd",
      ]) {
        if (!(slug in original) || !compiled.fields.some((f) => f.slug === slug)) continue;
        const before = original[slug]?.[0];
        const after = restored[slug]?.[0];
        if (slug === "name" && name === "people") {
          expect(after).toMatchObject({ first_name: before?.["first_name"], last_name: before?.["last_name"] });
        } else if (slug === "employee_range" || slug === "estimated_arr_usd") {
          expect((after?.["option"] as { title?: string } | undefined)?.title).toBe(
            (before?.["option"] as { title?: string } | undefined)?.title,
          );
        } else if (before && "value" in before) {
          expect(after?.["value"] ?? null).toBe(before["value"]);
        }
      }
    }
  });

  it("with the current record given, an unchanged Salesforce record writes nothing back", () => {
    const next = rng(42 + name.length);
    for (let n = 0; n < 50; n++) {
      const original = generate(next, n);
      const sf = mapToSalesforce(compiled, original, { ids, users });
      expect(mapToAttio(compiled, sf.fields, { ids, users, current: original }).values).toEqual({});
    }
  });
});
