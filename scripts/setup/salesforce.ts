import { z } from "zod";
import { ATTIO_RECORD_ID_FIELD } from "../../src/mapping/schema-salesforce.ts";

/** The objects of the default mappings, which get the External ID field. */
export const EXTERNAL_ID_OBJECTS = ["Account", "Contact", "Opportunity"] as const;
export { ATTIO_RECORD_ID_FIELD };

/** `id` is the identity URL, `.../id/<org id>/<user id>`: the integration (Run As) user. */
const TokenSchema = z.object({
  access_token: z.string().min(1),
  instance_url: z.string().min(1),
  id: z.string().optional(),
});
const QuerySchema = z.object({ records: z.array(z.record(z.string(), z.unknown())) });
const CreatedSchema = z.object({ id: z.string().min(1) });

/** The permission set that gives the integration user Read and Edit on the External ID fields. */
export const PERMISSION_SET = "Attio_Sync_Record_Id";

/** Where the field stands on one object, as the integration user's describe shows it. */
export type FieldState = "external-id" | "not-external-id" | "absent";
const DescribeSchema = z.object({
  fields: z.array(z.object({ name: z.string(), externalId: z.boolean().optional() })),
});

export class SalesforceSetupError extends Error {}

/** The Salesforce calls setup makes: a client credentials token, describe, and a Tooling API create. */
export class SalesforceSetupClient {
  private session: { token: string; instanceUrl: string; userId: string | undefined } | undefined;

  constructor(
    private readonly loginUrl: string,
    private readonly clientId: string,
    private readonly clientSecret: string,
    private readonly apiVersion = "62.0",
  ) {}

  /** A token from the org's My Domain with the app's consumer key and secret: the Worker's own flow. */
  async check(): Promise<{ instanceUrl: string }> {
    const response = await fetch(`${this.loginUrl}/services/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: this.clientId,
        client_secret: this.clientSecret,
      }),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new SalesforceSetupError(
        `Salesforce refused the client credentials token (${response.status}: ${text.slice(0, 300)}). Check the My Domain URL, the consumer key and secret, that the app enables the client credentials flow and names a Run As user`,
      );
    }
    const token = TokenSchema.parse(JSON.parse(text));
    this.session = { token: token.access_token, instanceUrl: token.instance_url, userId: token.id?.split("/").at(-1) };
    return { instanceUrl: token.instance_url };
  }

  /** The field's state on each of `objects` (a field the user cannot see is `absent`). */
  async fieldStates(objects: readonly string[]): Promise<Record<string, FieldState>> {
    const states: Record<string, FieldState> = {};
    for (const object of objects) {
      const describe = DescribeSchema.parse(await this.call("GET", `/sobjects/${object}/describe`));
      const field = describe.fields.find((f) => f.name === ATTIO_RECORD_ID_FIELD);
      states[object] = !field ? "absent" : field.externalId === false ? "not-external-id" : "external-id";
    }
    return states;
  }

  /** The objects among `objects` whose describe (as the integration user sees it) has the External ID field. */
  async objectsWithField(objects: readonly string[]): Promise<string[]> {
    const states = await this.fieldStates(objects);
    return objects.filter((object) => states[object] === "external-id");
  }

  /**
   * Gives the integration user Read and Edit on the field of `objects`: the permission set
   * Attio_Sync_Record_Id (created or reused), a FieldPermissions row per object that lacks one, and
   * its assignment to the user (once). A new field is visible to nobody until such a grant.
   */
  async grantFieldAccess(objects: readonly string[]): Promise<void> {
    if (!this.session) await this.check();
    const userId = this.session?.userId;
    if (!userId)
      throw new SalesforceSetupError("the token answer named no user (its `id` URL), so access cannot be granted");
    const [existing] = await this.query(`SELECT Id FROM PermissionSet WHERE Name = '${PERMISSION_SET}'`);
    const setId =
      (existing?.["Id"] as string | undefined) ??
      (await this.create("PermissionSet", { Name: PERMISSION_SET, Label: "Attio Sync Record Id" }));
    const granted = new Set(
      (await this.query(`SELECT SobjectType FROM FieldPermissions WHERE ParentId = '${setId}'`)).map((r) =>
        String(r["SobjectType"]),
      ),
    );
    for (const object of objects.filter((o) => !granted.has(o))) {
      await this.create("FieldPermissions", {
        ParentId: setId,
        SobjectType: object,
        Field: `${object}.${ATTIO_RECORD_ID_FIELD}`,
        PermissionsRead: true,
        PermissionsEdit: true,
      });
    }
    const assigned = await this.query(
      `SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = '${setId}' AND AssigneeId = '${userId}'`,
    );
    if (assigned.length === 0) {
      await this.create("PermissionSetAssignment", { PermissionSetId: setId, AssigneeId: userId });
    }
  }

  private async query(soql: string): Promise<Record<string, unknown>[]> {
    return QuerySchema.parse(await this.call("GET", `/query?q=${encodeURIComponent(soql)}`)).records;
  }

  private async create(sobject: string, fields: Record<string, unknown>): Promise<string> {
    return CreatedSchema.parse(await this.call("POST", `/sobjects/${sobject}`, fields)).id;
  }

  /** Creates `Object.Attio_Record_Id__c`, Text(36), External ID, unique, through the Tooling API. */
  async createExternalIdField(object: string): Promise<void> {
    await this.call("POST", "/tooling/sobjects/CustomField", {
      FullName: `${object}.${ATTIO_RECORD_ID_FIELD}`,
      Metadata: {
        label: "Attio Record Id",
        type: "Text",
        length: 36,
        externalId: true,
        unique: true,
        caseSensitive: false,
        required: false,
      },
    });
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    if (!this.session) await this.check();
    const session = this.session as { token: string; instanceUrl: string };
    const response = await fetch(`${session.instanceUrl}/services/data/v${this.apiVersion}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${session.token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) {
      throw new SalesforceSetupError(
        `Salesforce answered ${response.status} to ${method} ${path}: ${text.slice(0, 300)}`,
      );
    }
    return text === "" ? {} : JSON.parse(text);
  }
}
