/**
 * Custom objects, attributes, select options and statuses for tests and the sandbox, made the way
 * a user would make them: through the emulator's documented API (`POST /v2/objects`,
 * `POST /v2/objects/{object}/attributes`, `…/options`, `…/statuses`), never by reaching into its
 * store. The same calls work against a real Attio workspace with a key that has
 * `object_configuration:read-write`.
 */

import type { AttributeType } from "./schema.ts";

/** The `data` of "create an attribute". Unset flags default to false, `description` to null, `config` to {}. */
export interface AttributeInput {
  title: string;
  api_slug: string;
  /** Attio's types, but those only Attio makes (interactions, personal names). */
  type: Exclude<AttributeType, "interaction" | "personal-name">;
  description?: string | null;
  is_required?: boolean;
  is_unique?: boolean;
  is_multiselect?: boolean;
  default_value?: { type: "dynamic"; template: string } | { type: "static"; template: unknown[] } | null;
  relationship?: { object: string; title: string; api_slug: string; is_multiselect: boolean } | null;
  config?: {
    currency?: { default_currency_code: string; display_type: "code" | "name" | "narrowSymbol" | "symbol" };
    record_reference?: { allowed_objects: string[] };
  };
}

export interface StatusInput {
  title: string;
  celebration_enabled?: boolean;
  target_time_in_status?: string | null;
}

/** A non-2xx answer from Attio (or the emulator): the status and Attio's error body. */
export class AttioApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`Attio answered ${status}: ${JSON.stringify(body)}`);
  }
}

async function call(baseUrl: string, apiKey: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${baseUrl.replace(/\/+$/, "")}/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const json: unknown = text === "" ? {} : JSON.parse(text);
  if (!response.ok) throw new AttioApiError(response.status, json);
  return (json as { data: unknown }).data;
}

const segment = (value: string) => encodeURIComponent(value);

/** `POST /v2/objects`: a custom object. Answers the spec's `object`. */
export function createObject(
  baseUrl: string,
  apiKey: string,
  object: { api_slug: string; singular_noun: string; plural_noun: string },
): Promise<unknown> {
  return call(baseUrl, apiKey, "POST", "/objects", { data: object });
}

/** `POST /v2/objects/{object}/attributes`, with the spec's required fields filled in. Answers the spec's `attribute`. */
export function createAttribute(
  baseUrl: string,
  apiKey: string,
  object: string,
  attribute: AttributeInput,
): Promise<unknown> {
  const data = {
    description: null,
    is_required: false,
    is_unique: false,
    is_multiselect: false,
    config: {},
    ...attribute,
  };
  return call(baseUrl, apiKey, "POST", `/objects/${segment(object)}/attributes`, { data });
}

/** `PATCH /v2/objects/{object}/attributes/{attribute}` (title, api_slug, is_required, is_unique, is_archived, ...). */
export function updateAttribute(
  baseUrl: string,
  apiKey: string,
  object: string,
  attribute: string,
  changes: Record<string, unknown>,
): Promise<unknown> {
  return call(baseUrl, apiKey, "PATCH", `/objects/${segment(object)}/attributes/${segment(attribute)}`, {
    data: changes,
  });
}

/** `POST /v2/objects/{object}/attributes/{attribute}/options`. Answers the spec's `select-option`. */
export function createSelectOption(
  baseUrl: string,
  apiKey: string,
  object: string,
  attribute: string,
  title: string,
): Promise<unknown> {
  return call(baseUrl, apiKey, "POST", `/objects/${segment(object)}/attributes/${segment(attribute)}/options`, {
    data: { title },
  });
}

/** `POST /v2/objects/{object}/attributes/{attribute}/statuses`. Answers the spec's `status`. */
export function createStatus(
  baseUrl: string,
  apiKey: string,
  object: string,
  attribute: string,
  status: StatusInput,
): Promise<unknown> {
  return call(baseUrl, apiKey, "POST", `/objects/${segment(object)}/attributes/${segment(attribute)}/statuses`, {
    data: status,
  });
}

/**
 * The custom object of docs/CUSTOM_OBJECTS.md, `projects`: name, project_code, budget, client (a
 * reference to companies), status (Planned, Active, Done) and a unique salesforce_id.
 */
export async function provisionProjects(baseUrl: string, apiKey: string): Promise<void> {
  await createObject(baseUrl, apiKey, { api_slug: "projects", singular_noun: "Project", plural_noun: "Projects" });
  const attributes: AttributeInput[] = [
    { title: "Name", api_slug: "name", type: "text", is_required: true },
    { title: "Project code", api_slug: "project_code", type: "text" },
    {
      title: "Budget",
      api_slug: "budget",
      type: "currency",
      config: { currency: { default_currency_code: "USD", display_type: "symbol" } },
    },
    {
      title: "Client",
      api_slug: "client",
      type: "record-reference",
      config: { record_reference: { allowed_objects: ["companies"] } },
    },
    { title: "Status", api_slug: "status", type: "status" },
    { title: "Salesforce ID", api_slug: "salesforce_id", type: "text", is_unique: true },
  ];
  for (const attribute of attributes) await createAttribute(baseUrl, apiKey, "projects", attribute);
  for (const title of ["Planned", "Active", "Done"]) {
    await createStatus(baseUrl, apiKey, "projects", "status", { title });
  }
}
