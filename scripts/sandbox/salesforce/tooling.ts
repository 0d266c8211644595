import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import type { ApiContext } from "./context.ts";
import { type SfError, sfError } from "./errors.ts";
import { makeId, normalizeId } from "./ids.ts";
import {
  buildField,
  type FieldDef,
  field,
  type MetadataComponent,
  type PicklistEntry,
  type SObjectDef,
  systemFields,
} from "./schema.ts";
import { sfDateTime } from "./store.ts";

/**
 * Tooling API (`/services/data/vXX.X/tooling/...`), the part an admin or an integration uses to
 * add to a new org what it needs: custom fields and custom objects.
 *
 * - `POST tooling/sobjects/CustomField` `{"FullName": "Contact.LinkedIn__c", "Metadata": {"label":
 *   "LinkedIn", "type": "Url", ...}}` (Metadata as the Metadata API's CustomField type);
 * - `POST tooling/sobjects/CustomObject` `{"FullName": "Project__c", "Metadata": {"label":
 *   "Project", "pluralLabel": "Projects", "nameField": {"type": "Text", "label": "Project Name"},
 *   "deploymentStatus": "Deployed", "sharingModel": "ReadWrite"}}`;
 *
 * both answer 201 `{"id", "success": true, "errors": [], "warnings": [], "infos": []}` (ids with the
 * key prefixes 00N and 01I), or 400 with Salesforce's error array. `GET tooling/sobjects/<type>/<id>`
 * reads a created component back. The new field or object is part of the org's schema at once:
 * describe, SOQL, REST writes, sObject Collections, Bulk API 2.0 and change events see it.
 */
export function handleTooling(request: EmulatorRequest, rest: string[], body: unknown, ctx: ApiContext): EmulatorReply {
  const [head, typeName, id, extra] = rest;
  if (head === "query" && typeName === undefined && request.method === "GET") {
    return { status: 200, body: channelMembers(request.query.get("q") ?? "", ctx) };
  }
  const type = typeName?.toLowerCase();
  if (head !== "sobjects" || (type !== "customfield" && type !== "customobject") || extra !== undefined) {
    throw sfError(404, "NOT_FOUND", "The requested resource does not exist");
  }
  if (id === undefined && request.method === "POST") {
    const input = saveInput(body, type === "customfield" ? "CustomField" : "CustomObject");
    const component = type === "customfield" ? createField(input, ctx) : createObject(input, ctx);
    return {
      status: 201,
      headers: { location: `/services/data/v${ctx.version}/tooling/sobjects/${component.type}/${component.id}` },
      body: { id: component.id, success: true, errors: [], warnings: [], infos: [] },
    };
  }
  if (id !== undefined && request.method === "GET") {
    const component = ctx.store.schema.components.get(normalizeId(id) ?? "");
    if (!component || component.type.toLowerCase() !== type) {
      throw sfError(404, "NOT_FOUND", "The requested resource does not exist");
    }
    return { status: 200, body: read(component, ctx.version) };
  }
  throw sfError(405, "METHOD_NOT_ALLOWED", `HTTP Method '${request.method}' not allowed. Allowed are GET,POST`);
}

interface SaveInput {
  fullName: string;
  metadata: Record<string, unknown>;
}

/** The body of a Tooling create: `FullName` and `Metadata`, nothing else. */
function saveInput(body: unknown, type: "CustomField" | "CustomObject"): SaveInput {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw sfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object.");
  }
  const input = body as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== "FullName" && key !== "Metadata") {
      throw sfError(400, "INVALID_FIELD", `No such column '${key}' on sobject of type ${type}`);
    }
  }
  const missing = ["FullName", "Metadata"].filter((key) => input[key] === undefined || input[key] === null);
  if (missing.length > 0) {
    throw sfError(400, "REQUIRED_FIELD_MISSING", `Required fields are missing: [${missing.join(", ")}]`, missing);
  }
  if (typeof input["FullName"] !== "string") throw jsonError(type, "FullName", input["FullName"]);
  const metadata = input["Metadata"];
  if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata)) {
    throw jsonError(type, "Metadata", metadata);
  }
  return { fullName: input["FullName"], metadata: metadata as Record<string, unknown> };
}

const jsonError = (type: string, key: string, value: unknown) =>
  sfError(
    400,
    "JSON_PARSER_ERROR",
    `Cannot deserialize instance of ${key} of ${type} from value ${JSON.stringify(value)} or request may be missing a required field`,
  );

const integrity = (message: string, fields: string[] = []) =>
  sfError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields);

/**
 * A developer name as the platform allows it (without the `__c`): a letter first, then letters,
 * digits and single underscores, not ending with one, at most 40 characters.
 */
function checkDeveloperName(name: string, what: "Field" | "Object"): void {
  if (!/^[A-Za-z][A-Za-z0-9_]{0,39}$/.test(name) || name.includes("__") || name.endsWith("_")) {
    throw integrity(
      `The ${what} Name field can only contain underscores and alphanumeric characters. It must be unique, begin with a letter, not include spaces, not end with an underscore, and not contain two consecutive underscores.`,
      ["FullName"],
    );
  }
}

/** The custom field types the sandbox emulates, and what describe calls them. */
const FIELD_TYPES = {
  Text: "string",
  TextArea: "textarea",
  LongTextArea: "textarea",
  Url: "url",
  Email: "email",
  Phone: "phone",
  Number: "double",
  Currency: "currency",
  Percent: "percent",
  Date: "date",
  DateTime: "datetime",
  Checkbox: "boolean",
  Picklist: "picklist",
  Lookup: "reference",
} as const;
type CustomFieldType = keyof typeof FIELD_TYPES;

/** Valid Metadata API field types the sandbox does not emulate (refused with a clear message). */
const OTHER_FIELD_TYPES = new Set([
  "AutoNumber",
  "EncryptedText",
  "ExternalLookup",
  "Hierarchy",
  "Html",
  "IndirectLookup",
  "Location",
  "MasterDetail",
  "MetadataRelationship",
  "MultiselectPicklist",
  "Summary",
  "Time",
]);

/** Fields that can be an External ID or unique (the Field Reference's "text, number, or email"). */
const KEYABLE: ReadonlySet<string> = new Set(["Text", "Number", "Email"]);

function createField(input: SaveInput, ctx: ApiContext): MetadataComponent {
  const { store } = ctx;
  const [objectName = "", fieldName = "", ...more] = input.fullName.split(".");
  if (more.length > 0 || !fieldName) {
    throw integrity(`FullName must be Object.Field__c, not ${input.fullName}`, ["FullName"]);
  }
  const def = store.schema.sobject(objectName);
  if (!def) throw integrity(`Cannot find the object ${objectName} of ${input.fullName}`, ["FullName"]);
  if (!fieldName.endsWith("__c")) {
    throw integrity(`The name of a custom field must end with __c: ${fieldName}`, ["FullName"]);
  }
  const developerName = fieldName.slice(0, -3);
  checkDeveloperName(developerName, "Field");
  if (field(def, fieldName)) {
    throw sfError(400, "DUPLICATE_DEVELOPER_NAME", `There is already a field named ${developerName} on ${def.name}.`, [
      "FullName",
    ]);
  }
  const f = fieldFromMetadata(def, fieldName, input.metadata, ctx);
  store.addField(def.name, f);
  return register(ctx, "CustomField", "00N", input, developerName, def.custom ? componentIdOf(ctx, def) : def.name);
}

/** A FieldDef from CustomField metadata, or the error Salesforce gives for it. */
function fieldFromMetadata(def: SObjectDef, name: string, md: Record<string, unknown>, ctx: ApiContext): FieldDef {
  const type = md["type"];
  if (type === undefined || type === null) throw integrity("Must specify 'type' for a CustomField", ["type"]);
  if (typeof type !== "string") throw jsonError("CustomField", "type", type);
  if (OTHER_FIELD_TYPES.has(type)) {
    throw integrity(`The sandbox does not emulate custom fields of type ${type}`, ["type"]);
  }
  if (!(type in FIELD_TYPES)) throw jsonError("CustomField", "type", type);
  const fieldType = type as CustomFieldType;
  const label = md["label"];
  if (typeof label !== "string" || label.trim() === "") {
    throw sfError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", ["label"]);
  }
  if (label.length > 40) throw integrity("The label can have at most 40 characters", ["label"]);

  const mustSpecify = (attribute: string) =>
    integrity(`Must specify '${attribute}' for a CustomField of type ${fieldType}`, [attribute]);
  const integer = (attribute: string, min: number, max: number, required = true): number | null => {
    const raw = md[attribute];
    if (raw === undefined || raw === null) {
      if (required) throw mustSpecify(attribute);
      return null;
    }
    const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
    if (typeof value !== "number" || !Number.isInteger(value)) throw jsonError("CustomField", attribute, raw);
    if (value < min || value > max) {
      throw integrity(`'${attribute}' must be between ${min} and ${max} for a CustomField of type ${fieldType}`, [
        attribute,
      ]);
    }
    return value;
  };
  const flag = (attribute: string): boolean => {
    const raw = md[attribute];
    if (raw === undefined || raw === null) return false;
    if (typeof raw === "boolean") return raw;
    if (raw === "true" || raw === "false") return raw === "true";
    throw jsonError("CustomField", attribute, raw);
  };

  const externalId = flag("externalId");
  const unique = flag("unique");
  const required = flag("required");
  if ((externalId || unique) && !KEYABLE.has(fieldType)) {
    throw integrity(
      `Only Text, Number and Email fields can be ${externalId ? "External IDs" : "unique"}; ${fieldType} cannot`,
      [externalId ? "externalId" : "unique"],
    );
  }
  if (required && fieldType === "Checkbox") throw integrity("A Checkbox field cannot be required", ["required"]);

  const extra: Partial<FieldDef> = { label };
  switch (fieldType) {
    case "Text":
      extra.length = integer("length", 1, 255) ?? 255;
      break;
    case "TextArea":
      extra.length = 255;
      break;
    case "LongTextArea":
      extra.length = integer("length", 256, 131072) ?? 32768;
      integer("visibleLines", 2, 50);
      break;
    case "Url":
      extra.length = 255;
      break;
    case "Email":
      extra.length = 80;
      break;
    case "Phone":
      extra.length = 40;
      break;
    case "Number":
    case "Currency":
    case "Percent": {
      const precision = integer("precision", 1, 18) ?? 18;
      const scale = integer("scale", 0, precision) ?? 0;
      extra.precision = precision;
      extra.scale = scale;
      break;
    }
    case "Checkbox": {
      const raw = md["defaultValue"];
      if (raw === undefined || raw === null) throw mustSpecify("defaultValue");
      if (raw !== true && raw !== false && raw !== "true" && raw !== "false") {
        throw integrity(`The default value of a Checkbox must be true or false, not ${String(raw)}`, ["defaultValue"]);
      }
      extra.defaultValue = raw === true || raw === "true";
      break;
    }
    case "Picklist": {
      const { entries, restricted } = picklistOf(md["valueSet"], mustSpecify);
      extra.picklist = entries;
      extra.restrictedPicklist = restricted;
      break;
    }
    case "Lookup": {
      const target = typeof md["referenceTo"] === "string" ? ctx.store.schema.sobject(md["referenceTo"]) : undefined;
      if (md["referenceTo"] === undefined || md["referenceTo"] === null) throw mustSpecify("referenceTo");
      if (!target) throw integrity(`Cannot find the object ${String(md["referenceTo"])} to refer to`, ["referenceTo"]);
      const relationship = md["relationshipName"];
      if (relationship === undefined || relationship === null) throw mustSpecify("relationshipName");
      if (typeof relationship !== "string") throw jsonError("CustomField", "relationshipName", relationship);
      checkDeveloperName(relationship, "Field");
      const relationshipName = `${relationship}__r`;
      if (def.fields.some((f) => f.relationshipName?.toLowerCase() === relationshipName.toLowerCase())) {
        throw sfError(
          400,
          "DUPLICATE_DEVELOPER_NAME",
          `There is already a relationship named ${relationship} on ${def.name}.`,
          ["relationshipName"],
        );
      }
      extra.referenceTo = [target.name];
      extra.relationshipName = relationshipName;
      extra.length = 18;
      break;
    }
    case "Date":
    case "DateTime":
      break;
  }
  // A checkbox is never null and takes its default; a picklist with a default value is defaulted.
  const defaulted = fieldType === "Checkbox" || (extra.picklist ?? []).some((entry) => entry.defaultValue);
  const flags = `cu${fieldType === "Checkbox" || required ? "" : "n"}${defaulted ? "d" : ""}${externalId ? "x" : ""}${unique ? "q" : ""}`;
  return buildField(name, FIELD_TYPES[fieldType], flags, { ...extra, custom: true });
}

/** `valueSet: {restricted, valueSetDefinition: {value: [{fullName, default, label}]}}`. */
function picklistOf(
  raw: unknown,
  mustSpecify: (attribute: string) => SfError,
): { entries: PicklistEntry[]; restricted: boolean } {
  if (raw === undefined || raw === null) throw mustSpecify("valueSet");
  const valueSet = raw as { restricted?: unknown; valueSetDefinition?: { value?: unknown } };
  const values = valueSet.valueSetDefinition?.value;
  if (!Array.isArray(values) || values.length === 0) throw mustSpecify("valueSet.valueSetDefinition.value");
  const entries: PicklistEntry[] = values.map((value: unknown) => {
    const entry = (value ?? {}) as { fullName?: unknown; label?: unknown; default?: unknown };
    if (typeof entry.fullName !== "string" || entry.fullName === "") {
      throw integrity("Every picklist value needs a fullName", ["valueSet"]);
    }
    if (entry.fullName.length > 255) throw integrity(`Picklist value too long: ${entry.fullName}`, ["valueSet"]);
    return {
      value: entry.fullName,
      label: typeof entry.label === "string" && entry.label !== "" ? entry.label : entry.fullName,
      defaultValue: entry.default === true || entry.default === "true",
    };
  });
  const seen = new Set<string>();
  for (const entry of entries) {
    const key = entry.value.toLowerCase();
    if (seen.has(key)) throw integrity(`Duplicate picklist value: ${entry.value}`, ["valueSet"]);
    seen.add(key);
  }
  if (entries.filter((entry) => entry.defaultValue).length > 1) {
    throw integrity("A picklist can have only one default value", ["valueSet"]);
  }
  const restricted = valueSet.restricted === true || valueSet.restricted === "true";
  return { entries, restricted };
}

const SHARING_MODELS = new Set(["Private", "Read", "ReadWrite", "ReadWriteTransfer", "FullAccess"]);

function createObject(input: SaveInput, ctx: ApiContext): MetadataComponent {
  const { store } = ctx;
  const name = input.fullName;
  if (!name.endsWith("__c")) throw integrity(`The name of a custom object must end with __c: ${name}`, ["FullName"]);
  const developerName = name.slice(0, -3);
  checkDeveloperName(developerName, "Object");
  if (store.schema.sobject(name)) {
    throw sfError(400, "DUPLICATE_DEVELOPER_NAME", `There is already an object named ${developerName}.`, ["FullName"]);
  }
  const md = input.metadata;
  const text = (attribute: string, from: Record<string, unknown> = md, what = "CustomObject"): string => {
    const value = from[attribute];
    if (value === undefined || value === null || value === "") {
      throw integrity(`Must specify '${attribute}' for a ${what}`, [attribute]);
    }
    if (typeof value !== "string") throw jsonError(what, attribute, value);
    return value;
  };
  const label = text("label");
  const pluralLabel = text("pluralLabel");
  const sharingModel = text("sharingModel");
  if (!SHARING_MODELS.has(sharingModel)) {
    // ControlledByParent needs a master-detail field, which a new object cannot have yet.
    throw integrity(`Invalid sharingModel for a new custom object: ${sharingModel}`, ["sharingModel"]);
  }
  const deploymentStatus = md["deploymentStatus"] ?? "InDevelopment";
  if (deploymentStatus !== "Deployed" && deploymentStatus !== "InDevelopment") {
    throw jsonError("CustomObject", "deploymentStatus", deploymentStatus);
  }
  const nameFieldRaw = md["nameField"];
  if (nameFieldRaw === undefined || nameFieldRaw === null)
    throw integrity("Must specify 'nameField' for a CustomObject");
  if (typeof nameFieldRaw !== "object" || Array.isArray(nameFieldRaw)) {
    throw jsonError("CustomObject", "nameField", nameFieldRaw);
  }
  const nameField = nameFieldRaw as Record<string, unknown>;
  const nameType = text("type", nameField, "nameField");
  const nameLabel = text("label", nameField, "nameField");
  let nameDef: FieldDef;
  if (nameType === "Text") {
    // A text name: if a create leaves it out, it is the record's id.
    nameDef = buildField("Name", "string", "cud", { label: nameLabel, length: 80, custom: false });
  } else if (nameType === "AutoNumber") {
    const format = text("displayFormat", nameField, "nameField");
    if (!/\{0+\}/.test(format)) {
      throw integrity("The display format of an auto-number must contain {0}, {00}, ...", ["displayFormat"]);
    }
    const start = nameField["startingNumber"] === undefined ? 1 : Number(nameField["startingNumber"]);
    if (!Number.isInteger(start) || start < 0)
      throw jsonError("nameField", "startingNumber", nameField["startingNumber"]);
    nameDef = buildField("Name", "string", "d", {
      label: nameLabel,
      length: 80,
      custom: false,
      autoNumber: { format, next: start },
    });
  } else {
    throw integrity(`The name field of a custom object is Text or AutoNumber, not ${nameType}`, ["nameField"]);
  }
  const def: SObjectDef = {
    name: `${developerName}__c`,
    label,
    labelPlural: pluralLabel,
    keyPrefix: store.schema.nextKeyPrefix(),
    custom: true,
    createable: true,
    fields: [...systemFields(), nameDef],
  };
  store.addObject(def);
  return register(ctx, "CustomObject", "01I", input, developerName, null);
}

/** The 01I id of a custom object (a custom field's TableEnumOrId), or its name if none is recorded. */
function componentIdOf(ctx: ApiContext, def: SObjectDef): string {
  for (const component of ctx.store.schema.components.values()) {
    if (component.type === "CustomObject" && component.fullName.toLowerCase() === def.name.toLowerCase()) {
      return component.id;
    }
  }
  return def.name;
}

function register(
  ctx: ApiContext,
  type: MetadataComponent["type"],
  prefix: string,
  input: SaveInput,
  developerName: string,
  tableEnumOrId: string | null,
): MetadataComponent {
  const components = ctx.store.schema.components;
  const component: MetadataComponent = {
    id: makeId(prefix, 1000 + components.size + 1),
    type,
    fullName: input.fullName,
    developerName,
    tableEnumOrId,
    metadata: input.metadata,
    createdDate: sfDateTime(Date.now()),
    createdById: ctx.write.userId,
  };
  components.set(component.id, component);
  return component;
}

/** A component as `GET tooling/sobjects/<type>/<id>` returns it. */
function read(component: MetadataComponent, version: string): unknown {
  return {
    attributes: {
      type: component.type,
      url: `/services/data/v${version}/tooling/sobjects/${component.type}/${component.id}`,
    },
    Id: component.id,
    ...(component.type === "CustomField" ? { TableEnumOrId: component.tableEnumOrId } : {}),
    DeveloperName: component.developerName,
    NamespacePrefix: null,
    ManageableState: "unmanaged",
    FullName: component.fullName,
    Metadata: component.metadata,
    CreatedDate: component.createdDate,
    CreatedById: component.createdById,
    LastModifiedDate: component.createdDate,
    LastModifiedById: component.createdById,
  };
}

/**
 * `GET tooling/query?q=SELECT ... FROM PlatformEventChannelMember`: the entities selected for Change
 * Data Capture on the standard channel ("Get the Number of Selected Entities", Change Data Capture
 * Developer Guide). The emulator publishes change events for every object whose records the API
 * can change, so each is a member (`ChangeEvents_<event name>`), custom objects included; User is
 * not (its records are read-only here). Any other Tooling query is refused as unsupported.
 */
function channelMembers(soql: string, ctx: ApiContext): unknown {
  const match = /^SELECT\s+([\w\s,]+?)\s+FROM\s+PlatformEventChannelMember\s*$/i.exec(soql.trim());
  if (!match?.[1])
    throw sfError(
      400,
      "INVALID_TYPE",
      `the sandbox answers Tooling queries of PlatformEventChannelMember only: ${soql}`,
    );
  const fields = match[1].split(",").map((f) => f.trim());
  const unknown = fields.find((f) => !["Id", "DeveloperName", "SelectedEntity"].includes(f));
  if (unknown)
    throw sfError(400, "INVALID_FIELD", `No such column '${unknown}' on entity 'PlatformEventChannelMember'`);
  const records = ctx.store.schema.objects
    .filter((def) => def.name !== "User")
    .map((def, index) => {
      const entity = def.custom ? `${def.name.slice(0, -3)}__ChangeEvent` : `${def.name}ChangeEvent`;
      const id = `0v8${String(index + 1).padStart(12, "0")}AAA`;
      const all: Record<string, string> = { Id: id, DeveloperName: `ChangeEvents_${entity}`, SelectedEntity: entity };
      return {
        attributes: {
          type: "PlatformEventChannelMember",
          url: `/services/data/v${ctx.version}/tooling/sobjects/PlatformEventChannelMember/${id}`,
        },
        ...Object.fromEntries(fields.map((f) => [f, all[f]])),
      };
    });
  return {
    size: records.length,
    totalSize: records.length,
    done: true,
    queryLocator: null,
    entityTypeName: "PlatformEventChannelMember",
    records,
  };
}
