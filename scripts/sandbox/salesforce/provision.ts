/**
 * Provisioning an org the way an admin or an integration does: custom fields and custom objects
 * created through the Tooling API over HTTP (`POST /services/data/vXX.X/tooling/sobjects/CustomField`
 * and `.../CustomObject`). For tests and the sandbox; the same requests work against a real org.
 *
 * @example
 *   await createCustomField(emulator, "Account.Attio_Id__c", { type: "Text", length: 36, externalId: true, unique: true });
 *   await createCustomObject(emulator, "Project__c", { label: "Project", pluralLabel: "Projects",
 *     nameField: { type: "Text", label: "Project Name" }, deploymentStatus: "Deployed", sharingModel: "ReadWrite" });
 */

/** An org to provision: an instance URL with an access token, or anything that can get one (an emulator). */
export type ToolingTarget =
  | { instanceUrl: string; accessToken: string; version?: string }
  | { url: string; clientId: string; clientSecret: string; version?: string };

/** The Tooling API's answer to a create. */
export interface ToolingSaveResult {
  id: string;
  success: boolean;
  errors: unknown[];
  warnings: unknown[];
  infos: unknown[];
}

/** CustomField metadata (Metadata API names: type, length, precision, scale, externalId, unique, required, ...). */
export type CustomFieldMetadata = { type: string; label?: string } & Record<string, unknown>;

/** CustomObject metadata (label, pluralLabel, nameField, deploymentStatus, sharingModel, ...). */
export type CustomObjectMetadata = {
  label: string;
  pluralLabel: string;
  nameField: { type: "Text" | "AutoNumber"; label: string; displayFormat?: string };
  deploymentStatus?: "Deployed" | "InDevelopment";
  sharingModel: string;
} & Record<string, unknown>;

/** A Tooling API call that did not answer 201: its status and Salesforce's error array. */
export class ToolingError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Tooling API answered ${status}: ${JSON.stringify(body)}`);
  }
}

const DEFAULT_VERSION = "62.0";

/** Creates `Object.Field__c` (the label defaults to the field's name without `__c`, underscores as spaces). */
export async function createCustomField(
  target: ToolingTarget,
  fullName: string,
  metadata: CustomFieldMetadata,
): Promise<ToolingSaveResult> {
  const name = fullName.split(".").pop() ?? fullName;
  const label = metadata.label ?? name.replace(/__c$/, "").replace(/_/g, " ");
  return create(target, "CustomField", { FullName: fullName, Metadata: { ...metadata, label } });
}

/** Creates the custom object `Name__c`. */
export async function createCustomObject(
  target: ToolingTarget,
  fullName: string,
  metadata: CustomObjectMetadata,
): Promise<ToolingSaveResult> {
  return create(target, "CustomObject", { FullName: fullName, Metadata: metadata });
}

/** `valueSet` metadata for a picklist of `values` (the first one the default when `withDefault`). */
export function picklistValueSet(
  values: string[],
  { restricted = false, withDefault = false }: { restricted?: boolean; withDefault?: boolean } = {},
): Record<string, unknown> {
  return {
    restricted,
    valueSetDefinition: {
      sorted: false,
      value: values.map((value, index) => ({ fullName: value, label: value, default: withDefault && index === 0 })),
    },
  };
}

/**
 * The External ID the sync writes the Attio record id to (`salesforce_external_id_field` in
 * config.example.toml), created on each of `objects`: Text(36), External ID, unique.
 */
export async function createAttioIdFields(
  target: ToolingTarget,
  objects: readonly string[] = ["Account", "Contact", "Opportunity"],
): Promise<ToolingSaveResult[]> {
  const results: ToolingSaveResult[] = [];
  for (const object of objects) {
    results.push(
      await createCustomField(target, `${object}.Attio_Id__c`, {
        type: "Text",
        label: "Attio Id",
        length: 36,
        externalId: true,
        unique: true,
      }),
    );
  }
  return results;
}

async function create(
  target: ToolingTarget,
  type: "CustomField" | "CustomObject",
  body: unknown,
): Promise<ToolingSaveResult> {
  const { instanceUrl, accessToken } = await connect(target);
  const version = target.version ?? DEFAULT_VERSION;
  const response = await fetch(`${instanceUrl}/services/data/v${version}/tooling/sobjects/${type}`, {
    method: "POST",
    headers: { authorization: `Bearer ${accessToken}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = (await response.json().catch(() => null)) as unknown;
  if (response.status !== 201) throw new ToolingError(response.status, answer);
  return answer as ToolingSaveResult;
}

/** An access token: the given one, or a client-credentials token from the org's token endpoint. */
async function connect(target: ToolingTarget): Promise<{ instanceUrl: string; accessToken: string }> {
  if ("accessToken" in target) return { instanceUrl: target.instanceUrl, accessToken: target.accessToken };
  const response = await fetch(`${target.url}/services/oauth2/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: target.clientId,
      client_secret: target.clientSecret,
    }),
  });
  const token = (await response.json()) as { access_token?: string; instance_url?: string };
  if (!response.ok || !token.access_token) throw new ToolingError(response.status, token);
  return { instanceUrl: token.instance_url ?? target.url, accessToken: token.access_token };
}
