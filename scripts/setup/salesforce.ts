import { z } from "zod";
import { ATTIO_RECORD_ID_FIELD } from "../../src/mapping/schema-salesforce.ts";

/** The objects of the default mappings, which get the External ID field. */
export const EXTERNAL_ID_OBJECTS = ["Account", "Contact", "Opportunity"] as const;
export { ATTIO_RECORD_ID_FIELD };

const TokenSchema = z.object({ access_token: z.string().min(1), instance_url: z.string().min(1) });
const DescribeSchema = z.object({
  fields: z.array(z.object({ name: z.string(), externalId: z.boolean().optional() })),
});

export class SalesforceSetupError extends Error {}

/** The Salesforce calls setup makes: a client credentials token, describe, and a Tooling API create. */
export class SalesforceSetupClient {
  private session: { token: string; instanceUrl: string } | undefined;

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
    this.session = { token: token.access_token, instanceUrl: token.instance_url };
    return { instanceUrl: token.instance_url };
  }

  /** The objects among `objects` whose describe (as the integration user sees it) has the External ID field. */
  async objectsWithField(objects: readonly string[]): Promise<string[]> {
    const found: string[] = [];
    for (const object of objects) {
      const describe = DescribeSchema.parse(await this.call("GET", `/sobjects/${object}/describe`));
      if (describe.fields.some((f) => f.name === ATTIO_RECORD_ID_FIELD && f.externalId !== false)) found.push(object);
    }
    return found;
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
