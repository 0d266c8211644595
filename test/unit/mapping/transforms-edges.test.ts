import { describe, expect, it } from "vitest";
import { LAST_NAME_FALLBACK } from "../../../src/mapping/names.ts";
import { numberToRange, parseRange, rangeToNumber } from "../../../src/mapping/ranges.ts";
import { DEFAULT_INDUSTRIES, DEFAULT_STAGES } from "../../../src/mapping/tables.ts";
import {
  getTransform,
  hostOf,
  SKIP,
  scalarOf,
  TRANSFORMS,
  type TransformContext,
  type TransformName,
  type UserLookup,
} from "../../../src/mapping/transforms.ts";
import type { MappingIssue } from "../../../src/mapping/types.ts";
import { matchUsers } from "../../../src/mapping/users.ts";
import { idMap, members, val } from "./support.ts";

/**
 * The edges of each transform: empty values, values of the wrong shape and unknown entries. A transform
 * never throws: it clears (null), leaves the field alone (SKIP) and reports why.
 */
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

describe("scalarOf reads the natural value of each Attio type", () => {
  it.each([
    [val("personal-name", { full_name: "Ada Lovelace", first_name: "Ada" }), "Ada Lovelace"],
    [val("phone-number", { phone_number: "", original_phone_number: "" }), null],
    [val("select", { option: { title: "Gold" } }), "Gold"],
    [val("select", {}), null],
    [val("status", {}), null],
    [val("record-reference", { target_object: "companies", target_record_id: "rec-1" }), "rec-1"],
    [val("actor-reference", { referenced_actor_type: "workspace-member", referenced_actor_id: "m-1" }), "m-1"],
    [val("number", {}), null],
    [undefined, null],
  ])("%j -> %j", (value, expected) => {
    expect(scalarOf(value, undefined)).toBe(expected);
  });

  it("reads one part of a composite value, null when the part is absent", () => {
    const location = val("location", { locality: "Gdańsk", region: null });
    expect(scalarOf(location, "locality")).toBe("Gdańsk");
    expect(scalarOf(location, "region")).toBeNull();
  });
});

describe("text and numbers", () => {
  it("text writes finite numbers as text and nothing for non-finite ones", () => {
    expect(forward("text", [val("number", { value: 42.5 })])).toBe("42.5");
    expect(forward("text", [val("number", { value: Number.NaN })])).toBeNull();
    expect(forward("text", [val("personal-name", { full_name: "  Ada Lovelace " })])).toBe("Ada Lovelace");
  });

  it("number clears on an empty Salesforce value and reports a non-number without writing it", () => {
    expect(reverse("number", null)).toBeNull();
    expect(reverse("number", undefined)).toBeNull();
    expect(reverse("number", "")).toBeNull();
    expect(reverse("number", "12.5")).toBe(12.5);
    const c = ctx();
    expect(reverse("number", "twelve", c)).toBe(SKIP);
    expect(c.issues).toEqual(['invalid_value: not a number: "twelve"']);
    const infinite = ctx();
    expect(reverse("number", Number.POSITIVE_INFINITY, infinite)).toBe(SKIP);
    expect(infinite.issues).toHaveLength(1);
    expect(forward("number", [val("number", { value: "  " })])).toBeNull();
  });

  it("integer rounds half up and clears an empty number", () => {
    expect(forward("integer", [val("number", { value: 50.5 })])).toBe(51);
    expect(forward("integer", [val("number", { value: "7.4" })])).toBe(7);
    expect(forward("integer", [])).toBeNull();
  });

  it("checkbox: an empty Attio checkbox is false; Salesforce true or 'true' is true, all else false", () => {
    expect(forward("checkbox", [])).toBe(false);
    expect(forward("checkbox", [val("checkbox", { value: true })])).toBe(true);
    expect(reverse("checkbox", true)).toBe(true);
    expect(reverse("checkbox", "true")).toBe(true);
    expect(reverse("checkbox", false)).toBe(false);
    expect(reverse("checkbox", null)).toBe(false);
  });
});

describe("dates", () => {
  it("date cuts timestamps to their UTC day and reads nothing from a non-date", () => {
    expect(forward("date", [val("timestamp", { value: "2026-03-01T23:59:59.000000000Z" })])).toBe("2026-03-01");
    expect(reverse("date", "2026-03-01T10:00:00.000+0000")).toBe("2026-03-01");
    expect(reverse("date", "03/01/2026")).toBeNull();
    expect(reverse("date", 20260301)).toBeNull();
  });

  it("date_plus_days adds the days option (default 90) to the value, else to today, never writes back", () => {
    const created = [val("timestamp", { value: "2026-01-31T08:00:00.000000000Z" })];
    expect(forward("date_plus_days", created)).toBe("2026-05-01");
    expect(forward("date_plus_days", created, ctx({ options: { days: 1 } }))).toBe("2026-02-01");
    expect(forward("date_plus_days", created, ctx({ options: { days: "ten" } }))).toBe("2026-05-01");
    expect(forward("date_plus_days", [], ctx({ today: "2026-12-31", options: { days: 1 } }))).toBe("2027-01-01");
    expect(forward("date_plus_days", [])).toBe(SKIP);
    expect(reverse("date_plus_days", "2026-05-01")).toBe(SKIP);
    expect(TRANSFORMS.date_plus_days.reversible).toBe(false);
  });
});

describe("emails, websites and names", () => {
  it("email clears on an empty Salesforce value", () => {
    expect(reverse("email", "   ")).toBeNull();
    expect(reverse("email", null)).toBeNull();
  });

  it("a website with no host is reported and not written", () => {
    expect(hostOf("   ")).toBeNull();
    const c = ctx();
    expect(reverse("domain_to_url", "intranet", c)).toBe(SKIP);
    expect(c.issues).toEqual(["invalid_value: no host in website intranet"]);
  });

  it("last_name falls back without a record and never writes the fallback back to Attio", () => {
    const c = ctx();
    expect(forward("last_name", [], c)).toBe(LAST_NAME_FALLBACK);
    expect(c.issues).toEqual([`fallback_used: no last name: using "${LAST_NAME_FALLBACK}"`]);
    expect(reverse("last_name", LAST_NAME_FALLBACK)).toBeNull();
    expect(reverse("last_name", " Lovelace ")).toBe("Lovelace");
  });
});

describe("countries", () => {
  it("country_name reads the country_code part of a location unless the mapping names a part", () => {
    const location = [val("location", { country_code: "PL", locality: "GB" })];
    expect(forward("country_name", location)).toBe("Poland");
    expect(forward("country_name", location, ctx({ part: "locality" }))).toBe("United Kingdom");
    expect(forward("country_name", [val("location", { country_code: null })])).toBeNull();
  });

  it("an unknown country code is reported and not written, either way", () => {
    const c = ctx();
    expect(forward("country_name", [val("location", { country_code: "XX" })], c)).toBe(SKIP);
    expect(c.issues).toEqual(["unmapped_value: unknown country code XX"]);
    const back = ctx();
    expect(reverse("country_name", "Atlantis", back)).toBe(SKIP);
    expect(back.issues).toEqual(["unmapped_value: unknown country Atlantis"]);
    expect(reverse("country_name", "")).toBeNull();
  });

  it("country_code writes the ISO code for a code, name or alias, and reports an unknown one", () => {
    expect(forward("country_code", [val("location", { country_code: "pl" })])).toBe("PL");
    expect(forward("country_code", [val("text", { value: "UK" })], ctx({ part: "value" }))).toBe("GB");
    expect(forward("country_code", [val("location", { country_code: "" })])).toBeNull();
    const c = ctx();
    expect(forward("country_code", [val("location", { country_code: "ZZ" })], c)).toBe(SKIP);
    expect(c.issues).toEqual(["unmapped_value: unknown country code ZZ"]);
    expect(reverse("country_code", "Poland")).toBe("PL");
  });
});

describe("selects, industries, stages and ranges", () => {
  it("select writes back only options the Attio attribute has", () => {
    const titles = ctx({ attioTitles: ["Web", "Referral"] });
    expect(reverse("select", "Referral", titles)).toBe("Referral");
    expect(reverse("select", "Trade Show", titles)).toBe(SKIP);
    expect(titles.issues).toEqual(['unmapped_value: Attio has no option "Trade Show"']);
    expect(reverse("select", "Trade Show")).toBe("Trade Show");
    expect(reverse("select", "", titles)).toBeNull();
  });

  it("industry skips values with no title and reports when none is known", () => {
    const c = ctx();
    expect(forward("industry", [val("select", {}), val("select", { option: { title: "SAAS" } })], c)).toBe(
      "Technology",
    );
    expect(c.issues).toEqual([]);
    const none = ctx();
    expect(forward("industry", [val("select", {})], none)).toBe(SKIP);
    expect(none.issues).toHaveLength(1);
  });

  it("status_to_stage leaves Attio alone on an empty StageName and names the workspace in the issue", () => {
    expect(reverse("status_to_stage", "")).toBe(SKIP);
    expect(reverse("status_to_stage", null)).toBe(SKIP);
    const titles = ctx({ attioTitles: ["New", "Won"] });
    expect(reverse("status_to_stage", "Closed Lost", titles)).toBe(SKIP);
    expect(titles.issues).toEqual([
      'unmapped_value: StageName "Closed Lost" has no Attio status through the stage table',
    ]);
  });

  it("range_to_number reports titles that are not ranges and numbers below every range", () => {
    const c = ctx();
    expect(forward("range_to_number", [val("select", { option: { title: "Large" } })], c)).toBe(SKIP);
    expect(c.issues).toEqual(['unmapped_value: "Large" is not a range']);
    expect(forward("range_to_number", [])).toBeNull();
    expect(reverse("range_to_number", "")).toBeNull();
    const bad = ctx();
    expect(reverse("range_to_number", "many", bad)).toBe(SKIP);
    expect(bad.issues).toEqual(['out_of_range: no range holds "many"']);
    const zero = ctx();
    expect(reverse("range_to_number", 0, zero)).toBe(SKIP);
    expect(zero.issues).toEqual(["out_of_range: no range holds 0"]);
  });

  it("range_to_number reads ranges from the options: usd, or a list separated by |", () => {
    expect(reverse("range_to_number", 2_000_000, ctx({ options: { ranges: "usd" } }))).toBe("$1M-$10M");
    const own = ctx({ options: { ranges: "0-9 | 10-99 | 100+" } });
    expect(reverse("range_to_number", 42, own)).toBe("10-99");
    expect(reverse("range_to_number", 4200, ctx({ options: { ranges: "100+" } }))).toBe("1K-5K");
  });

  it("ranges: non-ranges and non-finite numbers have no counterpart; parsing stays right past the cache", () => {
    expect(rangeToNumber("Enterprise")).toBeNull();
    expect(numberToRange(Number.NaN, ["1-10"])).toBeNull();
    for (let i = 0; i < 1100; i++) expect(parseRange(`${i}-${i + 1}K`)).toEqual({ lower: i, upper: (i + 1) * 1000 });
    expect(parseRange("1,5M+")).toEqual({ lower: 1_500_000, upper: null });
  });
});

describe("percent", () => {
  it("clears on empty, reports non-numbers, and divides by scale only when the option sets it", () => {
    expect(reverse("percent", null)).toBeNull();
    expect(reverse("percent", "")).toBeNull();
    expect(reverse("percent", 40)).toBe(40);
    const c = ctx();
    expect(reverse("percent", "high", c)).toBe(SKIP);
    expect(c.issues).toEqual(['invalid_value: not a number: "high"']);
    expect(forward("percent", [])).toBeNull();
    const negative = ctx();
    expect(forward("percent", [val("number", { value: -1 })], negative)).toBe(SKIP);
    expect(negative.issues).toEqual(["out_of_range: probability -1 is outside 0-100"]);
  });
});

describe("record references", () => {
  const ids = idMap([["companies", "co-1", "001A"]]);

  it("takes the target object from the option when the value does not name one", () => {
    const ref = [val("record-reference", { target_record_id: "co-1" })];
    expect(forward("record_reference", ref, ctx({ ids, options: { target: "companies" } }))).toBe("001A");
    const noTarget = ctx({ ids });
    expect(forward("record_reference", ref, noTarget)).toBe(SKIP);
    expect(noTarget.deferred).toEqual(["/co-1"]);
  });

  it("a reference with no id clears the lookup; an empty lookup clears the reference", () => {
    expect(forward("record_reference", [val("record-reference", { target_object: "companies" })], ctx({ ids }))).toBe(
      null,
    );
    expect(reverse("record_reference", "", ctx({ ids, options: { target: "companies" } }))).toBeNull();
  });

  it("without an ID map every reference is deferred", () => {
    const c = ctx({ options: { target: "companies" } });
    expect(reverse("record_reference", "001A", c)).toBe(SKIP);
    expect(forward("record_reference", [val("record-reference", { target_record_id: "co-1" })], c)).toBe(SKIP);
    expect(c.deferred).toEqual(["companies/001A", "companies/co-1"]);
    const noOption = ctx({ ids });
    expect(reverse("record_reference", "001A", noOption)).toBe(SKIP);
    expect(noOption.deferred).toEqual(["/001A"]);
  });
});

describe("owners", () => {
  const users: UserLookup = {
    salesforceUserFor: (m) => (m === "m1" ? "005A" : undefined),
    workspaceMemberFor: (u) => (u === "005A" ? "m1" : undefined),
    defaultMember: "m9",
  };

  it("a deal with no owner leaves OwnerId alone; an API token owner is reported", () => {
    expect(forward("owner", [], ctx({ users }))).toBe(SKIP);
    const c = ctx({ users });
    const token = [val("actor-reference", { referenced_actor_type: "api-token", referenced_actor_id: "tok-1" })];
    expect(forward("owner", token, c)).toBe(SKIP);
    expect(c.issues).toEqual(["unmatched_user: the owner is not a workspace member (api-token)"]);
    const blank = ctx({ users });
    const noId = [val("actor-reference", { referenced_actor_type: "workspace-member", referenced_actor_id: "" })];
    expect(forward("owner", noId, blank)).toBe(SKIP);
    expect(blank.issues).toHaveLength(1);
  });

  it("a member is named by id when there is no directory or no email for it", () => {
    const c = ctx();
    const member = [val("actor-reference", { referenced_actor_type: "workspace-member", referenced_actor_id: "m2" })];
    expect(forward("owner", member, c)).toBe(SKIP);
    expect(c.issues).toEqual(["unmatched_user: no active Salesforce User has the email of workspace member m2"]);
  });

  it("an empty OwnerId leaves Attio alone; an unknown User gets the default member, named by id", () => {
    expect(reverse("owner", "", ctx({ users }))).toBe(SKIP);
    const c = ctx({ users });
    expect(reverse("owner", "005Z", c)).toEqual({
      referenced_actor_type: "workspace-member",
      referenced_actor_id: "m9",
    });
    expect(c.issues).toEqual([
      "default_owner_used: no workspace member has the email of Salesforce User 005Z: the default owner m9 is used",
    ]);
    const none = ctx();
    expect(reverse("owner", "005Z", none)).toBe(SKIP);
    expect(none.issues).toEqual(["unmatched_user: no workspace member has the email of Salesforce User 005Z"]);
  });
});

describe("the user directory", () => {
  it("skips Users with no email, prefers the active User of an email, and ignores members with no email", () => {
    const [admin] = members;
    if (!admin) throw new Error("fixture has no members");
    const directory = matchUsers(
      [admin, { ...admin, id: { ...admin.id, workspace_member_id: "m-blank" }, email_address: "  " }],
      [
        { Id: "005NOEMAIL", Email: null, IsActive: true },
        { Id: "005BLANK", Email: " ", IsActive: true },
        { Id: "005OLD", Email: admin.email_address, IsActive: false },
        { Id: "005NEW", Email: admin.email_address.toUpperCase(), IsActive: true },
        { Id: "005THIRD", Email: admin.email_address, IsActive: true },
      ],
    );
    expect(directory.salesforceUserFor(admin.id.workspace_member_id)).toBe("005NEW");
    expect(directory.unmatchedMembers).toEqual(["m-blank"]);
    expect(directory.unmatchedUsers).toEqual(["005NOEMAIL", "005BLANK", "005OLD", "005THIRD"]);
    expect(directory.emailOf?.("005NOEMAIL")).toBeUndefined();
  });
});

describe("getTransform", () => {
  it("knows every named transform and nothing else, not even Object's own keys", () => {
    expect(getTransform("percent")?.name).toBe("percent");
    expect(getTransform("uppercase")).toBeUndefined();
    expect(getTransform("toString")).toBeUndefined();
  });
});
