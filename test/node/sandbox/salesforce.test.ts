import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { caseSafeSuffix } from "../../../scripts/sandbox/salesforce/ids.ts";
import {
  createCustomField,
  createCustomObject,
  picklistValueSet,
} from "../../../scripts/sandbox/salesforce/provision.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import {
  compareSkeletons,
  mergeSkeletons,
  type Skeleton,
  skeletonOf,
} from "../../../scripts/sandbox/shared/skeleton.ts";
import { json, referenceSkeleton, salesforceTokenResponse, startReceiver, waitFor } from "./helpers.ts";

let sf: SalesforceEmulator;
let token: string;
const base = () => `${sf.url}/services/data/v62.0`;
const headers = (extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  "content-type": "application/json",
  ...extra,
});
const call = (path: string, method = "GET", body?: unknown, extra: Record<string, string> = {}) =>
  fetch(`${base()}${path}`, {
    method,
    headers: headers(extra),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const control = (path: string, body: unknown, method = "POST") =>
  fetch(`${sf.url}/__control/${path}`, { method, body: JSON.stringify(body) });

/** The External ID an integration adds to an object (a new org has none), through the Tooling API. */
const attioId = (object: string) =>
  createCustomField(sf, `${object}.Attio_Id__c`, { type: "Text", length: 36, externalId: true, unique: true });

/** Every reference path must exist with a compatible type; the emulator may return more (excerpts). */
function coversExcerpt(actual: Skeleton, excerpt: Skeleton): string[] {
  return compareSkeletons(actual, excerpt).filter((problem) => !problem.startsWith("unexpected"));
}

beforeEach(async () => {
  sf = await startSalesforceEmulator({ seed: 7, retryBaseMs: 5 });
  token = (await json(await salesforceTokenResponse(sf))).access_token;
});
afterEach(async () => {
  await sf.close();
});

describe("Salesforce emulator: structure matches recorded Salesforce payloads", () => {
  it("SOQL query with a parent relationship", async () => {
    await control("seed", {});
    const response = await call(
      `/query?q=${encodeURIComponent("SELECT Id, Name, Description, Website, Industry, BillingCity, BillingCountry, OwnerId, Owner.Name, NumberOfEmployees, LastModifiedDate FROM Account")}`,
    );
    const body = await json(response);
    expect(response.headers.get("sforce-limit-info")).toMatch(/^api-usage=\d+\/15000$/);
    expect(body.records[0].LastModifiedDate).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$/);
    // The recorded accounts had no industry or head count (null); ours do.
    expect(
      compareSkeletons(skeletonOf(body), referenceSkeleton("sf-query-response"), { nullMeansAnyScalar: true }),
    ).toEqual([]);
  });

  it("collections create, collections failure, upsert 201 and 200", async () => {
    const created = await call("/composite/sobjects", "POST", {
      allOrNone: false,
      records: [{ attributes: { type: "Account" }, Name: "Saltmarsh Ferries" }],
    });
    expect(created.status).toBe(200);
    expect(compareSkeletons(skeletonOf(await json(created)), referenceSkeleton("sf-collections-create"))).toEqual([]);
    const failed = await call("/composite/sobjects", "PATCH", {
      allOrNone: false,
      records: [{ attributes: { type: "Account" }, id: "001xx000003DHP0AAO", Name: "Renamed" }],
    });
    const failure = await json(failed);
    expect(failed.status).toBe(200);
    expect(failure[0].errors[0].statusCode).toBe("INVALID_CROSS_REFERENCE_KEY");
    expect(compareSkeletons(skeletonOf(failure), referenceSkeleton("sf-collections-error"))).toEqual([]);
    await attioId("Contact");
    const insert = await call("/sobjects/Contact/Attio_Id__c/7d0c9a52", "PATCH", { LastName: "Okoro" });
    expect(insert.status).toBe(201);
    expect(insert.headers.get("location")).toMatch(/^\/services\/data\/v62\.0\/sobjects\/Contact\/003\w{15}$/);
    expect(compareSkeletons(skeletonOf(await json(insert)), referenceSkeleton("sf-upsert-created"))).toEqual([]);
    const update = await call("/sobjects/Contact/Attio_Id__c/7d0c9a52", "PATCH", { Title: "Skipper" });
    expect(update.status).toBe(200);
    expect(compareSkeletons(skeletonOf(await json(update)), referenceSkeleton("sf-upsert-updated"))).toEqual([]);
  });

  it("describe and limits cover the recorded excerpts", async () => {
    const described = await json(await call("/sobjects/Account/describe"));
    expect(coversExcerpt(skeletonOf(described), referenceSkeleton("sf-describe-excerpt"))).toEqual([]);
    const industry = described.fields.find((f: { name: string }) => f.name === "Industry");
    expect(industry.picklistValues.map((p: { value: string }) => p.value)).toContain("Food & Beverage");
    const stage = (await json(await call("/sobjects/Opportunity/describe"))).fields.find(
      (f: { name: string }) => f.name === "StageName",
    );
    expect(stage).toMatchObject({ nillable: false, createable: true, defaultedOnCreate: false });
    expect(
      coversExcerpt(skeletonOf(await json(await call("/limits"))), referenceSkeleton("sf-limits-excerpt")),
    ).toEqual([]);
  });

  it("change events have the CometD envelope and header", async () => {
    const id = (await json(await call("/sobjects/Account", "POST", { Name: "Gull Rock Ltd" }))).id;
    await call(`/sobjects/Account/${id}`, "PATCH", { Industry: "Shipping" });
    await call(`/sobjects/Account/${id}`, "DELETE");
    const events = (await json(await fetch(`${sf.url}/__control/events`))).events;
    expect(
      events.map(
        (e: { payload: { ChangeEventHeader: { changeType: string } } }) => e.payload.ChangeEventHeader.changeType,
      ),
    ).toEqual(["CREATE", "UPDATE", "DELETE"]);
    const envelopes = events.map((event: { schema: string; payload: { ChangeEventHeader: unknown }; event: unknown }) =>
      skeletonOf({
        schema: event.schema,
        payload: { ChangeEventHeader: event.payload.ChangeEventHeader },
        event: event.event,
      }),
    );
    expect(compareSkeletons(mergeSkeletons(...envelopes), referenceSkeleton("sf-cdc-event-envelope"))).toEqual([]);
    const update = events[1].payload;
    expect(update.ChangeEventHeader.changedFields.sort()).toEqual(["Industry", "LastModifiedDate"]);
    expect(Object.keys(update).sort()).toEqual(["ChangeEventHeader", "Industry", "LastModifiedDate"]);
    expect(update.LastModifiedDate).toMatch(/Z$/);
  });
});

describe("Salesforce emulator: behaviour", () => {
  it("issues client-credentials tokens and answers 401 INVALID_SESSION_ID once they expire", async () => {
    const issued = await json(await salesforceTokenResponse(sf));
    expect(Object.keys(issued).sort()).toEqual([
      "access_token",
      "id",
      "instance_url",
      "issued_at",
      "scope",
      "signature",
      "token_type",
    ]);
    expect(issued.instance_url).toBe(sf.url);
    const bad = await fetch(`${sf.url}/services/oauth2/token`, {
      method: "POST",
      body: new URLSearchParams({ grant_type: "client_credentials", client_id: sf.clientId, client_secret: "wrong" }),
    });
    expect((await json(bad)).error).toBe("invalid_client");
    await control("expire-tokens", {});
    const expired = await call("/limits");
    expect(expired.status).toBe(401);
    expect(await json(expired)).toEqual([{ message: "Session expired or invalid", errorCode: "INVALID_SESSION_ID" }]);
  });

  it("makes 18-character ids with the right key prefix and case-safe suffix", async () => {
    const account = await json(await call("/sobjects/Account", "POST", { Name: "Tern Labs" }));
    const contact = await json(
      await call("/sobjects/Contact", "POST", { LastName: "Ames", AccountId: account.id.slice(0, 15) }),
    );
    const opportunity = await json(
      await call("/sobjects/Opportunity", "POST", {
        Name: "Tern pilot",
        StageName: "Closed Won",
        CloseDate: "2026-02-01",
      }),
    );
    for (const [id, prefix] of [
      [account.id, "001"],
      [contact.id, "003"],
      [opportunity.id, "006"],
    ]) {
      expect(id).toHaveLength(18);
      expect(id.slice(0, 3)).toBe(prefix);
      expect(id.slice(15)).toBe(caseSafeSuffix(id.slice(0, 15)));
    }
    const read = await json(
      await call(`/sobjects/Opportunity/${opportunity.id}?fields=IsWon,Probability,SystemModstamp`),
    );
    expect(read).toMatchObject({ IsWon: true, Probability: 100 });
    expect((await json(await call(`/sobjects/Contact/${contact.id}`))).AccountId).toBe(account.id);
  });

  it("validates required, unknown, read-only and restricted picklist fields with Salesforce codes", async () => {
    const missing = await call("/sobjects/Opportunity", "POST", { Name: "No stage" });
    expect(missing.status).toBe(400);
    expect((await json(missing))[0]).toMatchObject({
      errorCode: "REQUIRED_FIELD_MISSING",
      fields: ["StageName", "CloseDate"],
    });
    expect((await json(await call("/sobjects/Account", "POST", { Name: "X", Colour__c: "red" })))[0].errorCode).toBe(
      "INVALID_FIELD",
    );
    expect((await json(await call("/sobjects/Account", "POST", { Name: "X", IsDeleted: true })))[0].errorCode).toBe(
      "INVALID_FIELD_FOR_INSERT_UPDATE",
    );
    await createCustomObject(sf, "Project__c", {
      label: "Project",
      pluralLabel: "Projects",
      nameField: { type: "Text", label: "Project Name" },
      deploymentStatus: "Deployed",
      sharingModel: "ReadWrite",
    });
    await createCustomField(sf, "Project__c.Status__c", {
      type: "Picklist",
      valueSet: picklistValueSet(["Planned", "Active", "Done"], { restricted: true }),
    });
    expect((await json(await call("/sobjects/Project__c", "POST", { Status__c: "Someday" })))[0].errorCode).toBe(
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    );
  });

  it("collections: partial success without allOrNone, full rollback with it", async () => {
    const records = [
      { attributes: { type: "Contact" }, LastName: "Valid" },
      { attributes: { type: "Contact" }, FirstName: "NoLastName" },
    ];
    const partial = await json(await call("/composite/sobjects", "POST", { allOrNone: false, records }));
    expect(partial[0].success).toBe(true);
    expect(partial[1]).toEqual({
      success: false,
      errors: [
        {
          statusCode: "REQUIRED_FIELD_MISSING",
          message: "Required fields are missing: [LastName]",
          fields: ["LastName"],
        },
      ],
    });
    const all = await json(await call("/composite/sobjects", "POST", { allOrNone: true, records }));
    expect(all[0].errors[0].statusCode).toBe("ALL_OR_NONE_OPERATION_ROLLED_BACK");
    const count = await json(await call(`/query?q=${encodeURIComponent("SELECT Id FROM Contact")}`));
    expect(count.totalSize).toBe(1);
    const tooMany = await call("/composite/sobjects", "POST", {
      records: Array.from({ length: 201 }, () => records[0]),
    });
    expect(tooMany.status).toBe(400);
  });

  it("upserts by external id through collections and retrieves by ids", async () => {
    await attioId("Account");
    const result = await json(
      await call("/composite/sobjects/Account/Attio_Id__c", "PATCH", {
        allOrNone: false,
        records: [
          { attributes: { type: "Account" }, Attio_Id__c: "a-1", Name: "First" },
          { attributes: { type: "Account" }, Attio_Id__c: "a-2", Name: "Second" },
        ],
      }),
    );
    expect(result.map((r: { created: boolean }) => r.created)).toEqual([true, true]);
    const again = await json(
      await call("/composite/sobjects/Account/Attio_Id__c", "PATCH", {
        records: [{ attributes: { type: "Account" }, Attio_Id__c: "a-1", Name: "First, renamed" }],
      }),
    );
    expect(again[0]).toMatchObject({ success: true, created: false, id: result[0].id });
    const fetched = await json(
      await call(`/composite/sobjects/Account?ids=${result[0].id},001Sb0000000000ZZZ&fields=Name`),
    );
    expect(fetched[0].Name).toBe("First, renamed");
    expect(fetched[1]).toBeNull();
  });

  it("pages SOQL results with nextRecordsUrl and filters with datetimes, IN and OR", async () => {
    await control("seed", { dataset: "generated", count: 250 });
    const soql = "SELECT Id, Name FROM Account WHERE SystemModstamp >= 2020-01-01T00:00:00Z ORDER BY Name";
    const first = await json(
      await call(`/query?q=${encodeURIComponent(soql)}`, "GET", undefined, { "sforce-query-options": "batchSize=200" }),
    );
    expect(first).toMatchObject({ totalSize: 250, done: false });
    expect(first.records).toHaveLength(200);
    const second = await json(
      await fetch(`${sf.url}${first.nextRecordsUrl}`, {
        headers: headers({ "sforce-query-options": "batchSize=200" }),
      }),
    );
    expect(second.done).toBe(true);
    expect(second.records).toHaveLength(50);
    const names = [first.records[0].Name, first.records[1].Name];
    const picked = await json(
      await call(
        `/query?q=${encodeURIComponent(`SELECT Name FROM Account WHERE Name IN ('${names[0]}') OR (Name = '${names[1]}' AND NumberOfEmployees > 0) LIMIT 5`)}`,
      ),
    );
    expect(picked.records.map((r: { Name: string }) => r.Name).sort()).toEqual([...names].sort());
    const bad = await call(`/query?q=${encodeURIComponent("SELECT Nope FROM Account")}`);
    expect((await json(bad))[0].errorCode).toBe("INVALID_FIELD");
    // COUNT(): the number of records selected, as totalSize, with no records.
    const counted = await json(
      await call(
        `/query?q=${encodeURIComponent(`SELECT COUNT() FROM Account WHERE Name IN ('${names[0]}', '${names[1]}')`)}`,
      ),
    );
    expect(counted).toMatchObject({ totalSize: 2, done: true, records: [] });
  });

  it("queryAll and /deleted report deletions; /updated reports changes", async () => {
    const start = new Date(Date.now() - 60_000).toISOString();
    const id = (await json(await call("/sobjects/Account", "POST", { Name: "Ephemeral" }))).id;
    const kept = (await json(await call("/sobjects/Account", "POST", { Name: "Kept" }))).id;
    await call(`/sobjects/Account/${id}`, "DELETE");
    const end = new Date(Date.now() + 60_000).toISOString();
    const soql = encodeURIComponent("SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true");
    expect((await json(await call(`/query?q=${soql}`))).totalSize).toBe(0);
    expect((await json(await call(`/queryAll?q=${soql}`))).records[0]).toMatchObject({ Id: id, IsDeleted: true });
    const window = `start=${encodeURIComponent(start)}&end=${encodeURIComponent(end)}`;
    const deleted = await json(await call(`/sobjects/Account/deleted/?${window}`));
    expect(deleted.deletedRecords.map((r: { id: string }) => r.id)).toEqual([id]);
    expect((await json(await call(`/sobjects/Account/updated/?${window}`))).ids).toEqual([kept]);
    expect((await call(`/sobjects/Account/${id}`)).status).toBe(404);
  });

  it("refuses calls past the daily limit with 403 REQUEST_LIMIT_EXCEEDED", async () => {
    await control("config", { daily_api_limit: 2 }, "PUT");
    expect((await call("/limits")).status).toBe(200);
    expect((await call("/limits")).status).toBe(200);
    const refused = await call("/limits");
    expect(refused.status).toBe(403);
    expect(refused.headers.get("sforce-limit-info")).toBe("api-usage=2/2");
    expect((await json(refused))[0].errorCode).toBe("REQUEST_LIMIT_EXCEEDED");
  });

  it("stamps changeOrigin with client= and relays signed, retried change events", async () => {
    const receiver = await startReceiver([503]);
    try {
      await control("config", { relay: { url: receiver.url, secret: "relay-secret" } }, "PUT");
      await call(
        "/sobjects/Contact",
        "POST",
        { LastName: "Marsh", FirstName: "Ida" },
        { "sforce-call-options": "client=attio-sfdc" },
      );
      await waitFor(() => receiver.received.length >= 2);
      const [first, retry] = receiver.received;
      const body = JSON.parse(retry?.body ?? "{}");
      const header = body.events[0].payload.ChangeEventHeader;
      expect(header.changeOrigin).toBe("com/salesforce/api/rest/62.0;client=attio-sfdc");
      expect(body.events[0].payload.Name).toEqual({ LastName: "Marsh", FirstName: "Ida" });
      expect(first?.body).toBe(retry?.body);
      const timestamp = retry?.headers["x-relay-timestamp"] ?? "";
      expect(Math.abs(Number(timestamp) - Date.now() / 1000)).toBeLessThan(10);
      const expected = createHmac("sha256", "relay-secret").update(`${timestamp}.${retry?.body}`).digest("hex");
      expect(retry?.headers["x-relay-signature"]).toBe(`v1=${expected}`);
      const edit = await json(
        await control("edit", { object: "Contact", id: header.recordIds[0], fields: { Title: "Warden" } }),
      );
      expect(edit.change.values.Title).toBe("Warden");
      await waitFor(() => receiver.received.length >= 3);
      const human = JSON.parse(receiver.received[2]?.body ?? "{}").events[0].payload.ChangeEventHeader;
      expect(human.changeOrigin).toContain("client=SfdcInternalAPI/");
      expect(human.changedFields).toEqual(expect.arrayContaining(["Title", "LastModifiedDate", "LastModifiedById"]));
    } finally {
      await receiver.close();
    }
  });

  it("injects seeded errors and limit bursts", async () => {
    await control("faults", { rateLimitBurst: 1, errorRate: 1, errorStatus: 503 }, "PUT");
    expect((await call("/limits")).status).toBe(403);
    const failed = await call("/limits");
    expect(failed.status).toBe(503);
    expect((await json(failed))[0].errorCode).toBe("SERVER_UNAVAILABLE");
  });

  it("loses answers to committed writes, opens outage and daily-limit windows, and counts each fault by kind", async () => {
    await control("faults", { lostAnswerRate: 1, lostAnswerKind: "error" }, "PUT");
    const lost = await call("/sobjects/Account", "POST", { Name: "Lost One" });
    expect(lost.status).toBe(500);
    await control("faults", { lostAnswerRate: 1, lostAnswerKind: "reset" }, "PUT");
    await expect(call("/sobjects/Account", "POST", { Name: "Lost Two" })).rejects.toThrow();
    // Reads commit nothing: their answers are never lost.
    expect((await call("/limits")).status).toBe(200);
    // A burst loses the next N answers whatever the rate draws.
    await control("faults", { lostAnswerBurst: 1, lostAnswerKind: "error" }, "PUT");
    expect((await call("/sobjects/Account", "POST", { Name: "Lost Three" })).status).toBe(500);
    expect((await call("/sobjects/Account", "POST", { Name: "Kept" })).status).toBe(201);
    const names = (await json(await fetch(`${sf.url}/__control/state`))).records.Account.map(
      (a: { Name: string }) => a.Name,
    );
    expect(names).toEqual(expect.arrayContaining(["Lost One", "Lost Two", "Lost Three", "Kept"]));

    await control("faults", { outageMs: 60_000 }, "PUT");
    const down = await call("/limits");
    expect(down.status).toBe(503);
    expect((await json(down))[0].errorCode).toBe("SERVER_UNAVAILABLE");
    const tokenDown = await fetch(`${sf.url}/services/oauth2/token`, { method: "POST", body: "grant_type=x" });
    expect(tokenDown.status).toBe(503);

    await control("faults", { limitExhaustedMs: 60_000 }, "PUT");
    const exhausted = await call("/limits");
    expect(exhausted.status).toBe(403);
    expect(await json(exhausted)).toEqual([
      { errorCode: "REQUEST_LIMIT_EXCEEDED", message: "TotalRequests Limit exceeded." },
    ]);
    expect(exhausted.headers.get("sforce-limit-info")).toMatch(/^api-usage=(\d+)\/\1$/);
    await control("faults", {}, "PUT");
    expect((await call("/limits")).status).toBe(200);

    const stats = await json(await fetch(`${sf.url}/__control/stats`));
    expect(stats.faults).toMatchObject({ outage: 2, limitExhausted: 1, lostAnswer: { error: 2, reset: 1 } });
    expect(stats).toMatchObject({ lostAnswers: 3, outageRefusals: 2 });
    expect((await control("faults", { outageMs: -1 }, "PUT")).status).toBe(400);
  });

  it("seeds only the objects asked for: Contacts without companies have no AccountId", async () => {
    const seeded = await json(await control("seed", { dataset: "generated", count: 300, objects: ["people"] }));
    expect(seeded).toMatchObject({ created: 300, counts: { Account: 0, Contact: 300, Opportunity: 0 } });
    const contacts = (await json(await fetch(`${sf.url}/__control/state`))).records.Contact;
    expect(contacts.filter((c: { AccountId: string | null }) => c.AccountId !== null)).toEqual([]);
    expect(new Set(contacts.map((c: { Email: string }) => c.Email)).size).toBe(300);
    await control("reset", {});
    const accounts = await json(await control("seed", { dataset: "generated", count: 300, objects: ["companies"] }));
    expect(accounts).toMatchObject({ created: 300, counts: { Account: 300, Contact: 0, Opportunity: 0 } });
    const websites = (await json(await fetch(`${sf.url}/__control/state`))).records.Account.map(
      (a: { Website: string }) => a.Website,
    );
    expect(new Set(websites).size).toBe(300);
  });

  it("text filters and external ids find records as their values change (case-insensitive, deleted via queryAll)", async () => {
    const soql = async (q: string, all = false) =>
      (await json(await call(`/${all ? "queryAll" : "query"}?q=${encodeURIComponent(q)}`))).records.map(
        (r: { Name: string }) => r.Name,
      );
    const a = (await json(await call("/sobjects/Account", "POST", { Name: "A", Website: "https://a.example" }))).id;
    const b = (await json(await call("/sobjects/Account", "POST", { Name: "B", Website: "https://b.example" }))).id;
    expect(await soql("SELECT Name FROM Account WHERE Website IN ('HTTPS://A.EXAMPLE', 'https://b.example')")).toEqual([
      "A",
      "B",
    ]);
    await call(`/sobjects/Account/${a}`, "PATCH", { Website: "https://c.example" });
    expect(await soql("SELECT Name FROM Account WHERE Website = 'https://a.example'")).toEqual([]);
    expect(await soql("SELECT Name FROM Account WHERE Website IN ('https://c.example') AND Name = 'A'")).toEqual(["A"]);
    await call(`/sobjects/Account/${b}`, "DELETE");
    expect(await soql("SELECT Name FROM Account WHERE Website = 'https://b.example'")).toEqual([]);
    expect(await soql("SELECT Name FROM Account WHERE Website = 'https://b.example'", true)).toEqual(["B"]);
    await attioId("Account");
    await call(`/sobjects/Account/${a}`, "PATCH", { Attio_Id__c: "attio-1" });
    const clash = await json(await call("/sobjects/Account", "POST", { Name: "D", Attio_Id__c: "ATTIO-1" }));
    expect(clash[0]).toMatchObject({ errorCode: "DUPLICATE_VALUE" });
    const upserted = await json(await call("/sobjects/Account/Attio_Id__c/attio-1", "PATCH", { Name: "A2" }));
    expect(upserted).toMatchObject({ id: a, created: false });
  });

  it("ORDER BY Id agrees with Id > '...': keyset paging visits every record once", async () => {
    await control("seed", { dataset: "generated", count: 1500, objects: ["people"] });
    const seen = new Set<string>();
    // The first page has no Id clause: `Id > ''` is not a valid filter (INVALID_QUERY_FILTER_OPERATOR).
    let cursor: { stamp: string; id: string } | null = null;
    for (let page = 0; page < 20; page++) {
      const stamp = cursor?.stamp.replace("+0000", "Z");
      const after = cursor
        ? `(SystemModstamp > ${stamp} OR (SystemModstamp = ${stamp} AND Id > '${cursor.id}'))`
        : "SystemModstamp >= 1970-01-01T00:00:00Z";
      const soql = `SELECT Id, SystemModstamp FROM Contact WHERE ${after} ORDER BY SystemModstamp, Id LIMIT 200`;
      const rows: { Id: string; SystemModstamp: string }[] = (
        await json(await call(`/query?q=${encodeURIComponent(soql)}`))
      ).records;
      for (const row of rows) {
        expect(seen.has(row.Id)).toBe(false);
        seen.add(row.Id);
      }
      const last = rows.at(-1);
      if (!last) break;
      cursor = { stamp: last.SystemModstamp, id: last.Id };
    }
    expect(seen.size).toBe(1500);
  });
});
