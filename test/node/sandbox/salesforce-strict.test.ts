import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  MAX_REQUEST_TARGET_BYTES,
  type SalesforceEmulator,
  startSalesforceEmulator,
} from "../../../scripts/sandbox/salesforce/server.ts";
import { json, salesforceToken } from "./helpers.ts";

/**
 * The Salesforce emulator is at least as strict as Salesforce's documentation: SOQL literals of the
 * field's type (ids, dateTimes, numbers, text), only the documented string escapes, and no request
 * target over 16 KiB. Each rule is checked on an org with data and, where the rule is about the
 * query itself, on an empty one too (Salesforce refuses a bad query before reading any record).
 */

let sf: SalesforceEmulator;
let token: string;
const base = () => `${sf.url}/services/data/v62.0`;
const call = (path: string, method = "GET", body?: unknown) =>
  fetch(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const query = (soql: string) => call(`/query?q=${encodeURIComponent(soql)}`);

beforeEach(async () => {
  sf = await startSalesforceEmulator({ seed: 3, retryBaseMs: 5 });
  token = await salesforceToken(sf);
});
afterEach(async () => {
  await sf.close();
});

async function expectError(response: Response, status: number, errorCode: string): Promise<string> {
  expect(response.status).toBe(status);
  const body = await json(response);
  expect(body).toHaveLength(1);
  expect(Object.keys(body[0]).sort()).toEqual(["errorCode", "message"]);
  expect(body[0].errorCode).toBe(errorCode);
  return body[0].message;
}

describe("SOQL: an Id or lookup field takes only a valid 15- or 18-character id", () => {
  it("refuses Id > '' with INVALID_QUERY_FILTER_OPERATOR, on an empty org as on a full one", async () => {
    const empty = await query("SELECT Id FROM Account WHERE Id > ''");
    expect(await expectError(empty, 400, "INVALID_QUERY_FILTER_OPERATOR")).toBe("invalid ID field: ");
    await call("/sobjects/Account", "POST", { Name: "Existing" });
    const full = await query("SELECT Id FROM Account WHERE Id > ''");
    expect(await expectError(full, 400, "INVALID_QUERY_FILTER_OPERATOR")).toBe("invalid ID field: ");
  });

  it("refuses other non-ids, in comparisons, IN lists and lookups", async () => {
    const abc = await query("SELECT Id FROM Account WHERE Id > 'abc'");
    expect(await expectError(abc, 400, "INVALID_QUERY_FILTER_OPERATOR")).toMatch(/^invalid ID field: abc/);
    const inList = await query("SELECT Id FROM Contact WHERE AccountId IN ('')");
    expect(await expectError(inList, 400, "INVALID_QUERY_FILTER_OPERATOR")).toBe("invalid ID field: ");
    for (const soql of [
      "SELECT Id FROM Contact WHERE AccountId NOT IN ('001Sb00000000001', '')",
      "SELECT Id FROM Contact WHERE OwnerId != 'nobody'",
      "SELECT Id FROM Contact WHERE Id = '001Sb0000000001AAAA'",
      "SELECT Id FROM Contact WHERE Id <> '001Sb00000000-1'",
      "SELECT Id FROM Contact WHERE Id = 5",
      "SELECT Id FROM Opportunity WHERE Account.OwnerId = ''",
    ]) {
      await expectError(await query(soql), 400, "INVALID_QUERY_FILTER_OPERATOR");
    }
    // A Bulk API 2.0 query job parses its SOQL when it is created, with the same errors.
    const job = await call("/jobs/query", "POST", {
      operation: "query",
      query: "SELECT Id FROM Account WHERE Id > ''",
    });
    expect(await expectError(job, 400, "INVALID_QUERY_FILTER_OPERATOR")).toBe("invalid ID field: ");
  });

  it("takes = null and != null, and valid 15- and 18-character ids", async () => {
    const account = (await json(await call("/sobjects/Account", "POST", { Name: "Tern Labs" }))).id as string;
    const other = (await json(await call("/sobjects/Account", "POST", { Name: "Gull Rock" }))).id as string;
    await call("/sobjects/Contact", "POST", { LastName: "Ames", AccountId: account });
    await call("/sobjects/Contact", "POST", { LastName: "Lone" });
    const names = async (soql: string) => {
      const response = await query(soql);
      expect(response.status).toBe(200);
      return (await json(response)).records.map((r: { Name?: string; LastName?: string }) => r.Name ?? r.LastName);
    };
    expect(await names("SELECT LastName FROM Contact WHERE AccountId = null")).toEqual(["Lone"]);
    expect(await names("SELECT LastName FROM Contact WHERE AccountId != null")).toEqual(["Ames"]);
    expect(await names(`SELECT Name FROM Account WHERE Id = '${account.slice(0, 15)}'`)).toEqual(["Tern Labs"]);
    expect(await names(`SELECT Name FROM Account WHERE Id = '${account}'`)).toEqual(["Tern Labs"]);
    expect(
      await names(`SELECT Name FROM Account WHERE Id IN ('${account.slice(0, 15)}', '${other}') ORDER BY Name`),
    ).toEqual(["Gull Rock", "Tern Labs"]);
    expect(await names(`SELECT LastName FROM Contact WHERE AccountId = '${account.slice(0, 15)}'`)).toEqual(["Ames"]);
    // Keyset paging: the next page starts after the last id seen, never after ''.
    expect(await names(`SELECT Name FROM Account WHERE Id > '${[account, other].sort()[0]}' ORDER BY Id`)).toHaveLength(
      1,
    );
    // A valid-looking 18-character id (its last three characters are the case checksum) is a valid literal.
    expect((await query("SELECT Id FROM Account WHERE Id = '001Sb0000000001AAA'")).status).toBe(200);
  });
});

describe("SOQL: quoted strings take only the documented escape sequences", () => {
  it("decodes \\' \\\" \\\\ \\n \\t \\uXXXX and refuses any other backslash with MALFORMED_QUERY", async () => {
    for (const name of ["O'Brien", 'Say "hi"', "back\\slash", "two\nlines", "tab\there", "café"]) {
      await call("/sobjects/Account", "POST", { Name: name });
    }
    const find = async (literal: string) => {
      const response = await query(`SELECT Name FROM Account WHERE Name = '${literal}'`);
      expect(response.status).toBe(200);
      return (await json(response)).records.map((r: { Name: string }) => r.Name);
    };
    expect(await find("O\\'Brien")).toEqual(["O'Brien"]);
    expect(await find('Say \\"hi\\"')).toEqual(['Say "hi"']);
    expect(await find("back\\\\slash")).toEqual(["back\\slash"]);
    expect(await find("two\\nlines")).toEqual(["two\nlines"]);
    expect(await find("tab\\There")).toEqual(["tab\there"]);
    expect(await find("caf\\u00e9")).toEqual(["café"]);
    for (const literal of ["a\\d", "a\\x41", "trailing\\ ", "a\\u00g9", "under\\_score", "per\\%cent"]) {
      const message = await expectError(
        await query(`SELECT Name FROM Account WHERE Name = '${literal}'`),
        400,
        "MALFORMED_QUERY",
      );
      expect(message).toMatch(/^Invalid string literal '.*'\. Illegal character sequence '\\.' in string literal\.$/);
    }
  });

  it("treats \\_ and \\% in LIKE as the characters themselves, unescaped ones as wildcards", async () => {
    for (const name of ["Ter%", "Terra", "Ter_x", "Terax"]) await call("/sobjects/Account", "POST", { Name: name });
    const like = async (pattern: string) =>
      (await json(await query(`SELECT Name FROM Account WHERE Name LIKE '${pattern}'`))).records
        .map((r: { Name: string }) => r.Name)
        .sort();
    expect(await like("Ter%")).toEqual(["Ter%", "Ter_x", "Terax", "Terra"].sort());
    expect(await like("Ter\\%")).toEqual(["Ter%"]);
    expect(await like("Ter\\_x")).toEqual(["Ter_x"]);
    expect(await like("Ter_x")).toEqual(["Ter_x", "Terax"].sort());
    await expectError(await query("SELECT Name FROM Account WHERE Name LIKE 'Ter\\q'"), 400, "MALFORMED_QUERY");
  });
});

describe("SOQL: a value has its field's type", () => {
  it("dateTime fields take unquoted dateTime literals only (Z, milliseconds, +hh:mm, -hh:mm)", async () => {
    await call("/sobjects/Account", "POST", { Name: "Now" });
    for (const literal of [
      "2020-01-01T00:00:00Z",
      "2020-01-01T00:00:00.000Z",
      "2020-01-01T01:00:00+01:00",
      "2019-12-31T16:00:00-08:00",
    ]) {
      const response = await query(`SELECT Name FROM Account WHERE SystemModstamp > ${literal}`);
      expect(response.status).toBe(200);
      expect((await json(response)).totalSize).toBe(1);
    }
    const quoted = await query("SELECT Id FROM Account WHERE CreatedDate > '2020-01-01T00:00:00Z'");
    expect(await expectError(quoted, 400, "INVALID_FIELD")).toBe(
      "value of filter criterion for field 'CreatedDate' must be of type dateTime and should not be enclosed in quotes",
    );
    // A date format filters date fields only, a dateTime format dateTime fields only.
    await expectError(await query("SELECT Id FROM Account WHERE CreatedDate > 2020-01-01"), 400, "INVALID_FIELD");
    await expectError(
      await query("SELECT Id FROM Opportunity WHERE CloseDate > 2020-01-01T00:00:00Z"),
      400,
      "INVALID_FIELD",
    );
    await expectError(await query("SELECT Id FROM Opportunity WHERE CloseDate > '2020-01-01'"), 400, "INVALID_FIELD");
    expect((await query("SELECT Id FROM Opportunity WHERE CloseDate > 2020-01-01")).status).toBe(200);
    // The offset needs its colon (+hh:mm); REST's own +0000 form is not a SOQL literal.
    await expectError(
      await query("SELECT Id FROM Account WHERE SystemModstamp > 2020-01-01T00:00:00+0000"),
      400,
      "MALFORMED_QUERY",
    );
  });

  it("numbers and booleans are unquoted, text is quoted; long text areas cannot be filtered", async () => {
    for (const [soql, code] of [
      ["SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"],
      ["SELECT Id FROM Account WHERE NumberOfEmployees = '5'", "INVALID_FIELD"],
      ["SELECT Id FROM Account WHERE AnnualRevenue > 'big'", "INVALID_FIELD"],
      ["SELECT Id FROM Account WHERE IsDeleted = 'true'", "INVALID_FIELD"],
      ["SELECT Id FROM Account WHERE Description = 'long text'", "INVALID_FIELD"],
      ["SELECT Id FROM Account ORDER BY Description", "INVALID_FIELD"],
      ["SELECT Id FROM Account WHERE BillingAddress = null", "INVALID_FIELD"],
    ] as const) {
      await expectError(await query(soql), 400, code);
    }
    for (const soql of [
      "SELECT Id FROM Account WHERE NumberOfEmployees > 5 AND AnnualRevenue >= 1000.5",
      "SELECT Id FROM Account WHERE IsDeleted = false",
      "SELECT Id FROM Account WHERE BillingStreet = 'Pier 4'",
    ]) {
      expect((await query(soql)).status).toBe(200);
    }
  });
});

describe("HTTP: a request target over 16,384 bytes is 414 URI Too Long", () => {
  it("answers 414 on any route before authentication; 800 ids in a GET retrieve still fit", async () => {
    const ids = (n: number) => Array.from({ length: n }, (_, i) => `001Sb${String(i).padStart(10, "0")}AAA`).join(",");
    const fits = await call(`/composite/sobjects/Account?ids=${ids(800)}&fields=Id,Name`);
    expect(fits.status).toBe(200);
    expect(await json(fits)).toHaveLength(800);

    const before = (await json(await fetch(`${sf.url}/__control/stats`))).api_usage;
    const tooLong = await call(`/composite/sobjects/Account?ids=${ids(900)}&fields=Id,Name`);
    expect(tooLong.status).toBe(414);
    const longQuery = await query(`SELECT Id FROM Account WHERE Name IN ('${"x".repeat(17_000)}')`);
    expect(longQuery.status).toBe(414);
    const unauthenticated = await fetch(`${base()}/limits?pad=${"p".repeat(MAX_REQUEST_TARGET_BYTES)}`);
    expect(unauthenticated.status).toBe(414);
    // Refused before the API: no API call counted.
    expect((await json(await fetch(`${sf.url}/__control/stats`))).api_usage).toBe(before);

    // The limit is on the target's bytes: exactly 16,384 passes, one more does not.
    const path = "/services/data/v62.0/limits?pad=";
    const padded = (total: number) =>
      fetch(`${sf.url}${path}${"p".repeat(total - path.length)}`, {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await padded(MAX_REQUEST_TARGET_BYTES)).status).toBe(200);
    expect((await padded(MAX_REQUEST_TARGET_BYTES + 1)).status).toBe(414);
  });
});

describe("SOQL: the documented size limits", () => {
  it("refuses a string of more than 4,000 characters in a WHERE clause, and takes one of exactly 4,000", async () => {
    const at = await query(`SELECT Id FROM Contact WHERE LastName = '${"x".repeat(4000)}'`);
    expect(at.status).toBe(200);
    const over = await query(`SELECT Id FROM Contact WHERE LastName IN ('a', '${"x".repeat(4001)}')`);
    expect(await expectError(over, 400, "MALFORMED_QUERY")).toMatch(/at most 4000/);
  });
});

describe("sObject Rows: the conditional update (If-Unmodified-Since)", () => {
  it("updates only a record not modified after the date (whole seconds): 412 otherwise, 400 for an invalid date", async () => {
    const created = await json(await call("/sobjects/Account", "POST", { Name: "Conditional" }));
    const [account] = (await json(await query(`SELECT Id, LastModifiedDate FROM Account WHERE Id = '${created.id}'`)))
      .records;
    const modified = Date.parse(String(account.LastModifiedDate).replace("+0000", "Z"));
    const patch = (since: string, name: string) =>
      fetch(`${base()}/sobjects/Account/${account.Id}`, {
        method: "PATCH",
        headers: {
          authorization: `Bearer ${token}`,
          "content-type": "application/json",
          "if-unmodified-since": since,
        },
        body: JSON.stringify({ Name: name }),
      });
    const name = async () =>
      (await json(await query(`SELECT Name FROM Account WHERE Id = '${account.Id}'`))).records[0].Name;
    const before = await name();

    expect((await patch(new Date(modified - 1000).toUTCString(), "Too late")).status).toBe(412);
    expect(await name()).toBe(before);
    expect((await patch("yesterday", "Invalid")).status).toBe(400);
    expect(await name()).toBe(before);
    expect((await patch(new Date(modified).toUTCString(), "In time")).status).toBe(204);
    expect(await name()).toBe("In time");
  });
});
