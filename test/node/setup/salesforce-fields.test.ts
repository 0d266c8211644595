import { afterEach, describe, expect, it, vi } from "vitest";
import { PERMISSION_SET, SalesforceSetupClient } from "../../../scripts/setup/salesforce.ts";

const LOGIN = "https://acme.my.salesforce.test";
const INSTANCE = "https://acme.my.salesforce.test";
const USER = "005000000000001AAA";

/**
 * An org where a new field is invisible to the integration user until a permission set grants it,
 * as in Salesforce (the emulator shows new fields at once). Answers in the REST API's shapes.
 */
function fieldSecurityOrg() {
  const fields = new Set<string>(); // objects with the field
  const sets: { Id: string; Name: string }[] = [];
  const fieldPermissions: { ParentId: string; SobjectType: string }[] = [];
  const assignments: { PermissionSetId: string; AssigneeId: string }[] = [];
  const writes: string[] = [];
  const visible = (object: string) =>
    fields.has(object) &&
    fieldPermissions.some(
      (fp) =>
        fp.SobjectType === object &&
        assignments.some((a) => a.PermissionSetId === fp.ParentId && a.AssigneeId === USER),
    );
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  const handler = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = init?.method ?? "GET";
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as Record<string, unknown>) : {};
    if (url.pathname === "/services/oauth2/token") {
      return json(200, {
        access_token: "00D!token",
        instance_url: INSTANCE,
        id: `${LOGIN}/id/00D000000000001/${USER}`,
      });
    }
    const path = url.pathname.replace(/^\/services\/data\/v62\.0/, "");
    const describe = path.match(/^\/sobjects\/(\w+)\/describe$/);
    if (describe?.[1]) {
      const object = describe[1];
      return json(200, {
        fields: visible(object) ? [{ name: "Attio_Record_Id__c", externalId: true }] : [{ name: "Id" }],
      });
    }
    if (path === "/tooling/sobjects/CustomField" && method === "POST") {
      const object = String(body["FullName"]).split(".")[0] ?? "";
      if (fields.has(object)) return json(400, [{ errorCode: "DUPLICATE_DEVELOPER_NAME", message: "exists" }]);
      fields.add(object);
      writes.push(`field ${object}`);
      return json(201, { id: `00N${fields.size}`, success: true, errors: [] });
    }
    if (path === "/query") {
      const q = url.searchParams.get("q") ?? "";
      if (q.includes("FROM PermissionSet WHERE")) return json(200, { records: sets.map((s) => ({ Id: s.Id })) });
      if (q.includes("FROM FieldPermissions")) return json(200, { records: fieldPermissions });
      if (q.includes("FROM PermissionSetAssignment")) return json(200, { records: assignments });
    }
    const create = path.match(/^\/sobjects\/(\w+)$/);
    if (create?.[1] && method === "POST") {
      writes.push(create[1]);
      if (create[1] === "PermissionSet") {
        sets.push({ Id: "0PS000000000001", Name: String(body["Name"]) });
        return json(201, { id: "0PS000000000001", success: true, errors: [] });
      }
      if (create[1] === "FieldPermissions") {
        fieldPermissions.push({ ParentId: String(body["ParentId"]), SobjectType: String(body["SobjectType"]) });
        return json(201, { id: `01k${fieldPermissions.length}`, success: true, errors: [] });
      }
      if (create[1] === "PermissionSetAssignment") {
        assignments.push({ PermissionSetId: String(body["PermissionSetId"]), AssigneeId: String(body["AssigneeId"]) });
        return json(201, { id: "0Pa000000000001", success: true, errors: [] });
      }
    }
    return json(404, [{ errorCode: "NOT_FOUND", message: `${method} ${path}` }]);
  };
  return { handler, writes, sets, fieldPermissions, assignments, fields, visible };
}

afterEach(() => vi.unstubAllGlobals());

describe("SalesforceSetupClient.grantFieldAccess", () => {
  it("makes a created field visible to the integration user with one permission set, once", async () => {
    const org = fieldSecurityOrg();
    vi.stubGlobal("fetch", org.handler);
    const client = new SalesforceSetupClient(LOGIN, "id", "secret");
    await client.createExternalIdField("Contact");
    expect(await client.objectsWithField(["Contact"])).toEqual([]);

    await client.grantFieldAccess(["Contact"]);

    expect(await client.objectsWithField(["Contact"])).toEqual(["Contact"]);
    expect(org.sets.map((s) => s.Name)).toEqual([PERMISSION_SET]);
    expect(org.assignments).toEqual([{ PermissionSetId: "0PS000000000001", AssigneeId: USER }]);

    // Again, with one more object: the set and the assignment are reused.
    await client.createExternalIdField("Account");
    await client.grantFieldAccess(["Contact", "Account"]);
    expect(org.writes).toEqual([
      "field Contact",
      "PermissionSet",
      "FieldPermissions",
      "PermissionSetAssignment",
      "field Account",
      "FieldPermissions",
    ]);
    expect(await client.objectsWithField(["Account", "Contact"])).toEqual(["Account", "Contact"]);
  });
});

describe("setup's External ID step on an org with field-level security", () => {
  it("creates the three fields, grants them, and finds them present on the next run", async () => {
    const org = fieldSecurityOrg();
    vi.stubGlobal("fetch", org.handler);
    const { externalIdFields } = await import("../../../scripts/setup/execute.ts");
    const warnings: string[] = [];
    const client = () => new SalesforceSetupClient(LOGIN, "id", "secret");

    expect(await externalIdFields(client(), warnings)).toBe(
      `created Attio_Record_Id__c on Account, Contact, Opportunity; access granted with the permission set ${PERMISSION_SET}`,
    );
    expect(warnings).toEqual([]);
    expect(["Account", "Contact", "Opportunity"].every(org.visible)).toBe(true);

    const writes = org.writes.length;
    expect(await externalIdFields(client(), warnings)).toBe("Salesforce External ID fields: present");
    expect(org.writes).toHaveLength(writes);
  });

  it("turns a refusal into a warning with the manual way", async () => {
    const org = fieldSecurityOrg();
    vi.stubGlobal("fetch", async (input: string | URL | Request, init?: RequestInit) =>
      String(input).includes("/tooling/")
        ? new Response(JSON.stringify([{ errorCode: "INSUFFICIENT_ACCESS", message: "no" }]), { status: 403 })
        : org.handler(input, init),
    );
    const { externalIdFields } = await import("../../../scripts/setup/execute.ts");
    const warnings: string[] = [];
    expect(await externalIdFields(new SalesforceSetupClient(LOGIN, "id", "secret"), warnings)).toBe(
      "Salesforce External ID fields: not set up (see the warning)",
    );
    expect(warnings[0]).toMatch(/INSUFFICIENT_ACCESS[\s\S]*Customize Application[\s\S]*by hand/);
  });
});
