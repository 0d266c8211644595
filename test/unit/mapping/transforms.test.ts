import { describe, expect, it } from "vitest";
import { countryCode, countryName } from "../../../src/mapping/countries.ts";
import {
  ARR_USD_RANGES,
  EMPLOYEE_RANGES,
  numberToRange,
  parseRange,
  rangeToNumber,
} from "../../../src/mapping/ranges.ts";
import { DEFAULT_INDUSTRIES, DEFAULT_STAGES, stageKey } from "../../../src/mapping/tables.ts";
import {
  hostOf,
  normalizePhone,
  SKIP,
  TRANSFORMS,
  type TransformContext,
  type TransformName,
} from "../../../src/mapping/transforms.ts";
import type { MappingIssue } from "../../../src/mapping/types.ts";
import { idMap, val } from "./support.ts";

function ctx(overrides: Partial<TransformContext> = {}): TransformContext & { issues: string[]; deferred: string[] } {
  const issues: string[] = [];
  const deferred: string[] = [];
  return {
    record: undefined,
    part: undefined,
    options: {},
    stages: DEFAULT_STAGES,
    industries: DEFAULT_INDUSTRIES,
    ids: undefined,
    users: undefined,
    attioTitles: undefined,
    today: undefined,
    issue: (code: MappingIssue["code"], message: string) => issues.push(`${code}: ${message}`),
    defer: (object: string, id: string) => deferred.push(`${object}/${id}`),
    ...overrides,
    issues,
    deferred,
  };
}

const forward = (name: TransformName, values: Record<string, unknown>[], c = ctx()) =>
  TRANSFORMS[name].toSalesforce(values, c);
const reverse = (name: TransformName, value: unknown, c = ctx()) => TRANSFORMS[name].toAttio(value, c);

describe("country codes and names", () => {
  it.each([
    ["US", "United States"],
    ["gb", "United Kingdom"],
    ["KR", "Korea, Republic of"],
    ["CI", "Cote d'Ivoire"],
    ["AD", "Andorra"],
    ["ZW", "Zimbabwe"],
  ])("%s <-> %s", (code, name) => {
    expect(countryName(code)).toBe(name);
    expect(countryCode(name)).toBe(code.toUpperCase());
  });

  it.each([
    ["USA", "US"],
    ["United States of America", "US"],
    ["  united kingdom ", "GB"],
    ["UK", "GB"],
    ["South Korea", "KR"],
    ["Côte d’Ivoire", "CI"],
    ["Türkiye", "TR"],
    ["Turkey", "TR"],
    ["Deutschland", null],
    ["XX", null],
    ["", null],
  ])("reads %j as %j", (text, code) => {
    expect(countryCode(text)).toBe(code);
  });

  it("has every ISO 3166-1 alpha-2 code once, each with a name that maps back to it", () => {
    const codes = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
      .split("")
      .flatMap((a) => "ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("").map((b) => a + b));
    const known = codes.filter((c) => countryName(c) !== null);
    expect(known).toHaveLength(249);
    for (const code of known) expect(countryCode(countryName(code) ?? "")).toBe(code);
  });

  it("country_name writes the name, and reads names, aliases and codes back to the code", () => {
    const location = [val("location", { country_code: "DE", locality: "Berlin" })];
    expect(forward("country_name", location, ctx({ part: "country_code" }))).toBe("Germany");
    expect(forward("country_code", location, ctx({ part: "country_code" }))).toBe("DE");
    expect(reverse("country_name", "germany", ctx({ part: "country_code" }))).toBe("DE");
    expect(reverse("country_code", "de", ctx({ part: "country_code" }))).toBe("DE");
    expect(reverse("country_name", null)).toBeNull();
    const c = ctx();
    expect(reverse("country_name", "Atlantis", c)).toBe(SKIP);
    expect(c.issues[0]).toMatch(/unmapped_value: unknown country Atlantis/);
  });
});

describe("ranges", () => {
  it.each([
    ["1-10", 1, 10],
    ["251-1K", 251, 1000],
    ["10K-50K", 10_000, 50_000],
    ["100K+", 100_000, null],
    ["$0-$1M", 0, 1_000_000],
    ["$1B-$10B", 1e9, 1e10],
    ["$10B+", 1e10, null],
    ["$1.5M-$2.5M", 1_500_000, 2_500_000],
  ])("parses %s", (title, lower, upper) => {
    expect(parseRange(title)).toEqual({ lower, upper });
  });

  it.each(["Large", "", "10-", "about 50"])("rejects %j", (title) => {
    expect(parseRange(title)).toBeNull();
  });

  it.each([
    [1, "1-10"],
    [10, "1-10"],
    [10.5, "1-10"],
    [11, "11-50"],
    [50, "11-50"],
    [51, "51-250"],
    [999, "251-1K"],
    [1000, "1K-5K"],
    [99_999, "50K-100K"],
    [100_000, "100K+"],
    [5_000_000, "100K+"],
    [0, null],
    [-3, null],
    [Number.NaN, null],
  ])("employees %d -> %j", (n, title) => {
    expect(numberToRange(n, EMPLOYEE_RANGES)).toBe(title);
  });

  it.each([
    [0, "$0-$1M"],
    [999_999.99, "$0-$1M"],
    [1_000_000, "$1M-$10M"],
    [9_999_999_999, "$1B-$10B"],
    [10_000_000_000, "$10B+"],
  ])("ARR %d -> %j", (n, title) => {
    expect(numberToRange(n, ARR_USD_RANGES)).toBe(title);
  });

  it("range -> lower bound -> the same range, for every default option", () => {
    for (const options of [EMPLOYEE_RANGES, ARR_USD_RANGES]) {
      for (const title of options) expect(numberToRange(rangeToNumber(title) ?? Number.NaN, options)).toBe(title);
    }
  });

  it("range_to_number uses the workspace's own options when the schema layer knows them", () => {
    const c = ctx({ attioTitles: ["1-100", "101-1000", "1001+"] });
    expect(reverse("range_to_number", 150, c)).toBe("101-1000");
    expect(reverse("range_to_number", 150, ctx({ options: { ranges: "employees" } }))).toBe("51-250");
    expect(reverse("range_to_number", 2_000_000, ctx({ options: { ranges: "usd" } }))).toBe("$1M-$10M");
    const out = ctx();
    expect(reverse("range_to_number", 0, out)).toBe(SKIP);
    expect(out.issues).toEqual(["out_of_range: no range holds 0"]);
  });
});

describe("text, email, phone and website", () => {
  it.each([
    [[val("text", { value: "  Łódź Ventures  " })], "Łódź Ventures"],
    [[val("text", { value: "" })], null],
    [[], null],
  ])("text %j -> %j", (values, expected) => {
    expect(forward("text", values)).toBe(expected);
  });

  it("email takes the first current address and checks addresses coming back", () => {
    const values = [
      val("email-address", { email_address: "first@a.example" }),
      val("email-address", { email_address: "b@b.example" }),
    ];
    expect(forward("email", values)).toBe("first@a.example");
    expect(reverse("email", " jo@x.example ")).toBe("jo@x.example");
    const c = ctx();
    expect(reverse("email", "not-an-email", c)).toBe(SKIP);
    expect(c.issues).toHaveLength(1);
  });

  it.each([
    ["+44 20 7946 0958", "+442079460958"],
    ["0044 20 7946 0958", "+442079460958"],
    ["+1 (415) 555-0100 ext. 12", "+14155550100"],
    ["+1-415-555-0100 x7", "+14155550100"],
    ["+81 3-1234-5678", "+81312345678"],
  ])("phone %j -> %j", (raw, e164) => {
    expect(normalizePhone(raw, undefined)).toBe(e164);
    expect(reverse("phone", raw)).toBe(e164);
  });

  it("a national phone needs the default_country option", () => {
    expect(reverse("phone", "(415) 555-0100", ctx({ options: { default_country: "us" } }))).toEqual({
      original_phone_number: "(415) 555-0100",
      country_code: "US",
    });
    const c = ctx();
    expect(reverse("phone", "(415) 555-0100", c)).toBe(SKIP);
    expect(c.issues[0]).toMatch(/no \+country prefix/);
    expect(reverse("phone", "+12", ctx())).toBe(SKIP);
  });

  it("phone forward prefers the normalised number and falls back to the original", () => {
    expect(
      forward("phone", [val("phone-number", { phone_number: "+48581234567", original_phone_number: "+48 58" })]),
    ).toBe("+48581234567");
    expect(forward("phone", [val("phone-number", { phone_number: "", original_phone_number: "+48 58 1" })])).toBe(
      "+48 58 1",
    );
  });

  it.each([
    ["https://www.Acme.example/about?x=1", "acme.example"],
    ["acme.example", "acme.example"],
    ["http://shop.acme.co.uk:8080", "shop.acme.co.uk"],
    ["WWW.ÜBER.example", "xn--ber-goa.example"],
    ["localhost", null],
    ["not a url at all", null],
  ])("website %j -> host %j", (url, host) => {
    expect(hostOf(url)).toBe(host);
  });

  it("domain_to_url writes https://domain and reads the host back", () => {
    expect(forward("domain_to_url", [val("domain", { domain: "acme.example" })])).toBe("https://acme.example");
    expect(forward("domain_to_url", [])).toBeNull();
    expect(reverse("domain_to_url", "www.acme.example/")).toBe("acme.example");
    expect(reverse("domain_to_url", "")).toBeNull();
  });
});

describe("stages and industries", () => {
  it.each([
    ["Won 🎉", "won"],
    ["In Progress", "in_progress"],
    ["in-progress", "in_progress"],
    ["  Lead ", "lead"],
  ])("stage key of %j is %j", (title, key) => {
    expect(stageKey(title)).toBe(key);
  });

  it.each([
    ["Lead", "Prospecting"],
    ["In Progress", "Qualification"],
    ["Won 🎉", "Closed Won"],
    ["Lost", "Closed Lost"],
    ["open", "Prospecting"],
    ["qualified", "Qualification"],
    ["Proposal", "Proposal/Price Quote"],
    ["negotiation", "Negotiation/Review"],
  ])("status %j -> StageName %j", (title, stage) => {
    expect(forward("status_to_stage", [val("status", { status: { title } })])).toBe(stage);
  });

  it("an unknown stage is reported, not guessed, and an empty stage is left alone", () => {
    const c = ctx();
    expect(forward("status_to_stage", [val("status", { status: { title: "On hold" } })], c)).toBe(SKIP);
    expect(c.issues).toEqual(['unmapped_value: stage "On hold" is not in the stage table']);
    expect(forward("status_to_stage", [])).toBe(SKIP);
    // Every stage of a new org is in the default table; a stage an org added is not guessed.
    expect(reverse("status_to_stage", "Needs Analysis")).toBe("In Progress");
    expect(reverse("status_to_stage", "Awaiting Legal")).toBe(SKIP);
  });

  it("StageName -> the first status in the table, or the first the workspace really has", () => {
    expect(reverse("status_to_stage", "Closed Won")).toBe("Won 🎉");
    expect(reverse("status_to_stage", "closed lost")).toBe("Lost");
    expect(reverse("status_to_stage", "Proposal/Price Quote")).toBe("proposal");
    const titles = ctx({ attioTitles: ["New", "Proposal", "Won", "Lost"] });
    expect(reverse("status_to_stage", "Proposal/Price Quote", titles)).toBe("Proposal");
    expect(reverse("status_to_stage", "Closed Won", titles)).toBe("Won");
    expect(reverse("status_to_stage", "Prospecting", titles)).toBe("New");
  });

  it("industry takes the first category the table knows", () => {
    const categories = ["B2B", "SAAS", "Finance"].map((title) => val("select", { option: { title } }));
    expect(forward("industry", categories)).toBe("Technology");
    expect(forward("industry", [val("select", { option: { title: "financial services" } })])).toBe("Finance");
    expect(forward("industry", [])).toBeNull();
    const c = ctx();
    expect(forward("industry", [val("select", { option: { title: "B2B" } })], c)).toBe(SKIP);
    expect(c.issues[0]).toMatch(/no industry for categories B2B/);
  });

  it("Industry -> category, never clearing categories", () => {
    expect(reverse("industry", "Technology")).toBe("Technology");
    expect(reverse("industry", "Technology", ctx({ attioTitles: ["SAAS"] }))).toBe("SAAS");
    expect(reverse("industry", null)).toBe(SKIP);
    expect(reverse("industry", "Space Mining")).toBe(SKIP);
  });

  it("every default industry row targets a standard Salesforce Industry value", () => {
    const standard = new Set(DEFAULT_INDUSTRIES.slice(0, 32).map((r) => r.salesforce));
    for (const row of DEFAULT_INDUSTRIES) expect(standard.has(row.salesforce)).toBe(true);
  });
});

describe("dates, numbers, references and owners", () => {
  it("close_date falls back to created_at + fallback_days, deterministically", () => {
    const record = { created_at: [val("timestamp", { value: "2026-02-10T09:30:00.000000000Z" })] };
    const c = ctx({ record });
    expect(forward("close_date", [], c)).toBe("2026-05-11");
    expect(c.issues[0]).toMatch(/fallback_used/);
    expect(forward("close_date", [], ctx({ record, options: { fallback_days: 0 } }))).toBe("2026-02-10");
    expect(forward("close_date", [], ctx({ today: "2026-12-31" }))).toBe("2027-03-31");
    expect(forward("close_date", [val("date", { value: "2026-04-30" })], c)).toBe("2026-04-30");
    expect(forward("close_date", [])).toBe(SKIP);
  });

  it("percent scales and refuses values outside 0-100", () => {
    expect(forward("percent", [val("number", { value: 0.25 })], ctx({ options: { scale: 100 } }))).toBe(25);
    expect(reverse("percent", 25, ctx({ options: { scale: 100 } }))).toBe(0.25);
    expect(forward("percent", [val("number", { value: 100 })])).toBe(100);
    expect(forward("percent", [val("number", { value: 101 })])).toBe(SKIP);
  });

  it("currency amounts accept numbers and numeric strings; the code goes one way", () => {
    expect(forward("currency_to_number", [val("currency", { currency_value: 240000.5, currency_code: "EUR" })])).toBe(
      240000.5,
    );
    expect(forward("currency_to_number", [val("currency", { currency_value: "499.00", currency_code: "USD" })])).toBe(
      499,
    );
    expect(forward("currency_code", [val("currency", { currency_value: 1, currency_code: "EUR" })])).toBe("EUR");
    expect(reverse("currency_code", "EUR")).toBe(SKIP);
    expect(TRANSFORMS.currency_code.reversible).toBe(false);
  });

  it("record references resolve through the ID map or are deferred, never guessed", () => {
    const ids = idMap([["companies", "attio-co-1", "001A"]]);
    const ref = [val("record-reference", { target_object: "companies", target_record_id: "attio-co-1" })];
    expect(forward("record_reference", ref, ctx({ ids }))).toBe("001A");
    const missing = ctx({ ids: idMap([]) });
    expect(forward("record_reference", ref, missing)).toBe(SKIP);
    expect(missing.deferred).toEqual(["companies/attio-co-1"]);
    expect(forward("record_reference", [], ctx({ ids }))).toBeNull();
    const back = ctx({ ids, options: { target: "companies" } });
    expect(reverse("record_reference", "001A", back)).toEqual({
      target_object: "companies",
      target_record_id: "attio-co-1",
    });
    const unknown = ctx({ ids, options: { target: "companies" } });
    expect(reverse("record_reference", "001ZZZ", unknown)).toBe(SKIP);
    expect(unknown.deferred).toEqual(["companies/001ZZZ"]);
  });

  it("owners map through the user directory and report members with no User", () => {
    const users = {
      salesforceUserFor: (m: string) => (m === "m1" ? "005A" : undefined),
      workspaceMemberFor: (u: string) => (u === "005A" ? "m1" : undefined),
    };
    const owner = (id: string) => [
      val("actor-reference", { referenced_actor_type: "workspace-member", referenced_actor_id: id }),
    ];
    expect(forward("owner", owner("m1"), ctx({ users }))).toBe("005A");
    const c = ctx({ users });
    expect(forward("owner", owner("m2"), c)).toBe(SKIP);
    expect(c.issues[0]).toMatch(/unmatched_user/);
    expect(reverse("owner", "005A", ctx({ users }))).toEqual({
      referenced_actor_type: "workspace-member",
      referenced_actor_id: "m1",
    });
    expect(reverse("owner", "005B", ctx({ users }))).toBe(SKIP);
  });
});
