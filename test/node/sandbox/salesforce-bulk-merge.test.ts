import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCsv, writeCsv } from "../../../scripts/sandbox/salesforce/csv.ts";
import { createAttioIdFields } from "../../../scripts/sandbox/salesforce/provision.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import { json, salesforceToken } from "./helpers.ts";

let sf: SalesforceEmulator;
let token: string;
const base = () => `${sf.url}/services/data/v62.0`;
const call = (path: string, method = "GET", body?: unknown, extra: Record<string, string> = {}) =>
  fetch(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...extra },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
const control = (path: string, body: unknown, method = "POST") =>
  fetch(`${sf.url}/__control/${path}`, { method, body: JSON.stringify(body) });
const soql = (query: string) => encodeURIComponent(query);
// biome-ignore lint/suspicious/noExplicitAny: change events are asserted on freely.
const events = async (): Promise<any[]> => (await json(await fetch(`${sf.url}/__control/events`))).events;

/** Polls a job until it is terminal, at most 10 times (each poll moves it one state on). */
async function poll(kind: "ingest" | "query", id: string): Promise<{ states: string[]; job: Record<string, unknown> }> {
  const states: string[] = [];
  for (let i = 0; i < 10; i++) {
    const job = await json(await call(`/jobs/${kind}/${id}`));
    states.push(job.state);
    if (["JobComplete", "Failed", "Aborted"].includes(job.state)) return { states, job };
  }
  throw new Error(`job ${id} did not finish: ${states.join(", ")}`);
}

beforeEach(async () => {
  sf = await startSalesforceEmulator({ seed: 11, retryBaseMs: 5 });
  token = await salesforceToken(sf);
});
afterEach(async () => {
  await sf.close();
});

describe("CSV (RFC 4180)", () => {
  it("round-trips quotes, delimiters and line breaks, LF and CRLF", () => {
    const text = 'Name,Description\r\n"Acme, Inc.","said ""hi""\ntwice"\r\nPlain,\r\n';
    expect(parseCsv(text)).toEqual([
      ["Name", "Description"],
      ["Acme, Inc.", 'said "hi"\ntwice'],
      ["Plain", ""],
    ]);
    const written = writeCsv([[{ raw: "Name" }], ["a|b"], [null]], "|", "CRLF");
    expect(written).toBe('Name\r\n"a|b"\r\n\r\n');
    expect(parseCsv("a|b\n", "|")).toEqual([["a", "b"]]);
    expect(() => parseCsv('"open')).toThrow();
  });
});

describe("Bulk API 2.0 ingest", () => {
  it("runs the lifecycle with a partial failure: results, change events, API usage", async () => {
    const create = await call(
      "/jobs/ingest",
      "POST",
      { object: "Contact", operation: "insert", contentType: "CSV", lineEnding: "LF", columnDelimiter: "COMMA" },
      { "sforce-call-options": "client=attio-sfdc" },
    );
    expect(create.status).toBe(200);
    const job = await json(create);
    expect(job).toMatchObject({ object: "Contact", operation: "insert", state: "Open", contentType: "CSV" });
    expect(job.id).toMatch(/^750[A-Za-z0-9]{15}$/);
    expect(job.contentUrl).toBe(`services/data/v62.0/jobs/ingest/${job.id}/batches`);

    const csv =
      'FirstName,LastName,Email,Title\nIda,Marsh,ida@example.com,"Warden, North"\nNo,,nolast@example.com,\nBo,Lund,bo@example.com,#N/A\n';
    const upload = await call(`/jobs/ingest/${job.id}/batches`, "PUT", csv, { "content-type": "text/csv" });
    expect(upload.status).toBe(201);
    expect((await call(`/jobs/ingest/${job.id}/successfulResults/`)).status).toBe(409);
    const closed = await json(await call(`/jobs/ingest/${job.id}`, "PATCH", { state: "UploadComplete" }));
    expect(closed.state).toBe("UploadComplete");

    const { states, job: done } = await poll("ingest", job.id);
    expect(states).toEqual(["InProgress", "JobComplete"]);
    expect(done).toMatchObject({ jobType: "V2Ingest", numberRecordsProcessed: 3, numberRecordsFailed: 1 });

    const success = await call(`/jobs/ingest/${job.id}/successfulResults/`);
    expect(success.headers.get("content-type")).toBe("text/csv");
    const rows = parseCsv(await success.text());
    expect(rows[0]).toEqual(["sf__Id", "sf__Created", "FirstName", "LastName", "Email", "Title"]);
    expect(rows.slice(1).map((row) => row.slice(1))).toEqual([
      ["true", "Ida", "Marsh", "ida@example.com", "Warden, North"],
      ["true", "Bo", "Lund", "bo@example.com", "#N/A"],
    ]);
    const failed = parseCsv(await (await call(`/jobs/ingest/${job.id}/failedResults/`)).text());
    expect(failed[0]).toEqual(["sf__Id", "sf__Error", "FirstName", "LastName", "Email", "Title"]);
    expect(failed[1]?.[0]).toBe("");
    expect(failed[1]?.[1]).toBe("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --");
    const unprocessed = parseCsv(await (await call(`/jobs/ingest/${job.id}/unprocessedrecords/`)).text());
    expect(unprocessed).toEqual([["FirstName", "LastName", "Email", "Title"]]);

    // The records are real: queryable, with timestamps, and announced as bulk API changes.
    const idaId = rows[1]?.[0] ?? "";
    const ida = await json(await call(`/sobjects/Contact/${idaId}`));
    expect(ida).toMatchObject({ Name: "Ida Marsh", Title: "Warden, North", SystemModstamp: expect.any(String) });
    const created = (await events()).filter((event) => event.payload.ChangeEventHeader.changeType === "CREATE");
    expect(created).toHaveLength(2);
    expect(created[0].payload.ChangeEventHeader.changeOrigin).toBe("com/salesforce/api/bulkapi/62.0;client=attio-sfdc");
    expect(created[0].payload.ChangeEventHeader.transactionKey).toBe(
      created[1].payload.ChangeEventHeader.transactionKey,
    );
    const stats = await json(await fetch(`${sf.url}/__control/stats`));
    expect(stats.syncWrites.Contact.created).toBe(2);
    // create, upload, early results, close, two polls, three result reads, one GET: one API call each.
    expect(stats.api_usage).toBe(10);
  });

  it("updates, upserts by external id (with a parent by external id), deletes and aborts", async () => {
    // The External IDs an integration adds to a new org, through the Tooling API.
    await createAttioIdFields(sf, ["Account", "Contact"]);
    const account = await json(await call("/sobjects/Account", "POST", { Name: "Harbor", Attio_Id__c: "acc-1" }));
    const existing = await json(await call("/sobjects/Contact", "POST", { LastName: "Old", Attio_Id__c: "p-1" }));
    const run = async (spec: Record<string, unknown>, csv: string) => {
      const job = await json(await call("/jobs/ingest", "POST", { contentType: "CSV", ...spec }));
      expect((await call(`/jobs/ingest/${job.id}/batches`, "PUT", csv, { "content-type": "text/csv" })).status).toBe(
        201,
      );
      await call(`/jobs/ingest/${job.id}`, "PATCH", { state: "UploadComplete" });
      return { id: job.id as string, ...(await poll("ingest", job.id)) };
    };
    const upsert = await run(
      { object: "Contact", operation: "upsert", externalIdFieldName: "Attio_Id__c" },
      "Attio_Id__c;LastName;Account.Attio_Id__c\np-1;New;acc-1\np-2;Fresh;acc-1\np-3;Orphan;acc-404\n".replaceAll(
        ";",
        ",",
      ),
    );
    expect(upsert.job).toMatchObject({ state: "JobComplete", numberRecordsProcessed: 3, numberRecordsFailed: 1 });
    const results = parseCsv(await (await call(`/jobs/ingest/${upsert.id}/successfulResults/`)).text());
    expect(results.slice(1).map((row) => [row[0] === existing.id, row[1]])).toEqual([
      [true, "false"],
      [false, "true"],
    ]);
    const linked = await json(
      await call(`/query?q=${soql("SELECT LastName, AccountId FROM Contact WHERE Attio_Id__c IN ('p-1','p-2')")}`),
    );
    expect(linked.records.map((r: { AccountId: string }) => r.AccountId)).toEqual([account.id, account.id]);
    const orphan = parseCsv(await (await call(`/jobs/ingest/${upsert.id}/failedResults/`)).text())[1];
    expect(orphan?.[1]).toMatch(/^INVALID_FIELD:Foreign key external ID: acc-404 not found/);

    const update = await run(
      { object: "Contact", operation: "update" },
      `Id,Title\n${existing.id},Chief\n001000000000000AAA,X\n`,
    );
    expect(update.job).toMatchObject({ numberRecordsProcessed: 2, numberRecordsFailed: 1 });
    expect((await json(await call(`/sobjects/Contact/${existing.id}`))).Title).toBe("Chief");

    const remove = await run({ object: "Contact", operation: "delete" }, `Id\n${existing.id}\n`);
    expect(remove.job).toMatchObject({ state: "JobComplete", numberRecordsFailed: 0 });
    expect((await call(`/sobjects/Contact/${existing.id}`)).status).toBe(404);

    const badColumn = await run({ object: "Contact", operation: "insert" }, "LastName,Nope__c\nA,B\n");
    expect(badColumn.job).toMatchObject({
      state: "Failed",
      errorMessage: "InvalidBatch : Field name not found : Nope__c",
    });
    const unprocessed = parseCsv(await (await call(`/jobs/ingest/${badColumn.id}/unprocessedrecords/`)).text());
    expect(unprocessed).toEqual([
      ["LastName", "Nope__c"],
      ["A", "B"],
    ]);

    const aborted = await json(await call("/jobs/ingest", "POST", { object: "Account", operation: "insert" }));
    const abort = await json(await call(`/jobs/ingest/${aborted.id}`, "PATCH", { state: "Aborted" }));
    expect(abort.state).toBe("Aborted");
    expect(
      (await call(`/jobs/ingest/${aborted.id}/batches`, "PUT", "Name\nX\n", { "content-type": "text/csv" })).status,
    ).toBe(409);
    expect((await call(`/jobs/ingest/${aborted.id}`, "DELETE")).status).toBe(204);
    expect((await call(`/jobs/ingest/${aborted.id}`)).status).toBe(404);

    // One upload per job: Salesforce takes a second PUT, then refuses to close the job.
    const twice = await json(await call("/jobs/ingest", "POST", { object: "Account", operation: "insert" }));
    for (const csv of ["Name\nA\n", "Name\nB\n"]) {
      expect((await call(`/jobs/ingest/${twice.id}/batches`, "PUT", csv, { "content-type": "text/csv" })).status).toBe(
        201,
      );
    }
    const close = await call(`/jobs/ingest/${twice.id}`, "PATCH", { state: "UploadComplete" });
    expect(close.status).toBe(400);
    const [closeError] = await json(close);
    expect(closeError.errorCode).toBe("INVALIDJOB");
    expect(closeError.message).toMatch(/^Found multipe contents for job: <750\w+>, please 'Close' \/ 'Abort'/);
    expect((await json(await call(`/jobs/ingest/${twice.id}`, "PATCH", { state: "Aborted" }))).state).toBe("Aborted");

    const invalid = await call("/jobs/ingest", "POST", { object: "Contact", operation: "upsert" });
    expect(invalid.status).toBe(400);
    expect((await json(invalid))[0].errorCode).toBe("INVALIDJOB");
  });
});

describe("Bulk API 2.0 query", () => {
  it("pages CSV results with Sforce-Locator until 'null', queryAll includes deleted rows", async () => {
    const names = Array.from({ length: 7 }, (_, i) => `Bulk ${i}, Ltd`);
    const ids: string[] = [];
    for (const name of names) ids.push((await json(await call("/sobjects/Account", "POST", { Name: name }))).id);
    await call(`/sobjects/Account/${ids[6]}`, "DELETE");
    const job = await json(
      await call("/jobs/query", "POST", {
        operation: "query",
        query: "SELECT Id, Name, Owner.Name, Website FROM Account WHERE Name LIKE 'Bulk%' ORDER BY Name",
      }),
    );
    expect(job).toMatchObject({ operation: "query", object: "Account", state: "UploadComplete" });
    expect((await call(`/jobs/query/${job.id}/results`)).status).toBe(409);
    const { states, job: done } = await poll("query", job.id);
    expect(states).toEqual(["InProgress", "JobComplete"]);
    expect(done).toMatchObject({ jobType: "V2Query", numberRecordsProcessed: 6 });

    const pages: string[][][] = [];
    let locator = "";
    for (let i = 0; i < 10; i++) {
      const response = await call(`/jobs/query/${job.id}/results?maxRecords=4${locator ? `&locator=${locator}` : ""}`);
      expect(response.headers.get("content-type")).toBe("text/csv");
      const text = await response.text();
      pages.push(parseCsv(text));
      expect(response.headers.get("sforce-numberofrecords")).toBe(String((pages.at(-1)?.length ?? 1) - 1));
      locator = response.headers.get("sforce-locator") ?? "null";
      if (i === 0) expect(text.startsWith('"Id","Name","Owner.Name","Website"\n')).toBe(true);
      if (locator === "null") break;
    }
    expect(pages.map((page) => page.length - 1)).toEqual([4, 2]);
    const rows = pages.flatMap((page) => page.slice(1));
    expect(rows.map((row) => row[1])).toEqual(names.slice(0, 6));
    expect(rows[0]?.[2]).toBe("Integration User");
    expect(rows[0]?.[3]).toBe("");
    // A results request in another API version than the job's is refused.
    const otherVersion = await fetch(`${sf.url}/services/data/v61.0/jobs/query/${job.id}/results`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(otherVersion.status).toBe(409);

    const all = await json(
      await call("/jobs/query", "POST", {
        operation: "queryAll",
        query: "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true",
      }),
    );
    await poll("query", all.id);
    const deleted = parseCsv(await (await call(`/jobs/query/${all.id}/results`)).text());
    expect(deleted).toEqual([
      ["Id", "IsDeleted"],
      [ids[6], "true"],
    ]);

    const compound = await call("/jobs/query", "POST", {
      operation: "query",
      query: "SELECT BillingAddress FROM Account",
    });
    expect((await json(compound))[0].errorCode).toBe("FUNCTIONALITY_NOT_ENABLED");
  });
});

describe("Merges (control API, as a user in Lightning)", () => {
  it("deletes losers with MasterRecordId, re-parents children and publishes DELETE and UPDATE events", async () => {
    const master = (await json(await call("/sobjects/Account", "POST", { Name: "Harborlight" }))).id;
    const loserA = (await json(await call("/sobjects/Account", "POST", { Name: "Harborlight Inc" }))).id;
    const loserB = (await json(await call("/sobjects/Account", "POST", { Name: "Harborlight LLC" }))).id;
    const contact = (await json(await call("/sobjects/Contact", "POST", { LastName: "Moved", AccountId: loserA }))).id;
    const stay = (await json(await call("/sobjects/Contact", "POST", { LastName: "Stays", AccountId: master }))).id;
    const opportunity = (
      await json(
        await call("/sobjects/Opportunity", "POST", {
          Name: "Deal",
          StageName: "Prospecting",
          CloseDate: "2026-01-31",
          AccountId: loserB,
        }),
      )
    ).id;
    const before = (await events()).length;
    const usage = (await json(await fetch(`${sf.url}/__control/stats`))).api_usage;

    const merged = await control("merge", {
      object: "Account",
      master_id: master,
      loser_ids: [loserA, loserB],
      fields: { Website: "https://harborlight.example" },
    });
    expect(merged.status).toBe(200);
    // A merge in Lightning is not an API call of the integration.
    expect((await json(await fetch(`${sf.url}/__control/stats`))).api_usage).toBe(usage);
    expect((await json(merged)).master).toMatchObject({ Id: master, Website: "https://harborlight.example" });

    // The sync engine's query, through queryAll, with 15- and 18-character ids.
    const query = `SELECT Id, MasterRecordId FROM Account WHERE IsDeleted = true AND Id IN ('${loserA}', '${loserB.slice(0, 15)}', '${master}')`;
    const all = await json(await call(`/queryAll?q=${soql(query)}`));
    expect(all.records.map((r: { Id: string; MasterRecordId: string }) => [r.Id, r.MasterRecordId])).toEqual([
      [loserA, master],
      [loserB, master],
    ]);
    expect((await json(await call(`/query?q=${soql(query)}`))).totalSize).toBe(0);
    const full = await json(
      await call(`/queryAll?q=${soql(`SELECT Id, MasterRecordId, IsDeleted FROM Account WHERE Id = '${master}'`)}`),
    );
    expect(full.records[0]).toMatchObject({ MasterRecordId: null, IsDeleted: false });
    const window = `start=${encodeURIComponent(new Date(Date.now() - 60_000).toISOString())}&end=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`;
    const deleted = await json(await call(`/sobjects/Account/deleted/?${window}`));
    expect(deleted.deletedRecords.map((r: { id: string }) => r.id).sort()).toEqual([loserA, loserB].sort());

    expect((await json(await call(`/sobjects/Contact/${contact}`))).AccountId).toBe(master);
    expect((await json(await call(`/sobjects/Opportunity/${opportunity}`))).AccountId).toBe(master);

    const published = (await events()).slice(before);
    const summary = published.map((event) => {
      const header = event.payload.ChangeEventHeader;
      return [header.entityName, header.changeType, header.recordIds[0]];
    });
    expect(summary).toEqual([
      ["Account", "DELETE", loserA],
      ["Account", "DELETE", loserB],
      ["Contact", "UPDATE", contact],
      ["Opportunity", "UPDATE", opportunity],
      ["Account", "UPDATE", master],
    ]);
    expect(summary.some(([, , id]) => id === stay)).toBe(false);
    const headers = published.map((event) => event.payload.ChangeEventHeader);
    expect(new Set(headers.map((header) => header.transactionKey)).size).toBe(1);
    expect(headers.map((header) => header.sequenceNumber)).toEqual([1, 2, 3, 4, 5]);
    expect(headers[0].changeOrigin).toContain("client=SfdcInternalAPI/");
    expect(published[2].payload.AccountId).toBe(master);
    expect(headers[2].changedFields).toEqual(expect.arrayContaining(["AccountId", "LastModifiedDate"]));
    expect(headers[4].changedFields).toEqual(expect.arrayContaining(["Website", "LastModifiedDate"]));
  });

  it("merges Contacts and refuses invalid merges without writing anything", async () => {
    const a = (await json(await call("/sobjects/Contact", "POST", { LastName: "Keep" }))).id;
    const b = (await json(await call("/sobjects/Contact", "POST", { LastName: "Lose" }))).id;
    const account = (await json(await call("/sobjects/Account", "POST", { Name: "A" }))).id;
    const before = (await events()).length;
    for (const body of [
      { object: "Contact", master_id: a, loser_ids: [a] },
      { object: "Contact", master_id: a, loser_ids: [account] },
      { object: "Opportunity", master_id: a, loser_ids: [b] },
      { object: "Contact", master_id: a, loser_ids: [b, b] },
    ]) {
      expect((await control("merge", body)).status).toBe(400);
    }
    expect((await events()).length).toBe(before);
    expect((await control("merge", { object: "Contact", master_id: a, loser_ids: [b] })).status).toBe(200);
    const rows = await json(
      await call(
        `/queryAll?q=${soql(`SELECT Id, MasterRecordId FROM Contact WHERE IsDeleted = true AND Id IN ('${b}')`)}`,
      ),
    );
    expect(rows.records).toEqual([
      { attributes: { type: "Contact", url: `/services/data/v62.0/sobjects/Contact/${b}` }, Id: b, MasterRecordId: a },
    ]);
    expect((await control("merge", { object: "Contact", master_id: a, loser_ids: [b] })).status).toBe(400);
  });
});
