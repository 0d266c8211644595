import { z } from "zod";
import type { EmulatorReply, EmulatorRequest } from "../shared/http.ts";
import { AttioError, bodyInvalid, invalid, notFound, slugConflict, type ValidationIssue } from "./errors.ts";
import {
  type AttributeDef,
  type AttributeType,
  buildAttribute,
  type DefaultValue,
  newOption,
  type ObjectDef,
  type OptionDef,
  systemAttributes,
} from "./schema.ts";
import type { AttioEvent, AttioStore } from "./store.ts";
import { ISO_DURATION, parseInput } from "./values.ts";

/**
 * The workspace's schema over the API (OpenAPI "Objects" and "Attributes"):
 * `POST /v2/objects`, `GET|POST /v2/objects/{object}/attributes`, `GET|PATCH …/attributes/{attribute}`,
 * `GET|POST …/{attribute}/options`, `PATCH …/options/{option}`, `GET|POST …/{attribute}/statuses`,
 * `PATCH …/statuses/{status}`. Bodies are validated against the spec's request schemas; what the
 * schemas cannot say (types that cannot be unique, no unique attributes on people or companies, ...)
 * comes from the docs.
 */

/** The spec's `default_currency_code` enum (create and update an attribute). */
const CURRENCY_CODES = [
  "ARS",
  "AUD",
  "BRL",
  "BGN",
  "CAD",
  "CLP",
  "CNY",
  "COP",
  "CZK",
  "DKK",
  "EUR",
  "HKD",
  "HUF",
  "ISK",
  "INR",
  "ILS",
  "JPY",
  "KES",
  "KRW",
  "MYR",
  "MXN",
  "NTD",
  "NZD",
  "NGN",
  "NOK",
  "XPF",
  "PEN",
  "PHP",
  "PLN",
  "GBP",
  "RWF",
  "SAR",
  "SGD",
  "ZAR",
  "SEK",
  "CHF",
  "THB",
  "AED",
  "UYU",
  "USD",
] as const;

/** The `type` enum of "create an attribute": no `interaction` or `personal-name`, which only Attio makes. */
const CREATABLE_TYPES = [
  "text",
  "number",
  "checkbox",
  "currency",
  "date",
  "timestamp",
  "rating",
  "status",
  "select",
  "record-reference",
  "actor-reference",
  "location",
  "domain",
  "email-address",
  "phone-number",
] as const satisfies readonly AttributeType[];

/**
 * "Multiselect is only available on some value types": the ones standard attributes show it on
 * (email_addresses, domains, phone_numbers, categories, team). "All status attributes are single-select."
 */
const MULTISELECT_TYPES: readonly AttributeType[] = [
  "select",
  "record-reference",
  "email-address",
  "domain",
  "phone-number",
];
/**
 * Types that can hold a unique value, as standard attributes and the docs show it: text (user_id),
 * number, email-address, domain. "Select attributes cannot be configured to be unique."
 */
const UNIQUE_TYPES: readonly AttributeType[] = ["text", "number", "email-address", "domain"];

/** "Formatted in snake case" (object and attribute api_slug). */
const Slug = z.string().regex(/^[a-z][a-z0-9_]*$/, { error: "must be snake_case" });

const CurrencyConfig = z.object({
  default_currency_code: z.enum(CURRENCY_CODES),
  display_type: z.enum(["code", "name", "narrowSymbol", "symbol"]),
});
const Config = z.object({
  currency: CurrencyConfig.optional(),
  record_reference: z.object({ allowed_objects: z.array(z.string()).min(1) }).optional(),
});
const DefaultValueInput = z.union([
  z.object({ type: z.literal("dynamic"), template: z.string() }),
  z.object({ type: z.literal("static"), template: z.array(z.unknown()) }),
  z.null(),
]);

const CreateObjectBody = z.object({
  data: z.object({ api_slug: Slug, singular_noun: z.string().min(1), plural_noun: z.string().min(1) }),
});

const CreateAttributeBody = z.object({
  // additionalProperties: false in the spec.
  data: z.strictObject({
    title: z.string(),
    description: z.string().nullable(),
    api_slug: Slug,
    type: z.enum(CREATABLE_TYPES),
    is_required: z.boolean(),
    is_unique: z.boolean(),
    is_multiselect: z.boolean(),
    default_value: DefaultValueInput.optional(),
    relationship: z
      .strictObject({ object: z.string(), title: z.string(), api_slug: Slug, is_multiselect: z.boolean() })
      .nullable()
      .optional(),
    config: Config,
  }),
});

const UpdateAttributeBody = z.object({
  data: z.strictObject({
    title: z.string().optional(),
    description: z.string().nullable().optional(),
    api_slug: Slug.optional(),
    is_required: z.boolean().optional(),
    is_unique: z.boolean().optional(),
    default_value: DefaultValueInput.optional(),
    config: Config.optional(),
    is_archived: z.boolean().optional(),
  }),
});

const Duration = z.string().regex(ISO_DURATION, { error: "must be an ISO 8601 duration" });
const CreateOptionBody = z.object({ data: z.object({ title: z.string().min(1) }) });
const UpdateOptionBody = z.object({
  data: z.object({ title: z.string().min(1).optional(), is_archived: z.boolean().optional() }),
});
const CreateStatusBody = z.object({
  data: z.object({
    title: z.string().min(1),
    celebration_enabled: z.boolean().default(false),
    target_time_in_status: Duration.nullable().optional(),
  }),
});
const UpdateStatusBody = z.object({
  data: z.object({
    title: z.string().min(1).optional(),
    celebration_enabled: z.boolean().optional(),
    target_time_in_status: Duration.nullable().optional(),
    is_archived: z.boolean().optional(),
  }),
});

type Dispatch = (events: AttioEvent[]) => void;

/** A body checked against an endpoint's request schema; a mismatch is Attio's 400 `validation_type`. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  throw bodyInvalid(
    parsed.error.issues.map(
      (issue): ValidationIssue => ({
        code: issue.code,
        path: issue.path.filter((part): part is string | number => typeof part !== "symbol"),
        message: issue.message,
      }),
    ),
  );
}

/** `POST /v2/objects`: a custom object, with the system attributes every object has. */
export function createObject(store: AttioStore, body: unknown): EmulatorReply {
  const { data } = parseBody(CreateObjectBody, body);
  const taken = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();
  const clash = store.objects.some(
    (object) =>
      object.slug === data.api_slug ||
      taken(object.singular, data.singular_noun) ||
      taken(object.plural, data.plural_noun),
  );
  // The spec's message asks for a unique api_slug and unique names.
  if (clash) throw slugConflict("Failed to create object. Please ensure your api_slug and names are unique.");
  const createdAt = store.now();
  const object: ObjectDef = {
    id: store.random.uuid(),
    slug: data.api_slug,
    singular: data.singular_noun,
    plural: data.plural_noun,
    createdAt,
    attributes: systemAttributes(store.random, createdAt),
  };
  store.addObject(object);
  return ok({ data: objectJson(store, object) });
}

/** Everything under `/v2/objects/{object}/attributes`. */
export function handleAttributes(
  request: EmulatorRequest,
  store: AttioStore,
  object: ObjectDef,
  rest: string[],
  body: unknown,
  dispatch: Dispatch,
): EmulatorReply {
  const method = request.method;
  const [slug, sub, item, ...more] = rest;
  if (more.length > 0) throw notFound(`No route for ${method} ${request.path}.`);
  if (slug === undefined) {
    if (method === "GET") return ok({ data: listAttributes(store, object, request.query) });
    if (method === "POST") return ok({ data: createAttribute(store, object, body, dispatch) });
    throw methodNotAllowed();
  }
  const attribute = store.attribute(object, slug);
  if (!attribute) throw notFound(`Attribute with slug/ID "${slug}" not found.`);
  if (sub === undefined) {
    if (method === "GET") return ok({ data: attributeJson(store, object, attribute) });
    if (method === "PATCH") return ok({ data: updateAttribute(store, object, attribute, body, dispatch) });
    throw methodNotAllowed();
  }
  if (sub !== "options" && sub !== "statuses") throw notFound(`No route for ${method} ${request.path}.`);
  const kind = sub === "options" ? "select" : "status";
  if (item === undefined && method === "GET") {
    if (attribute.type !== kind) throw notFound(`Attribute "${slug}" has no ${sub}.`);
    const archived = request.query.get("show_archived") === "true";
    return ok({
      data: attribute.options
        .filter((option) => archived || !option.archived)
        .map((option) => optionJson(store, object, attribute, option)),
    });
  }
  if (item === undefined && method === "POST") return ok({ data: createOption(store, object, attribute, kind, body) });
  if (item !== undefined && method === "PATCH") {
    return ok({ data: updateOption(store, object, attribute, kind, item, body) });
  }
  throw methodNotAllowed();
}

function listAttributes(store: AttioStore, object: ObjectDef, query: URLSearchParams): unknown[] {
  const archived = query.get("show_archived") === "true";
  const offset = nonNegative(query.get("offset"), "offset") ?? 0;
  const limit = nonNegative(query.get("limit"), "limit");
  const shown = object.attributes.filter((attribute) => archived || !attribute.archived);
  return shown
    .slice(offset, limit === undefined ? undefined : offset + limit)
    .map((attribute) => attributeJson(store, object, attribute));
}

function nonNegative(raw: string | null, name: string): number | undefined {
  if (raw === null) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    throw invalid("validation_type", `The ${name} query parameter must be a non-negative integer.`);
  }
  return value;
}

/** `POST /v2/objects/{object}/attributes`. With `relationship`, also the reverse attribute on the other object. */
function createAttribute(store: AttioStore, object: ObjectDef, body: unknown, dispatch: Dispatch): unknown {
  const { data } = parseBody(CreateAttributeBody, body);
  const type = data.type;
  if (store.attribute(object, data.api_slug)) {
    throw slugConflict(
      "An attribute with the same API slug already exists on this object. Please choose a different API slug.",
    );
  }
  checkTypeRules(object, type, { unique: data.is_unique, multiselect: data.is_multiselect });
  const relationship = data.relationship ?? null;
  if (relationship && type !== "record-reference") {
    throw invalid("validation_type", 'A relationship can only be created for attributes of type "record-reference".');
  }
  const config = data.config;
  if (config.currency && type !== "currency") {
    throw invalid("validation_type", 'config.currency is only available for attributes of type "currency".');
  }
  if (config.record_reference && type !== "record-reference") {
    throw invalid(
      "validation_type",
      'config.record_reference is only available for attributes of type "record-reference".',
    );
  }
  let targets: string[] = [];
  let other: ObjectDef | undefined;
  if (type === "record-reference") {
    const allowed = (config.record_reference?.allowed_objects ?? []).map((slugOrId) => objectOf(store, slugOrId).slug);
    if (relationship) {
      other = store.object(relationship.object);
      if (allowed.some((slug) => slug !== other?.slug)) {
        throw invalid(
          "validation_type",
          "config.record_reference.allowed_objects must contain only the relationship object.",
        );
      }
      const sameSlug = other.slug === object.slug && relationship.api_slug === data.api_slug;
      if (sameSlug || store.attribute(other, relationship.api_slug)) {
        throw slugConflict(
          `An attribute with the API slug "${relationship.api_slug}" already exists on the related object. Please choose a different API slug.`,
        );
      }
      targets = [other.slug];
    } else {
      // The sandbox insists on the allowed objects (the spec's minItems: 1) rather than guess a default.
      if (allowed.length === 0) {
        throw invalid(
          "validation_type",
          "Record reference attributes need config.record_reference.allowed_objects (or a relationship).",
        );
      }
      targets = [...new Set(allowed)];
    }
  }
  const createdAt = store.now();
  const attribute: AttributeDef = {
    ...buildAttribute([data.api_slug, type, "w"], store.random, createdAt),
    title: data.title,
    description: data.description,
    custom: true,
    required: data.is_required,
    unique: data.is_unique,
    multiselect: data.is_multiselect,
    targets,
    // A new currency attribute without config takes Attio's defaults (deals' value: USD, symbol).
    currencyCode: type === "currency" ? (config.currency?.default_currency_code ?? "USD") : null,
    currencyDisplay: type === "currency" ? (config.currency?.display_type ?? "symbol") : null,
  };
  attribute.defaultValue = defaultValueOf(store, object, attribute, data.default_value ?? null);
  const events: AttioEvent[] = [];
  store.addAttribute(object, attribute);
  events.push(store.attributeEvent("object-attribute.created", object, attribute, store.apiActor));
  if (relationship && other) {
    const reverse: AttributeDef = {
      ...buildAttribute([relationship.api_slug, "record-reference", "w"], store.random, createdAt),
      title: relationship.title,
      custom: true,
      multiselect: relationship.is_multiselect,
      targets: [object.slug],
      inverse: { object: object.slug, attribute: attribute.slug },
    };
    attribute.inverse = { object: other.slug, attribute: reverse.slug };
    store.addAttribute(other, reverse);
    events.push(store.attributeEvent("object-attribute.created", other, reverse, store.apiActor));
  }
  dispatch(events);
  return attributeJson(store, object, attribute);
}

/** Rules of the docs that the request schema cannot express. */
function checkTypeRules(
  object: ObjectDef,
  type: AttributeType,
  flags: { unique?: boolean | undefined; multiselect?: boolean | undefined },
): void {
  const standard = object.slug === "people" || object.slug === "companies";
  if (type === "status" && standard) {
    throw invalid("validation_type", "Company and person objects do not support status attributes.");
  }
  if (flags.multiselect && !MULTISELECT_TYPES.includes(type)) {
    throw invalid("validation_type", `Attributes of type "${type}" cannot be multiselect.`);
  }
  if (flags.unique && !UNIQUE_TYPES.includes(type)) {
    throw invalid("validation_type", `Attributes of type "${type}" cannot be unique.`);
  }
  if (flags.unique && standard) {
    // Docs "standard objects: companies": no new unique attributes on companies. People are treated
    // the same way (third-party reports of Attio's rule; unconfirmed, and the stricter choice).
    throw invalid("validation_type", `Unique attributes cannot be added to the ${object.slug} object.`);
  }
}

function objectOf(store: AttioStore, slugOrId: string): ObjectDef {
  const object = store.objects.find((candidate) => candidate.slug === slugOrId || candidate.id === slugOrId);
  if (!object) throw invalid("validation_type", `Could not find an object with slug/ID "${slugOrId}".`);
  return object;
}

/**
 * Validates a default value against the attribute: "not currently supported on people or company
 * objects"; dynamic `current-user` for actor references; dynamic durations for dates and timestamps;
 * static templates are values the attribute accepts.
 */
function defaultValueOf(
  store: AttioStore,
  object: ObjectDef,
  attribute: AttributeDef,
  input: z.infer<typeof DefaultValueInput>,
): DefaultValue {
  if (input === null) return null;
  if (object.slug === "people" || object.slug === "companies") {
    throw invalid("validation_type", "Default values are not currently supported on people or company objects.");
  }
  if (input.type === "dynamic") {
    const fits =
      attribute.type === "actor-reference"
        ? input.template === "current-user"
        : (attribute.type === "date" || attribute.type === "timestamp") && ISO_DURATION.test(input.template);
    if (!fits) {
      throw invalid(
        "validation_type",
        `The dynamic default value "${input.template}" is not available for attributes of type "${attribute.type}".`,
      );
    }
    return { type: "dynamic", template: input.template };
  }
  if (input.template.length === 0) throw invalid("validation_type", "A static default value needs a template value.");
  // An array of values, of which a single-value attribute takes at most one.
  return { type: "static", template: parseInput(object, attribute, input.template, store.valueContext()) };
}

/** `PATCH /v2/objects/{object}/attributes/{attribute}`: only attributes made through the API can change. */
function updateAttribute(
  store: AttioStore,
  object: ObjectDef,
  attribute: AttributeDef,
  body: unknown,
  dispatch: Dispatch,
): unknown {
  const { data } = parseBody(UpdateAttributeBody, body);
  if (Object.keys(data).length === 0) {
    throw invalid(
      "validation_type",
      "You passed an empty payload. Please ensure you are updating at least one property in your request.",
    );
  }
  if (!attribute.custom) throw invalid("system_edit_unauthorized", "Cannot update a System attribute.");
  if (data.api_slug !== undefined && data.api_slug !== attribute.slug && store.attribute(object, data.api_slug)) {
    throw slugConflict(
      "An attribute with the same API slug already exists on this object. Please choose a different API slug.",
    );
  }
  checkTypeRules(object, attribute.type, { unique: data.is_unique });
  const config = data.config;
  if (config?.currency && attribute.type !== "currency") {
    throw invalid("validation_type", 'config.currency is only available for attributes of type "currency".');
  }
  let targets: string[] | undefined;
  if (config?.record_reference) {
    if (attribute.type !== "record-reference") {
      throw invalid(
        "validation_type",
        'config.record_reference is only available for attributes of type "record-reference".',
      );
    }
    targets = [...new Set(config.record_reference.allowed_objects.map((slugOrId) => objectOf(store, slugOrId).slug))];
    if (attribute.inverse && targets.some((slug) => slug !== attribute.inverse?.object)) {
      throw invalid(
        "validation_type",
        "config.record_reference.allowed_objects must contain only the relationship object.",
      );
    }
  }
  const defaultValue =
    data.default_value === undefined ? undefined : defaultValueOf(store, object, attribute, data.default_value);
  // Everything is checked: now change it.
  if (data.title !== undefined) attribute.title = data.title;
  if (data.description !== undefined) attribute.description = data.description;
  if (data.is_required !== undefined) attribute.required = data.is_required;
  if (data.is_archived !== undefined) attribute.archived = data.is_archived;
  if (defaultValue !== undefined) attribute.defaultValue = defaultValue;
  if (config?.currency) {
    // "Changing the currency does not convert values": stored values keep their code.
    attribute.currencyCode = config.currency.default_currency_code;
    attribute.currencyDisplay = config.currency.display_type;
  }
  if (targets) attribute.targets = targets;
  if (data.is_unique !== undefined) store.setUnique(object, attribute, data.is_unique);
  if (data.api_slug !== undefined && data.api_slug !== attribute.slug) {
    store.renameAttribute(object, attribute, data.api_slug);
  }
  dispatch([store.attributeEvent("object-attribute.updated", object, attribute, store.apiActor)]);
  return attributeJson(store, object, attribute);
}

type OptionKind = "select" | "status";

const notOfKind = (kind: OptionKind) =>
  invalid("validation_type", `This attribute is not a ${kind === "select" ? "select" : "status"} attribute.`);
const titleTaken = (kind: OptionKind, title: string) =>
  slugConflict(`There is already another ${kind === "select" ? "select option" : "status"} with the title "${title}".`);

/** `POST …/options` and `POST …/statuses`. Titles are unique per attribute, archived ones included. */
function createOption(
  store: AttioStore,
  object: ObjectDef,
  attribute: AttributeDef,
  kind: OptionKind,
  body: unknown,
): unknown {
  const input =
    kind === "select"
      ? { ...parseBody(CreateOptionBody, body).data, celebration_enabled: false, target_time_in_status: null }
      : parseBody(CreateStatusBody, body).data;
  if (attribute.type !== kind) throw notOfKind(kind);
  // Enriched attributes (is_writable: false) are Attio's: their options are not the workspace's to add.
  if (!attribute.writable) throw invalid("system_edit_unauthorized", "Cannot update a System attribute.");
  if (attribute.options.some((option) => sameTitle(option.title, input.title))) throw titleTaken(kind, input.title);
  const option: OptionDef = {
    ...newOption(store.random.uuid(), input.title),
    celebrationEnabled: input.celebration_enabled,
    targetTimeInStatus: input.target_time_in_status ?? null,
  };
  attribute.options.push(option);
  return optionJson(store, object, attribute, option);
}

/** `PATCH …/options/{option}` and `PATCH …/statuses/{status}`: the option named by id or title. */
function updateOption(
  store: AttioStore,
  object: ObjectDef,
  attribute: AttributeDef,
  kind: OptionKind,
  ref: string,
  body: unknown,
): unknown {
  const input: z.infer<typeof UpdateStatusBody>["data"] =
    kind === "select" ? parseBody(UpdateOptionBody, body).data : parseBody(UpdateStatusBody, body).data;
  if (attribute.type !== kind) throw notOfKind(kind);
  if (!attribute.writable) throw invalid("system_edit_unauthorized", "Cannot update a System attribute.");
  const option = attribute.options.find((candidate) => candidate.id === ref || candidate.title === ref);
  if (!option) {
    const noun = kind === "select" ? "select option" : "status option";
    throw invalid("value_not_found", `Cannot find ${kind} attribute with ${noun} title "${ref}".`);
  }
  const title = input.title;
  if (title !== undefined && attribute.options.some((other) => other !== option && sameTitle(other.title, title))) {
    throw titleTaken(kind, title);
  }
  if (title !== undefined) option.title = title;
  if (input.is_archived !== undefined) option.archived = input.is_archived;
  if (input.celebration_enabled !== undefined) option.celebrationEnabled = input.celebration_enabled;
  if (input.target_time_in_status !== undefined) option.targetTimeInStatus = input.target_time_in_status;
  store.refreshOption(object, attribute, option);
  return optionJson(store, object, attribute, option);
}

function sameTitle(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

export function objectJson(store: AttioStore, object: ObjectDef): unknown {
  return {
    id: { workspace_id: store.workspace.id, object_id: object.id },
    api_slug: object.slug,
    singular_noun: object.singular,
    plural_noun: object.plural,
    created_at: object.createdAt,
  };
}

/** The spec's `select-option` and `status` schemas. */
function optionJson(store: AttioStore, object: ObjectDef, attribute: AttributeDef, option: OptionDef): unknown {
  const id = { workspace_id: store.workspace.id, object_id: object.id, attribute_id: attribute.id };
  if (attribute.type === "status") {
    return {
      id: { ...id, status_id: option.id },
      title: option.title,
      is_archived: option.archived,
      target_time_in_status: option.targetTimeInStatus,
      celebration_enabled: option.celebrationEnabled,
    };
  }
  return { id: { ...id, option_id: option.id }, title: option.title, is_archived: option.archived };
}

/** The spec's `attribute` schema. Attio's own attributes are system attributes, writable or not. */
export function attributeJson(store: AttioStore, object: ObjectDef, attribute: AttributeDef): unknown {
  let relationship: unknown = null;
  if (attribute.inverse) {
    const other = store.objects.find((candidate) => candidate.slug === attribute.inverse?.object);
    const inverse = other ? store.attribute(other, attribute.inverse.attribute) : undefined;
    if (other && inverse) {
      relationship = {
        id: { workspace_id: store.workspace.id, object_id: other.id, attribute_id: inverse.id },
        object_slug: other.slug,
        title: inverse.title,
        api_slug: inverse.slug,
        is_multiselect: inverse.multiselect,
      };
    }
  }
  const allowed = attribute.targets
    .map((slug) => store.objects.find((candidate) => candidate.slug === slug)?.id)
    .filter((id): id is string => id !== undefined);
  const defaultValue = attribute.defaultValue;
  return {
    id: { workspace_id: store.workspace.id, object_id: object.id, attribute_id: attribute.id },
    title: attribute.title,
    description: attribute.description,
    api_slug: attribute.slug,
    type: attribute.type,
    is_system_attribute: !attribute.custom,
    is_writable: attribute.writable,
    is_required: attribute.required,
    is_unique: attribute.unique,
    is_multiselect: attribute.multiselect,
    is_default_value_enabled: defaultValue !== null,
    is_archived: attribute.archived,
    default_value:
      defaultValue?.type === "static"
        ? {
            type: "static",
            template: defaultValue.template.map((fields) => ({ ...fields, attribute_type: attribute.type })),
          }
        : defaultValue,
    relationship,
    created_at: attribute.createdAt,
    config: {
      currency: {
        default_currency_code: attribute.currencyCode,
        display_type: attribute.currencyDisplay,
      },
      record_reference: { allowed_object_ids: attribute.type === "record-reference" ? allowed : null },
    },
  };
}

function methodNotAllowed(): AttioError {
  return new AttioError(405, "invalid_request_error", "method_not_allowed", "Method not allowed.");
}

function ok(body: unknown): EmulatorReply {
  return { status: 200, body };
}
