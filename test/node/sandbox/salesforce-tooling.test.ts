import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCsv } from "../../../scripts/sandbox/salesforce/csv.ts";
import {
  createCustomField,
  createCustomObject,
  picklistValueSet,
  ToolingError,
} from "../../../scripts/sandbox/salesforce/provision.ts";
import { type SalesforceEmulator, startSalesforceEmulator } from "../../../scripts/sandbox/salesforce/server.ts";
import { json, salesforceToken } from "./helpers.ts";

/**
 * The emulator starts as a new org (standard objects and fields only) and is customised the way an
 * admin or an integration customises a real one: through the Tooling API. What is created is usable
 * at once everywhere: describe, SOQL, REST writes, sObject Collections, Bulk API 2.0, change events.
 */

let sf: SalesforceEmulator;
let token: string;
const base = () => `${sf.url}/services/data/v62.0`;
const call = (path: string, method = "GET", body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base()}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
const query = async (soql: string) => json(await call(`/query?q=${encodeURIComponent(soql)}`));
const tooling = (type: string, body: unknown) => call(`/tooling/sobjects/${type}`, "POST", body);
// biome-ignore lint/suspicious/noExplicitAny: describe results are asserted on freely.
const fieldOf = async (object: string, name: string): Promise<any> =>
  (await json(await call(`/sobjects/${object}/describe`))).fields.find((f: { name: string }) => f.name === name);
// biome-ignore lint/suspicious/noExplicitAny: change events are asserted on freely.
const events = async (): Promise<any[]> => (await json(await fetch(`${sf.url}/__control/events`))).events;

const PROJECT = {
  label: "Project",
  pluralLabel: "Projects",
  nameField: { type: "Text" as const, label: "Project Name" },
  deploymentStatus: "Deployed" as const,
  sharingModel: "ReadWrite",
};

beforeEach(async () => {
  sf = await startSalesforceEmulator({ seed: 5, retryBaseMs: 5 });
  token = await salesforceToken(sf);
});
afterEach(async () => {
  await sf.close();
});

async function expectError(response: Response, status: number, errorCode: string): Promise<string> {
  expect(response.status).toBe(status);
  const [error] = await json(response);
  expect(error.errorCode).toBe(errorCode);
  return error.message;
}

describe("a fresh emulator is a new org", () => {
  it("has no custom field and no custom object: no Attio_Id__c, no LinkedIn__c, no Project__c", async () => {
    for (const object of ["Account", "Contact", "Opportunity", "User"]) {
      const described = await json(await call(`/sobjects/${object}/describe`));
      expect(described.custom).toBe(false);
      expect(
        described.fields.filter((f: { custom: boolean; name: string }) => f.custom || f.name.endsWith("__c")),
      ).toEqual([]);
    }
    expect(await fieldOf("Account", "Attio_Id__c")).toBeUndefined();
    expect(await fieldOf("Contact", "LinkedIn__c")).toBeUndefined();
    const global = await json(await call("/sobjects"));
    expect(global.sobjects.map((s: { name: string }) => s.name)).toEqual(["Account", "Contact", "Opportunity", "User"]);
    await expectError(await call(`/query?q=${encodeURIComponent("SELECT Id FROM Project__c")}`), 400, "INVALID_TYPE");
    await expectError(
      await call(`/query?q=${encodeURIComponent("SELECT Attio_Id__c FROM Account")}`),
      400,
      "INVALID_FIELD",
    );
    await expectError(await call("/sobjects/Account/Attio_Id__c/abc", "PATCH", { Name: "X" }), 404, "NOT_FOUND");
    // Standard fields a new org has (shipping address, fax, opt-outs) are there.
    expect(await fieldOf("Account", "ShippingCity")).toMatchObject({ type: "string", custom: false });
    expect(await fieldOf("Account", "ShippingAddress")).toMatchObject({ type: "address", filterable: false });
    expect(await fieldOf("Contact", "HasOptedOutOfEmail")).toMatchObject({
      type: "boolean",
      nillable: false,
      defaultedOnCreate: true,
    });
    expect(await fieldOf("Opportunity", "ContactId")).toMatchObject({ type: "reference", referenceTo: ["Contact"] });
  });
});

describe("Tooling API: custom fields", () => {
  it("creates a field (201 with the save result), usable at once in describe, writes, SOQL and change events", async () => {
    const created = await tooling("CustomField", {
      FullName: "Contact.LinkedIn__c",
      Metadata: { label: "LinkedIn", type: "Url", description: "Profile URL" },
    });
    expect(created.status).toBe(201);
    const result = await json(created);
    expect(Object.keys(result).sort()).toEqual(["errors", "id", "infos", "success", "warnings"]);
    expect(result).toMatchObject({ success: true, errors: [], warnings: [], infos: [] });
    expect(result.id).toMatch(/^00N[A-Za-z0-9]{15}$/);

    expect(await fieldOf("Contact", "LinkedIn__c")).toMatchObject({
      label: "LinkedIn",
      type: "url",
      length: 255,
      custom: true,
      nillable: true,
      createable: true,
      updateable: true,
      externalId: false,
    });
    const read = await json(await call(`/tooling/sobjects/CustomField/${result.id}`));
    expect(read).toMatchObject({
      Id: result.id,
      FullName: "Contact.LinkedIn__c",
      DeveloperName: "LinkedIn",
      TableEnumOrId: "Contact",
    });

    const contact = await json(
      await call("/sobjects/Contact", "POST", { LastName: "Okoro", LinkedIn__c: "https://linkedin.example/okoro" }),
    );
    expect((await json(await call(`/sobjects/Contact/${contact.id}`))).LinkedIn__c).toBe(
      "https://linkedin.example/okoro",
    );
    const found = await query("SELECT LastName, LinkedIn__c FROM Contact WHERE LinkedIn__c LIKE '%okoro'");
    expect(found.records).toEqual([
      expect.objectContaining({ LastName: "Okoro", LinkedIn__c: "https://linkedin.example/okoro" }),
    ]);
    await call(`/sobjects/Contact/${contact.id}`, "PATCH", { LinkedIn__c: "https://linkedin.example/okoro2" });
    const [create, update] = await events();
    expect(create.payload.LinkedIn__c).toBe("https://linkedin.example/okoro");
    expect(update.payload.ChangeEventHeader.changedFields).toContain("LinkedIn__c");

    // A second field of the same name (in any case) is refused.
    const again = await tooling("CustomField", {
      FullName: "Contact.linkedin__c",
      Metadata: { label: "Again", type: "Url" },
    });
    expect(await expectError(again, 400, "DUPLICATE_DEVELOPER_NAME")).toBe(
      "There is already a field named linkedin on Contact.",
    );
  });

  it("creates an External ID that upserts, collections and Bulk API 2.0 use, unique case-insensitively", async () => {
    await createCustomField(sf, "Account.Attio_Id__c", { type: "Text", length: 36, externalId: true, unique: true });
    expect(await fieldOf("Account", "Attio_Id__c")).toMatchObject({
      label: "Attio Id",
      type: "string",
      length: 36,
      externalId: true,
      unique: true,
      custom: true,
    });
    const upsert = await call("/sobjects/Account/Attio_Id__c/rec-1", "PATCH", { Name: "Harbor" });
    expect(upsert.status).toBe(201);
    const clash = await call("/sobjects/Account", "POST", { Name: "Copy", Attio_Id__c: "REC-1" });
    await expectError(clash, 400, "DUPLICATE_VALUE");
    await expectError(
      await call("/sobjects/Account", "POST", { Name: "Long", Attio_Id__c: "x".repeat(37) }),
      400,
      "STRING_TOO_LONG",
    );
    const collection = await json(
      await call("/composite/sobjects/Account/Attio_Id__c", "PATCH", {
        records: [
          { attributes: { type: "Account" }, Attio_Id__c: "rec-1", Name: "Harbor, renamed" },
          { attributes: { type: "Account" }, Attio_Id__c: "rec-2", Name: "Pier" },
        ],
      }),
    );
    expect(collection.map((r: { created: boolean }) => r.created)).toEqual([false, true]);

    const job = await json(
      await call("/jobs/ingest", "POST", {
        object: "Account",
        operation: "upsert",
        externalIdFieldName: "Attio_Id__c",
      }),
    );
    await call(`/jobs/ingest/${job.id}/batches`, "PUT", "Attio_Id__c,Name\nrec-2,Pier 2\nrec-3,Quay\n", {
      "content-type": "text/csv",
    });
    await call(`/jobs/ingest/${job.id}`, "PATCH", { state: "UploadComplete" });
    await call(`/jobs/ingest/${job.id}`);
    expect((await json(await call(`/jobs/ingest/${job.id}`))).state).toBe("JobComplete");
    const results = parseCsv(await (await call(`/jobs/ingest/${job.id}/successfulResults/`)).text());
    expect(results.slice(1).map((row) => row[1])).toEqual(["false", "true"]);
    const names = await query(
      "SELECT Name FROM Account WHERE Attio_Id__c IN ('rec-1', 'REC-2', 'rec-3') ORDER BY Name",
    );
    expect(names.records.map((r: { Name: string }) => r.Name)).toEqual(["Harbor, renamed", "Pier 2", "Quay"]);
  });

  it("supports the documented types with their attributes and refuses what Salesforce refuses", async () => {
    await createCustomField(sf, "Account.Score__c", { type: "Number", precision: 5, scale: 2 });
    await createCustomField(sf, "Account.Budget__c", { type: "Currency", precision: 18, scale: 2 });
    await createCustomField(sf, "Account.Share__c", { type: "Percent", precision: 5, scale: 2 });
    await createCustomField(sf, "Account.Notes__c", { type: "LongTextArea", length: 32768, visibleLines: 5 });
    await createCustomField(sf, "Account.Short_Note__c", { type: "TextArea" });
    await createCustomField(sf, "Account.Contact_Email__c", { type: "Email", externalId: true });
    await createCustomField(sf, "Account.Hotline__c", { type: "Phone" });
    await createCustomField(sf, "Account.Founded__c", { type: "Date" });
    await createCustomField(sf, "Account.Audited_At__c", { type: "DateTime" });
    await createCustomField(sf, "Account.Active__c", { type: "Checkbox", defaultValue: "true" });
    await createCustomField(sf, "Account.Tier__c", {
      type: "Picklist",
      required: true,
      valueSet: {
        restricted: true,
        valueSetDefinition: {
          value: [
            { fullName: "Gold", default: true, label: "Gold tier" },
            { fullName: "Silver", default: false },
          ],
        },
      },
    });
    expect(await fieldOf("Account", "Score__c")).toMatchObject({ type: "double", precision: 5, scale: 2 });
    expect(await fieldOf("Account", "Budget__c")).toMatchObject({ type: "currency", precision: 18, scale: 2 });
    expect(await fieldOf("Account", "Share__c")).toMatchObject({ type: "percent" });
    expect(await fieldOf("Account", "Notes__c")).toMatchObject({ type: "textarea", length: 32768, filterable: false });
    expect(await fieldOf("Account", "Short_Note__c")).toMatchObject({
      type: "textarea",
      length: 255,
      filterable: true,
    });
    expect(await fieldOf("Account", "Contact_Email__c")).toMatchObject({ type: "email", externalId: true });
    expect(await fieldOf("Account", "Active__c")).toMatchObject({
      type: "boolean",
      nillable: false,
      defaultedOnCreate: true,
      defaultValue: true,
    });
    expect(await fieldOf("Account", "Tier__c")).toMatchObject({
      type: "picklist",
      restrictedPicklist: true,
      nillable: false,
      defaultedOnCreate: true,
      picklistValues: [
        { value: "Gold", label: "Gold tier", defaultValue: true, active: true, validFor: null },
        { value: "Silver", label: "Silver", defaultValue: false, active: true, validFor: null },
      ],
    });

    const created = await json(await call("/sobjects/Account", "POST", { Name: "Typed", Score__c: 123.45 }));
    expect(await json(await call(`/sobjects/Account/${created.id}?fields=Active__c,Tier__c,Score__c`))).toMatchObject({
      Active__c: true,
      Tier__c: "Gold",
      Score__c: 123.45,
    });
    await expectError(
      await call("/sobjects/Account", "POST", { Name: "Big", Score__c: 1000 }),
      400,
      "NUMBER_OUTSIDE_VALID_RANGE",
    );
    await expectError(
      await call("/sobjects/Account", "POST", { Name: "Odd", Tier__c: "Bronze" }),
      400,
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    );
    await expectError(
      await call(`/sobjects/Account/${created.id}`, "PATCH", { Tier__c: null }),
      400,
      "REQUIRED_FIELD_MISSING",
    );
    await expectError(
      await call("/sobjects/Account", "POST", { Name: "Bad date", Founded__c: "2020-13" }),
      400,
      "INVALID_TYPE_ON_FIELD_IN_RECORD",
    );
    const typed = await query(
      "SELECT Name FROM Account WHERE Active__c = true AND Score__c > 100 AND Audited_At__c = null AND Founded__c = null",
    );
    expect(typed.totalSize).toBe(1);

    const refused = async (body: unknown, code: string) => expectError(await tooling("CustomField", body), 400, code);
    expect(
      await refused(
        { FullName: "Account.Code__c", Metadata: { label: "Code", type: "Text" } },
        "FIELD_INTEGRITY_EXCEPTION",
      ),
    ).toBe("Must specify 'length' for a CustomField of type Text");
    await refused(
      { FullName: "Account.Code__c", Metadata: { label: "Code", type: "Text", length: 256 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused({ FullName: "Account.Code__c", Metadata: { label: "Code", type: "Colour" } }, "JSON_PARSER_ERROR");
    await refused({ FullName: "Account.Code__c", Metadata: { type: "Text", length: 10 } }, "REQUIRED_FIELD_MISSING");
    await refused(
      { FullName: "Account.Code", Metadata: { label: "Code", type: "Text", length: 10 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.2Code__c", Metadata: { label: "Code", type: "Text", length: 10 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Co__de__c", Metadata: { label: "Code", type: "Text", length: 10 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Nope__c.Code__c", Metadata: { label: "Code", type: "Text", length: 10 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Site__c", Metadata: { label: "Site", type: "Url", externalId: true } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Amount__c", Metadata: { label: "Amount", type: "Number", precision: 19, scale: 0 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Flag__c", Metadata: { label: "Flag", type: "Checkbox" } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Notes2__c", Metadata: { label: "Notes", type: "LongTextArea", length: 1000 } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Kind__c", Metadata: { label: "Kind", type: "Picklist" } },
      "FIELD_INTEGRITY_EXCEPTION",
    );
    await refused(
      { FullName: "Account.Code__c", Metadata: { label: "Code", type: "Text", length: 10 }, Extra: 1 },
      "INVALID_FIELD",
    );
    await refused({ Metadata: { label: "Code", type: "Text", length: 10 } }, "REQUIRED_FIELD_MISSING");
    expect(await fieldOf("Account", "Code__c")).toBeUndefined();

    // The helper reports Salesforce's answer when it is not 201.
    await expect(
      createCustomField(sf, "Account.Score__c", { type: "Number", precision: 5, scale: 2 }),
    ).rejects.toBeInstanceOf(ToolingError);
  });
});

describe("Tooling API: custom objects", () => {
  it("creates an object with system fields, Name and a key prefix; CRUD, SOQL, collections, Bulk and CDC work on it", async () => {
    const created = await tooling("CustomObject", { FullName: "Project__c", Metadata: PROJECT });
    expect(created.status).toBe(201);
    const result = await json(created);
    expect(result).toMatchObject({ success: true, errors: [], warnings: [], infos: [] });
    expect(result.id).toMatch(/^01I[A-Za-z0-9]{15}$/);
    await expectError(
      await tooling("CustomObject", { FullName: "project__c", Metadata: PROJECT }),
      400,
      "DUPLICATE_DEVELOPER_NAME",
    );

    const described = await json(await call("/sobjects/Project__c/describe"));
    expect(described).toMatchObject({
      name: "Project__c",
      label: "Project",
      labelPlural: "Projects",
      custom: true,
      keyPrefix: "a00",
    });
    expect(described.fields.map((f: { name: string }) => f.name)).toEqual([
      "Id",
      "IsDeleted",
      "CreatedDate",
      "CreatedById",
      "LastModifiedDate",
      "LastModifiedById",
      "SystemModstamp",
      "OwnerId",
      "Name",
    ]);
    const global = await json(await call("/sobjects"));
    expect(global.sobjects.find((s: { name: string }) => s.name === "Project__c")).toMatchObject({
      custom: true,
      keyPrefix: "a00",
    });

    await createCustomField(sf, "Project__c.Code__c", { type: "Text", length: 20, externalId: true, unique: true });
    await createCustomField(sf, "Project__c.Status__c", {
      type: "Picklist",
      valueSet: picklistValueSet(["Planned", "Active", "Done"], { restricted: true }),
    });
    await createCustomField(sf, "Project__c.Account__c", {
      type: "Lookup",
      referenceTo: "Account",
      relationshipName: "Account",
      relationshipLabel: "Projects",
    });
    expect(await fieldOf("Project__c", "Account__c")).toMatchObject({
      type: "reference",
      referenceTo: ["Account"],
      relationshipName: "Account__r",
    });

    const account = await json(await call("/sobjects/Account", "POST", { Name: "Harbor Logistics" }));
    const project = await json(
      await call("/sobjects/Project__c", "POST", {
        Name: "Pier rebuild",
        Code__c: "HS-1",
        Status__c: "Planned",
        Account__c: account.id,
      }),
    );
    expect(project.id).toMatch(/^a00[A-Za-z0-9]{15}$/);
    const unnamed = await json(await call("/sobjects/Project__c", "POST", { Code__c: "HS-2" }));
    expect((await json(await call(`/sobjects/Project__c/${unnamed.id}`))).Name).toBe(unnamed.id);
    await call(`/sobjects/Project__c/${project.id}`, "PATCH", { Status__c: "Active" });
    const rows = await query(
      `SELECT Name, Status__c, Account__r.Name, OwnerId FROM Project__c WHERE Account__c = '${account.id}' AND Code__c = 'hs-1'`,
    );
    expect(rows.records).toEqual([
      expect.objectContaining({
        Name: "Pier rebuild",
        Status__c: "Active",
        Account__r: expect.objectContaining({ Name: "Harbor Logistics" }),
        OwnerId: expect.stringMatching(/^005/),
      }),
    ]);
    await expectError(
      await call("/sobjects/Project__c", "POST", { Name: "Bad", Status__c: "Someday" }),
      400,
      "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    );
    await expectError(
      await call("/sobjects/Project__c", "POST", { Name: "Bad lookup", Account__c: project.id }),
      400,
      "MALFORMED_ID",
    );

    const upserted = await json(
      await call("/composite/sobjects/Project__c/Code__c", "PATCH", {
        records: [
          { attributes: { type: "Project__c" }, Code__c: "HS-2", Name: "Quay" },
          { attributes: { type: "Project__c" }, Code__c: "HS-3", Name: "Dock" },
        ],
      }),
    );
    expect(upserted.map((r: { created: boolean }) => r.created)).toEqual([false, true]);

    const job = await json(await call("/jobs/ingest", "POST", { object: "Project__c", operation: "insert" }));
    await call(`/jobs/ingest/${job.id}/batches`, "PUT", "Name,Code__c,Account__r.Id\nSlip,HS-4,\n", {
      "content-type": "text/csv",
    });
    await call(`/jobs/ingest/${job.id}`, "PATCH", { state: "UploadComplete" });
    await call(`/jobs/ingest/${job.id}`);
    expect(await json(await call(`/jobs/ingest/${job.id}`))).toMatchObject({
      state: "JobComplete",
      numberRecordsFailed: 0,
    });

    await call(`/sobjects/Project__c/${unnamed.id}`, "DELETE");
    expect(
      (await query("SELECT Name FROM Project__c ORDER BY Name")).records.map((r: { Name: string }) => r.Name),
    ).toEqual(["Dock", "Pier rebuild", "Slip"]);
    const entities = (await events()).map(
      (e) => `${e.payload.ChangeEventHeader.entityName} ${e.payload.ChangeEventHeader.changeType}`,
    );
    expect(entities).toContain("Project__c CREATE");
    expect(entities).toContain("Project__c UPDATE");
    expect(entities).toContain("Project__c DELETE");
    const state = await json(await fetch(`${sf.url}/__control/state`));
    expect(state.counts.Project__c).toBe(3);
  });

  it("numbers an AutoNumber name, gives later objects the next key prefix, and refuses bad definitions", async () => {
    await createCustomObject(sf, "Ticket__c", {
      label: "Ticket",
      pluralLabel: "Tickets",
      nameField: { type: "AutoNumber", label: "Ticket Number", displayFormat: "T-{0000}" },
      deploymentStatus: "Deployed",
      sharingModel: "Private",
    });
    await createCustomObject(sf, "Project__c", PROJECT);
    expect((await json(await call("/sobjects/Project__c/describe"))).keyPrefix).toBe("a01");
    expect(await fieldOf("Ticket__c", "Name")).toMatchObject({ createable: false, autoNumber: true });
    const first = await json(await call("/sobjects/Ticket__c", "POST", {}));
    const second = await json(await call("/sobjects/Ticket__c", "POST", {}));
    const names = await query(`SELECT Name FROM Ticket__c WHERE Id IN ('${first.id}', '${second.id}') ORDER BY Name`);
    expect(names.records.map((r: { Name: string }) => r.Name)).toEqual(["T-0001", "T-0002"]);
    await expectError(
      await call("/sobjects/Ticket__c", "POST", { Name: "Mine" }),
      400,
      "INVALID_FIELD_FOR_INSERT_UPDATE",
    );

    const refused = async (fullName: string, metadata: Record<string, unknown>) =>
      expectError(
        await tooling("CustomObject", { FullName: fullName, Metadata: metadata }),
        400,
        "FIELD_INTEGRITY_EXCEPTION",
      );
    await refused("Vessel", PROJECT);
    await refused("Vessel__c", { ...PROJECT, pluralLabel: undefined });
    await refused("Vessel__c", { ...PROJECT, nameField: undefined });
    await refused("Vessel__c", { ...PROJECT, sharingModel: "ControlledByParent" });
    await refused("Vessel__c", { ...PROJECT, nameField: { type: "AutoNumber", label: "No", displayFormat: "V-" } });
    await refused("Vessel__c", { ...PROJECT, nameField: { type: "Number", label: "No" } });
    expect((await json(await call("/sobjects"))).sobjects.map((s: { name: string }) => s.name)).not.toContain(
      "Vessel__c",
    );
  });

  it("keeps the org's metadata across a data reset unless asked to start a new org", async () => {
    await createCustomObject(sf, "Project__c", PROJECT);
    await createCustomField(sf, "Account.Attio_Id__c", { type: "Text", length: 36, externalId: true, unique: true });
    await call("/sobjects/Account/Attio_Id__c/a-1", "PATCH", { Name: "Before reset" });
    await fetch(`${sf.url}/__control/reset`, { method: "POST", body: "{}" });
    expect((await query("SELECT Id FROM Account")).totalSize).toBe(0);
    expect(await fieldOf("Account", "Attio_Id__c")).toMatchObject({ externalId: true });
    expect((await query("SELECT Id FROM Project__c")).totalSize).toBe(0);
    await fetch(`${sf.url}/__control/reset`, { method: "POST", body: JSON.stringify({ reset_metadata: true }) });
    expect(await fieldOf("Account", "Attio_Id__c")).toBeUndefined();
    expect((await call("/sobjects/Project__c/describe")).status).toBe(404);
  });
});
