import { describe, expect, it } from "vitest";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import {
  attioAttributesRead,
  attioMatchKeys,
  attioReferences,
  compileMapping,
  mapToAttio,
  mapToSalesforce,
  salesforceMatchKeys,
  salesforceReferences,
} from "../../../src/mapping/engine.ts";
import { LAST_NAME_FALLBACK } from "../../../src/mapping/names.ts";
import { orgCapabilities, PLAIN_ORG } from "../../../src/mapping/schema-salesforce.ts";
import { matchUsers } from "../../../src/mapping/users.ts";
import { validateMappings } from "../../../src/mapping/validate.ts";
import { attioAttributes, company, describes, idMap, members, openDeal, person, val, wonDeal } from "./support.ts";

/**
 * A default mapping as it runs against the fixture workspace, which added close_date, probability
 * and source to its deals (validation picks those among the candidate slugs).
 */
const mapping = (name: string, org = PLAIN_ORG) => {
  const found = defaultMappings(org).find((m) => m.name === name);
  if (!found) throw new Error(name);
  if (name !== "deals") return compileMapping(found);
  const schemas = {
    attio: { deals: attioAttributes.deals },
    attioTitles: {},
    salesforce: { Opportunity: describes.Opportunity },
  };
  const [fitted] = validateMappings([found], schemas).mappings;
  if (!fitted?.enabled) throw new Error("deals does not validate against the fixtures");
  return compileMapping(fitted);
};
const ids = idMap([
  ["companies", "00000000-0000-4000-8000-000000000001", "001000000000001AAA"],
  ["people", "00000000-0000-4000-8000-000000000002", "003000000000002AAA"],
]);
const users = matchUsers(members, [
  { Id: "005000000000700AAA", Email: "AMARA@fixture-ws.example", IsActive: true },
  { Id: "005000000000701AAA", Email: "lin.chen@fixture-ws.example", IsActive: true },
]);

describe("Companies -> Account", () => {
  it("maps every default field of an enriched company", () => {
    const out = mapToSalesforce(mapping("companies"), company);
    expect(out.fields).toEqual({
      Name: "Brightwater Robotics",
      Website: "https://brightwater-robotics.example",
      Description: "Brightwater builds autonomous hull-cleaning robots for cargo ships and ports.",
      BillingCity: "Gdańsk",
      BillingState: "Pomorskie",
      BillingPostalCode: "80-001",
      BillingCountry: "Poland",
      Industry: "Technology",
      NumberOfEmployees: 51,
      AnnualRevenue: 10_000_000,
    });
    expect(out.issues).toEqual([]);
  });

  it("writes BillingCountryCode instead when the org has State & Country picklists", () => {
    const org = orgCapabilities({ Account: describes.AccountStateCountry });
    expect(org.stateCountryPicklists).toBe(true);
    const out = mapToSalesforce(mapping("companies", org), company);
    expect(out.fields["BillingCountryCode"]).toBe("PL");
    expect(out.fields).not.toHaveProperty("BillingCountry");
  });

  it("Account -> company values: domain host, full location and category, not enriched ranges", () => {
    const out = mapToAttio(mapping("companies"), {
      attributes: { type: "Account" },
      Name: "Kōbe Tide Works",
      Website: "http://www.kobe-tide.example/en",
      BillingCity: "Kobe",
      BillingState: "Hyogo",
      BillingPostalCode: "650-0001",
      BillingCountry: "Japan",
      Industry: "Shipping",
      NumberOfEmployees: 120,
    });
    expect(out.values).toEqual({
      name: ["Kōbe Tide Works"],
      domains: ["kobe-tide.example"],
      primary_location: [
        {
          line_1: null,
          line_2: null,
          line_3: null,
          line_4: null,
          locality: "Kobe",
          region: "Hyogo",
          postcode: "650-0001",
          country_code: "JP",
          latitude: null,
          longitude: null,
        },
      ],
      categories: ["Shipping"],
    });
  });

  it("keeps unmapped location parts of the current record and skips fields that did not change", () => {
    const sf = mapToSalesforce(mapping("companies"), company).fields;
    const out = mapToAttio(mapping("companies"), { ...sf, BillingCity: "Gdynia" }, { current: company });
    expect(Object.keys(out.values)).toEqual(["primary_location"]);
    expect(out.values["primary_location"]?.[0]).toMatchObject({
      line_1: "40 Harbour Row",
      locality: "Gdynia",
      latitude: "54.3520",
    });
  });

  it("matches on every domain, normalised on both sides", () => {
    expect(attioMatchKeys(mapping("companies").mapping, company).map((k) => k.value)).toEqual([
      "brightwater-robotics.example",
      "bwr.example",
    ]);
    expect(salesforceMatchKeys(mapping("companies").mapping, { Website: "HTTPS://WWW.BWR.example/" })).toEqual([
      { attio: "domains", salesforce: "Website", value: "bwr.example" },
    ]);
  });
});

describe("People -> Contact", () => {
  it("maps names, primary email and phone, title, mailing address and the company through the ID map", () => {
    const out = mapToSalesforce(mapping("people"), person, { ids });
    expect(out.fields).toEqual({
      FirstName: "Zofia",
      LastName: "Wiśniewska-Øster",
      Email: "zofia.w@brightwater-robotics.example",
      Phone: "+48581234567",
      Title: "Head of Fleet Operations",
      MailingCity: "Sopot",
      MailingState: "Pomorskie",
      MailingCountry: "Poland",
      AccountId: "001000000000001AAA",
    });
    expect(out.deferred).toEqual([]);
  });

  it("defers AccountId when the company is not synced yet, writing everything else", () => {
    const out = mapToSalesforce(mapping("people"), person, { ids: idMap([]) });
    expect(out.fields).not.toHaveProperty("AccountId");
    expect(out.fields["LastName"]).toBe("Wiśniewska-Øster");
    expect(out.deferred).toEqual([
      {
        attio: "company",
        salesforce: "AccountId",
        targetObject: "companies",
        sourceId: "00000000-0000-4000-8000-000000000001",
        side: "attio",
      },
    ]);
    expect(attioReferences(mapping("people"), person)).toEqual([
      { targetObject: "companies", id: "00000000-0000-4000-8000-000000000001" },
    ]);
  });

  it("maps LinkedIn only when Contact.LinkedIn__c exists", () => {
    expect(mapToSalesforce(mapping("people"), person, { ids }).fields).not.toHaveProperty("LinkedIn__c");
    const org = orgCapabilities({ Contact: describes.Contact });
    expect(mapToSalesforce(mapping("people", org), person, { ids }).fields["LinkedIn__c"]).toBe(
      "https://linkedin.com/in/zofia-example",
    );
  });

  it("Contact -> person: one name value with all three parts, email and phone as arrays", () => {
    const out = mapToAttio(
      mapping("people"),
      {
        FirstName: "José",
        LastName: "Nuñez",
        Email: "jose@nunez.example",
        Phone: "+34 912 345 678",
        AccountId: "001000000000001AAA",
      },
      { ids },
    );
    expect(out.values).toEqual({
      name: [{ first_name: "José", last_name: "Nuñez", full_name: "José Nuñez" }],
      email_addresses: ["jose@nunez.example"],
      phone_numbers: ["+34912345678"],
      company: [{ target_object: "companies", target_record_id: "00000000-0000-4000-8000-000000000001" }],
    });
  });

  it("never writes the LastName placeholder back into Attio, and clears what Salesforce cleared", () => {
    const out = mapToAttio(mapping("people"), { FirstName: "Cher", LastName: LAST_NAME_FALLBACK, Title: null });
    expect(out.values).toEqual({ name: [{ first_name: "Cher", last_name: "", full_name: "Cher" }], job_title: [] });
  });
});

describe("Deals -> Opportunity", () => {
  it("maps a won deal: amount, stage, close date, company, first person, source, probability, owner", () => {
    const org = orgCapabilities({ Opportunity: describes.Opportunity });
    const out = mapToSalesforce(mapping("deals", org), wonDeal, { ids, users });
    expect(out.fields).toEqual({
      Name: "Port of Gdańsk hull fleet",
      Amount: 240000.5,
      StageName: "Closed Won",
      CloseDate: "2026-04-30",
      AccountId: "001000000000001AAA",
      LeadSource: "Partner Referral",
      Probability: 100,
      OwnerId: "005000000000700AAA",
      ContactId: "003000000000002AAA",
    });
    expect(out.issues).toEqual([]);
  });

  it("sends CurrencyIsoCode only in multi-currency orgs", () => {
    expect(mapToSalesforce(mapping("deals"), wonDeal, { ids, users }).fields).not.toHaveProperty("CurrencyIsoCode");
    const deals = defaultMappings({ ...PLAIN_ORG, multiCurrency: true }).find((m) => m.name === "deals");
    if (!deals) throw new Error("deals");
    const multi = compileMapping(deals);
    expect(mapToSalesforce(multi, wonDeal, { ids, users }).fields["CurrencyIsoCode"]).toBe("EUR");
  });

  it("an open deal with no close date gets the documented fallback and reports it", () => {
    const out = mapToSalesforce(mapping("deals"), openDeal, { ids, users });
    expect(out.fields).toMatchObject({
      StageName: "Qualification",
      CloseDate: "2026-05-11",
      Amount: null,
      AccountId: null,
    });
    expect(out.issues.map((i) => i.code)).toEqual(["fallback_used"]);
  });

  it("Opportunity -> deal, with references through the ID map and the owner through the user directory", () => {
    const compiled = mapping("deals");
    const record = {
      Name: "Fjord retrofit",
      Amount: 1250,
      StageName: "Closed Lost",
      CloseDate: "2026-09-30",
      AccountId: "001000000000001AAA",
      ContactId: "003UNKNOWN",
      OwnerId: "005000000000701AAA",
      Probability: 0,
      LeadSource: "Web",
    };
    const out = mapToAttio(compiled, record, { ids, users });
    expect(out.values).toEqual({
      name: ["Fjord retrofit"],
      value: [1250],
      stage: ["Lost"],
      close_date: ["2026-09-30"],
      associated_company: [{ target_object: "companies", target_record_id: "00000000-0000-4000-8000-000000000001" }],
      source: ["Web"],
      probability: [0],
      owner: [
        { referenced_actor_type: "workspace-member", referenced_actor_id: "00000000-0000-4000-8000-000000000701" },
      ],
    });
    expect(out.deferred).toEqual([
      {
        attio: "associated_people",
        salesforce: "ContactId",
        targetObject: "people",
        sourceId: "003UNKNOWN",
        side: "salesforce",
      },
    ]);
    expect(salesforceReferences(compiled, record).map((r) => `${r.targetObject}/${r.id}`)).toEqual([
      "companies/001000000000001AAA",
      "people/003UNKNOWN",
    ]);
  });

  it("the read-only users mapping refuses to write", () => {
    expect(() => mapToSalesforce(mapping("users"), {})).toThrow(/read-only/);
  });
});

describe("the attributes a mapping reads", () => {
  const only = (values: typeof company, slugs: ReadonlySet<string>) =>
    Object.fromEntries(Object.entries(values).filter(([slug]) => slugs.has(slug)));

  it.each([
    ["companies", company],
    ["people", person],
    ["deals", wonDeal],
  ] as const)("are all %s needs: its record cut down to them maps and matches the same", (name, values) => {
    const compiled = mapping(name);
    const read = attioAttributesRead(compiled);
    const cut = only(values, read);

    expect(Object.keys(cut).length).toBeLessThan(Object.keys(values).length);
    const options = { ids, users };
    expect(mapToSalesforce(compiled, cut, options)).toEqual(mapToSalesforce(compiled, values, options));
    expect(attioMatchKeys(compiled.mapping, cut)).toEqual(attioMatchKeys(compiled.mapping, values));
    expect(attioReferences(compiled, cut)).toEqual(attioReferences(compiled, values));
  });

  it("include the match keys and the Salesforce id attribute, not only the fields", () => {
    const compiled = compileMapping({
      ...mapping("companies").mapping,
      fields: [],
      attio_id_attribute: "salesforce_id",
    });
    expect([...attioAttributesRead(compiled)].sort()).toEqual(["domains", "salesforce_id"]);
  });
});

describe("users", () => {
  it("matches members to Users by email, case-insensitively, and lists the unmatched", () => {
    expect(users.salesforceUserFor("00000000-0000-4000-8000-000000000700")).toBe("005000000000700AAA");
    expect(users.workspaceMemberFor("005000000000701AAA")).toBe("00000000-0000-4000-8000-000000000701");
    expect(users.unmatchedMembers).toEqual(["00000000-0000-4000-8000-000000000702"]);
  });

  it("prefers an active User when two share an email", () => {
    const directory = matchUsers(members.slice(0, 1), [
      { Id: "005OLD", Email: "amara@fixture-ws.example", IsActive: false },
      { Id: "005NEW", Email: "amara@fixture-ws.example", IsActive: true },
    ]);
    expect(directory.salesforceUserFor("00000000-0000-4000-8000-000000000700")).toBe("005NEW");
  });
});

describe("the owner directory's default member", () => {
  const userIds = [{ Id: "005000000000700AAA", Email: "amara@fixture-ws.example", IsActive: true }];

  it("is the configured member, else the first admin; none when neither exists", () => {
    expect(matchUsers(members, userIds).defaultMember).toBe("00000000-0000-4000-8000-000000000700");
    const configured = matchUsers(members, userIds, { defaultOwnerEmail: "LIN.CHEN@fixture-ws.example" });
    expect(configured.defaultMember).toBe("00000000-0000-4000-8000-000000000701");
    const unknown = matchUsers(members, userIds, { defaultOwnerEmail: "nobody@fixture-ws.example" });
    expect(unknown.defaultMember).toBeUndefined();
    expect(unknown.defaultMemberProblem).toMatch(/nobody@fixture-ws.example is not an active workspace member/);
    const noAdmin = matchUsers(
      members.filter((m) => m.access_level !== "admin"),
      userIds,
    );
    expect(noAdmin.defaultMember).toBeUndefined();
    expect(noAdmin.defaultMemberProblem).toMatch(/no active admin/);
  });

  it("owns a Salesforce owner's deal when the owner has no member, with a warning naming both", () => {
    const compiled = mapping("deals");
    const lookup = matchUsers(members, userIds);
    const out = mapToAttio(compiled, { OwnerId: "005000000000999AAA" }, { users: lookup });
    expect(out.values["owner"]).toEqual([
      { referenced_actor_type: "workspace-member", referenced_actor_id: "00000000-0000-4000-8000-000000000700" },
    ]);
    expect(out.issues).toEqual([
      expect.objectContaining({ code: "default_owner_used", salesforce: "OwnerId", value: "005000000000999AAA" }),
    ]);
  });

  it("leaves OwnerId out for a member with no active User, with a warning", () => {
    const lookup = matchUsers(members, userIds);
    const lin = {
      ...wonDeal,
      owner: [
        val("actor-reference", {
          referenced_actor_type: "workspace-member",
          referenced_actor_id: "00000000-0000-4000-8000-000000000701",
        }),
      ],
    };
    const out = mapToSalesforce(mapping("deals"), lin, { ids, users: lookup });
    expect(out.fields).not.toHaveProperty("OwnerId");
    expect(out.fields["Name"]).toBe("Port of Gdańsk hull fleet");
    expect(out.issues).toEqual([
      expect.objectContaining({ code: "unmatched_user", salesforce: "OwnerId", value: "Lin.Chen@Fixture-WS.example" }),
    ]);
  });
});

describe("a value the other side cannot take", () => {
  it("a non-number for a number attribute is left out with its value, and the rest is written", () => {
    const compiled = compileMapping({
      name: "projects",
      attio_object: "projects",
      salesforce_object: "Project__c",
      enabled: true,
      read_only: false,
      fields: [
        { attio: "name", salesforce: "Name", transform: "text", direction: "both" },
        { attio: "headcount", salesforce: "Headcount__c", transform: "number", direction: "both" },
      ],
      match_keys: [],
      stages: [],
      industries: [],
    });
    const out = mapToAttio(compiled, { Name: "Harbour survey", Headcount__c: "about forty" });
    expect(out.values).toEqual({ name: ["Harbour survey"] });
    expect(out.issues).toEqual([
      {
        code: "invalid_value",
        attio: "headcount",
        salesforce: "Headcount__c",
        message: 'not a number: "about forty"',
        value: "about forty",
      },
    ]);
  });
});

describe("values that are no longer current", () => {
  it("are ignored in every mapping", () => {
    const stale = {
      ...company,
      name: [{ ...val("text", { value: "Old Name" }), active_until: "2026-01-02T00:00:00Z" }],
    };
    expect(mapToSalesforce(mapping("companies"), stale).fields["Name"]).toBeNull();
  });
});
