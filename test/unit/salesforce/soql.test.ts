import { describe, expect, it } from "vitest";
import * as soql from "../../../src/salesforce/soql.ts";

const ACCOUNT = "001000000000001AAA";
const USER = "005000000000001AAA";

describe("SOQL literals, as the SOQL reference gives them", () => {
  it("quotes strings with backslash escapes for \\ ' \" and the control characters it lists", () => {
    expect(soql.soqlString("O'Brien")).toBe("'O\\'Brien'");
    expect(soql.soqlString('say "hi"')).toBe("'say \\\"hi\\\"'");
    expect(soql.soqlString("a\\b")).toBe("'a\\\\b'");
    expect(soql.soqlString("line\nbreak\r\ttab\b\f")).toBe("'line\\nbreak\\r\\ttab\\b\\f'");
    // % and _ are ordinary characters outside LIKE: never escaped (\\% is only valid in LIKE).
    expect(soql.soqlString("50%_off")).toBe("'50%_off'");
    expect(soql.soqlString("Zoë 東京")).toBe("'Zoë 東京'");
  });

  it("writes dateTimes unquoted as YYYY-MM-DDThh:mm:ssZ, from Salesforce's +0000 form too", () => {
    expect(soql.soqlDateTime("2024-10-26T16:20:53.000+0000")).toBe("2024-10-26T16:20:53Z");
    expect(soql.soqlDateTime("2024-10-26T18:20:53.000+02:00")).toBe("2024-10-26T16:20:53Z");
    expect(soql.soqlDateTime("2024-10-26T16:20:53.789Z")).toBe("2024-10-26T16:20:53Z");
    expect(soql.soqlDateTime(Date.UTC(2026, 0, 2, 3, 4, 5, 600))).toBe("2026-01-02T03:04:05Z");
    expect(soql.soqlDateTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 600)))).toBe("2026-01-02T03:04:05Z");
    expect(() => soql.soqlDateTime("")).toThrow(RangeError);
  });

  it("knows a Salesforce id: 15 or 18 alphanumerics, nothing else", () => {
    expect(soql.isSalesforceId(ACCOUNT)).toBe(true);
    expect(soql.isSalesforceId(ACCOUNT.slice(0, 15))).toBe(true);
    for (const bad of ["", "abc", `${ACCOUNT}X`, "001000000000001AA'", "001 00000000001AAA"]) {
      expect(soql.isSalesforceId(bad)).toBe(false);
    }
  });
});

describe("each statement the Worker sends, word for word", () => {
  it("catch-up and job listings: a first page compares the stamp only, never an Id with ''", () => {
    expect(soql.changedSince("Account", { stamp: "2026-01-01T00:00:00.000Z" }, 2000)).toBe(
      "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp >= 2026-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 2000",
    );
    expect(soql.changedSince("Account", { stamp: "2026-01-01T00:00:00.000+0000", id: ACCOUNT }, 2000)).toBe(
      `SELECT Id, SystemModstamp FROM Account WHERE (SystemModstamp > 2026-01-01T00:00:00Z OR (SystemModstamp = 2026-01-01T00:00:00Z AND Id > '${ACCOUNT}')) ORDER BY SystemModstamp, Id LIMIT 2000`,
    );
    // An empty id is a first page; anything else that is not an id is refused, never sent.
    expect(soql.changedSince("Account", { stamp: "2026-01-01T00:00:00Z", id: "" }, 10)).not.toContain("Id >");
    expect(() => soql.changedSince("Account", { stamp: "2026-01-01T00:00:00Z", id: "x" }, 10)).toThrow(RangeError);
  });

  it("a job's match index pages by Id with no Id clause on its first page", () => {
    expect(soql.matchKeyPage("Contact", "Email", undefined, 2000)).toBe(
      "SELECT Id, Email FROM Contact ORDER BY Id LIMIT 2000",
    );
    expect(soql.matchKeyPage("Contact", "Email", ACCOUNT, 2000)).toBe(
      `SELECT Id, Email FROM Contact WHERE Id > '${ACCOUNT}' ORDER BY Id LIMIT 2000`,
    );
  });

  it("reads by Id, by match key, by others' changes, the Recycle Bin and active users", () => {
    expect(soql.selectByIds("Contact", ["Email", "Title"], [ACCOUNT])).toBe(
      `SELECT Id, LastModifiedDate, SystemModstamp, Email, Title FROM Contact WHERE Id IN ('${ACCOUNT}')`,
    );
    expect(() => soql.selectByIds("Contact", [], ["nope"])).toThrow(RangeError);
    expect(soql.selectByField("Opportunity", "Name", ["Name"], ["Bob's deal", "Big"])).toBe(
      "SELECT Id, LastModifiedDate, SystemModstamp, Name FROM Opportunity WHERE Name IN ('Bob\\'s deal', 'Big')",
    );
    expect(soql.changedByOthersSince("Contact", ["Email"], "2026-01-01T00:00:00.500Z", USER)).toBe(
      `SELECT Id, LastModifiedDate, SystemModstamp, Email FROM Contact WHERE SystemModstamp >= 2026-01-01T00:00:00Z AND LastModifiedById != '${USER}'`,
    );
    expect(soql.deletedWithMaster("Account", [ACCOUNT])).toBe(
      `SELECT Id, MasterRecordId FROM Account WHERE IsDeleted = true AND Id IN ('${ACCOUNT}')`,
    );
    expect(soql.activeUsers()).toBe("SELECT Id, Email, IsActive FROM User WHERE IsActive = true ORDER BY Id");
  });
});

describe("partsByLength keeps every statement inside the request line Salesforce accepts", () => {
  it("packs ids into as few statements as fit, each under the encoded limit", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `003${String(i).padStart(12, "0")}AAA`);
    const render = (part: readonly string[]) => soql.selectByIds("Contact", ["Email"], part);
    const { parts, tooLong } = soql.partsByLength(ids, render, soql.soqlString);
    expect(tooLong).toEqual([]);
    expect(parts.flat()).toEqual(ids);
    for (const part of parts) expect(soql.encodedLength(render(part))).toBeLessThanOrEqual(soql.MAX_ENCODED_SOQL);
    // About 430 ids fit in one statement: three statements for 1,000.
    expect(parts.length).toBe(3);
  });

  it("measures multi-byte values by their encoded size, and sets aside one that can never fit", () => {
    const names = Array.from({ length: 100 }, (_, i) => `東京の大きな取引 ${i} ${"商".repeat(30)}`);
    const huge = "x".repeat(soql.MAX_ENCODED_SOQL);
    const render = (part: readonly string[]) => soql.selectByField("Opportunity", "Name", ["Name"], part);
    const { parts, tooLong } = soql.partsByLength([...names, huge], render, soql.soqlString);
    expect(tooLong).toEqual([huge]);
    expect(parts.flat()).toEqual(names);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) expect(soql.encodedLength(render(part))).toBeLessThanOrEqual(soql.MAX_ENCODED_SOQL);
  });
});
