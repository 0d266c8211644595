import { describe, expect, it } from "vitest";
import person from "../../../fixtures/attio/person-mira-okafor.json";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping, mapToSalesforce } from "../../../src/mapping/engine.ts";
import { LAST_NAME_FALLBACK } from "../../../src/mapping/names.ts";

const people = defaultMappings().find((m) => m.name === "people");
if (!people) throw new Error("no default people mapping");
const compiled = compileMapping(people);

/** The Contact fields of the foundation slice, through the default People -> Contact mapping. */
function personToContact(values: Parameters<typeof mapToSalesforce>[1]) {
  const { FirstName, LastName, Email, Phone, Title } = mapToSalesforce(compiled, values).fields;
  return { FirstName, LastName, Email, Phone, Title };
}

type Values = Parameters<typeof personToContact>[0];

function withName(name: Record<string, unknown> | null, email?: string): Values {
  const values = structuredClone(person.data.values) as unknown as Record<string, Record<string, unknown>[]>;
  values["name"] = name ? [{ ...values["name"]?.[0], ...name }] : [];
  if (email === undefined) values["email_addresses"] = [];
  else values["email_addresses"] = [{ ...values["email_addresses"]?.[0], email_address: email }];
  return values;
}

describe("People -> Contact: the five fields of the foundation slice", () => {
  it("maps name, primary email, primary phone and job title", () => {
    expect(personToContact(person.data.values)).toEqual({
      FirstName: "Mira",
      LastName: "Okafor",
      Email: "mira.okafor@northwind-labs.example",
      Phone: "+442079460321",
      Title: "Head of Revenue Operations",
    });
  });

  it("ignores values that are no longer active", () => {
    const values = structuredClone(person.data.values) as unknown as Record<string, Record<string, unknown>[]>;
    values["job_title"] = [{ ...values["job_title"]?.[0], active_until: "2026-10-01T00:00:00.000000000Z" }];
    expect(personToContact(values as Values).Title).toBeNull();
  });

  it.each([
    [
      "the full name's last word",
      { first_name: "", last_name: "", full_name: "Ada King Lovelace" },
      undefined,
      "Lovelace",
    ],
    ["the email's local part", { first_name: "Ada", last_name: "", full_name: "Ada" }, "ada@example.test", "ada"],
    ["the placeholder", null, undefined, LAST_NAME_FALLBACK],
  ])("falls back to %s when the last name is empty", (_name, name, email, expected) => {
    expect(personToContact(withName(name, email)).LastName).toBe(expected);
  });
});
