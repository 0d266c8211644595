import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AttioApiError,
  createAttribute,
  createObject,
  createSelectOption,
  createStatus,
  provisionProjects,
  updateAttribute,
} from "../../../scripts/sandbox/attio/provision.ts";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import { json, startReceiver, waitFor } from "./helpers.ts";

let attio: AttioEmulator;

const api = (path: string, method = "GET", body?: unknown) =>
  fetch(`${attio.url}/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

/** The `data` of "create an attribute" with every required field; `over` replaces some. */
const attributeBody = (over: Record<string, unknown>) => ({
  data: {
    title: "Field",
    description: null,
    api_slug: "field",
    type: "text",
    is_required: false,
    is_unique: false,
    is_multiselect: false,
    config: {},
    ...over,
  },
});

const slugs = async (object: string) =>
  (await json(await api(`/objects/${object}/attributes`))).data.map((a: { api_slug: string }) => a.api_slug);

async function owner(): Promise<string> {
  return (await json(await api("/workspace_members"))).data[0].email_address;
}

beforeEach(async () => {
  attio = await startAttioEmulator({ seed: 7, retryBaseMs: 5, systemFollowUpMs: 30 });
});
afterEach(async () => {
  await attio.close();
});

describe("Attio emulator: a new workspace", () => {
  it("has the standard objects only, and no projects object", async () => {
    const objects = (await json(await api("/objects"))).data.map((o: { api_slug: string }) => o.api_slug);
    expect(objects).toEqual(["people", "companies", "deals", "users"]);
    const projects = await api("/objects/projects");
    expect(projects.status).toBe(404);
    expect(await json(projects)).toMatchObject({
      code: "not_found",
      message: 'Object with slug/ID "projects" not found.',
    });
    expect((await api("/objects/projects/records/query", "POST", {})).status).toBe(404);
  });

  it("has exactly the standard deal attributes, and deals read with exactly those values", async () => {
    const standard = ["name", "stage", "owner", "value", "associated_people", "associated_company"];
    expect(await slugs("deals")).toEqual(["record_id", ...standard, "created_at", "created_by"]);
    const attributes = (await json(await api("/objects/deals/attributes"))).data;
    for (const attribute of attributes) {
      // Attio's own attributes are system attributes, writable or not (recorded attribute list).
      expect(attribute.is_system_attribute).toBe(true);
    }
    const required = attributes
      .filter((a: { is_required: boolean }) => a.is_required)
      .map((a: { api_slug: string }) => a.api_slug);
    expect(required).toEqual(["name", "stage", "owner"]);
    const stages = (await json(await api("/objects/deals/attributes/stage/statuses"))).data;
    expect(stages.map((s: { title: string }) => s.title)).toEqual(["Lead", "In Progress", "Won 🎉", "Lost"]);
    const deal = await json(
      await api("/objects/deals/records", "POST", {
        data: { values: { name: "Hull survey", stage: "Lead", owner: await owner() } },
      }),
    );
    expect(Object.keys(deal.data.values)).toEqual(["record_id", ...standard, "created_at", "created_by"]);
    for (const custom of ["close_date", "source", "probability"]) {
      const write = await api(`/objects/deals/records/${deal.data.id.record_id}`, "PATCH", {
        data: { values: { [custom]: "x" } },
      });
      expect(await json(write)).toMatchObject({ status_code: 400, code: "value_not_found" });
    }
  });

  it("serves workspace members in the recorded shape, the first one an admin", async () => {
    const members = (await json(await api("/workspace_members"))).data;
    for (const member of members) {
      expect(Object.keys(member).sort()).toEqual(
        ["access_level", "avatar_url", "created_at", "email_address", "first_name", "id", "last_name"].sort(),
      );
      expect(Object.keys(member.id).sort()).toEqual(["workspace_id", "workspace_member_id"]);
    }
    expect(members[0].access_level).toBe("admin");
    const one = await json(await api(`/workspace_members/${members[1].id.workspace_member_id}`));
    expect(one.data).toEqual(members[1]);
  });

  it("keeps people, companies and users to their documented standard attributes", async () => {
    expect(await slugs("users")).toEqual([
      "record_id",
      "user_id",
      "primary_email_address",
      "person",
      "workspace",
      "created_at",
      "created_by",
    ]);
    const userRequired = (await json(await api("/objects/users/attributes"))).data
      .filter((a: { is_required: boolean }) => a.is_required)
      .map((a: { api_slug: string }) => a.api_slug);
    expect(userRequired).toEqual(["user_id", "primary_email_address"]);
    expect(await slugs("people")).toContain("email_addresses");
    expect(await slugs("companies")).toContain("domains");
  });
});

describe("Attio emulator: objects and attributes through the API", () => {
  it("creates a custom object with the system attributes; a taken slug or name is 409 slug_conflict", async () => {
    const created = await json(
      await api("/objects", "POST", {
        data: { api_slug: "vessels", singular_noun: "Vessel", plural_noun: "Vessels" },
      }),
    );
    expect(created.data).toMatchObject({ api_slug: "vessels", singular_noun: "Vessel", plural_noun: "Vessels" });
    expect(Object.keys(created.data).sort()).toEqual(["api_slug", "created_at", "id", "plural_noun", "singular_noun"]);
    expect(await slugs("vessels")).toEqual(["record_id", "created_at", "created_by"]);
    expect((await json(await api("/objects/vessels"))).data.id.object_id).toBe(created.data.id.object_id);
    for (const data of [
      { api_slug: "vessels", singular_noun: "Ship", plural_noun: "Ships" },
      { api_slug: "people", singular_noun: "Human", plural_noun: "Humans" },
      { api_slug: "boats", singular_noun: "Vessel", plural_noun: "Boats" },
    ]) {
      const clash = await api("/objects", "POST", { data });
      expect(clash.status).toBe(409);
      expect(await json(clash)).toEqual({
        status_code: 409,
        type: "invalid_request_error",
        code: "slug_conflict",
        message: "Failed to create object. Please ensure your api_slug and names are unique.",
      });
    }
    const invalidBody = await api("/objects", "POST", {
      data: { api_slug: "Bad Slug", singular_noun: "", plural_noun: "X" },
    });
    expect(invalidBody.status).toBe(400);
    const invalidJson = await json(invalidBody);
    expect(invalidJson).toMatchObject({ code: "validation_type", message: "Body payload validation error." });
    expect(invalidJson.validation_errors.map((e: { path: string[] }) => e.path.join("."))).toEqual([
      "data.api_slug",
      "data.singular_noun",
    ]);
  });

  it("creates attributes in the spec's shape; they are writable, not system, and usable at once", async () => {
    await createObject(attio.url, attio.apiKey, {
      api_slug: "vessels",
      singular_noun: "Vessel",
      plural_noun: "Vessels",
    });
    const response = await api(
      "/objects/vessels/attributes",
      "POST",
      attributeBody({ title: "IMO number", description: "Seven digits", api_slug: "imo_number", is_unique: true }),
    );
    expect(response.status).toBe(200);
    const attribute = (await json(response)).data;
    expect(attribute).toMatchObject({
      title: "IMO number",
      description: "Seven digits",
      api_slug: "imo_number",
      type: "text",
      is_system_attribute: false,
      is_writable: true,
      is_required: false,
      is_unique: true,
      is_multiselect: false,
      is_archived: false,
      is_default_value_enabled: false,
      default_value: null,
      relationship: null,
      config: {
        currency: { default_currency_code: null, display_type: null },
        record_reference: { allowed_object_ids: null },
      },
    });
    expect(Object.keys(attribute.id).sort()).toEqual(["attribute_id", "object_id", "workspace_id"]);
    expect(await slugs("vessels")).toEqual(["record_id", "imo_number", "created_at", "created_by"]);
    expect((await json(await api("/objects/vessels/attributes/imo_number"))).data).toEqual(attribute);
    // Records, assert by the new unique attribute, filters.
    const one = await json(
      await api("/objects/vessels/records?matching_attribute=imo_number", "PUT", {
        data: { values: { imo_number: "9321483" } },
      }),
    );
    const again = await json(
      await api("/objects/vessels/records?matching_attribute=imo_number", "PUT", {
        data: { values: { imo_number: "9321483" } },
      }),
    );
    expect(again.data.id.record_id).toBe(one.data.id.record_id);
    const duplicate = await api("/objects/vessels/records", "POST", { data: { values: { imo_number: "9321483" } } });
    expect((await json(duplicate)).code).toBe("uniqueness_conflict");
    const found = await json(
      await api("/objects/vessels/records/query", "POST", { filter: { imo_number: "9321483" } }),
    );
    expect(found.data.map((r: { id: { record_id: string } }) => r.id.record_id)).toEqual([one.data.id.record_id]);
    expect(one.data.web_url).toContain(`/vessels/record/${one.data.id.record_id}`);
  });

  it("answers the spec's errors: missing fields, unknown type, taken slug, unknown object", async () => {
    const missing = await api("/objects/deals/attributes", "POST", {
      data: { title: "Close date", api_slug: "close_date", type: "date" },
    });
    expect(missing.status).toBe(400);
    const missingJson = await json(missing);
    expect(missingJson.code).toBe("validation_type");
    // description (nullable but required), is_required, is_unique, is_multiselect and config.
    expect(missingJson.validation_errors.map((e: { path: string[] }) => e.path.join(".")).sort()).toEqual([
      "data.config",
      "data.description",
      "data.is_multiselect",
      "data.is_required",
      "data.is_unique",
    ]);
    for (const type of ["url", "personal-name", "interaction", "multiselect"]) {
      const unknown = await api("/objects/deals/attributes", "POST", attributeBody({ type }));
      expect(unknown.status).toBe(400);
      const body = await json(unknown);
      expect(body).toMatchObject({ status_code: 400, type: "invalid_request_error", code: "validation_type" });
      expect(body.validation_errors[0].path).toEqual(["data", "type"]);
    }
    const extra = await api("/objects/deals/attributes", "POST", attributeBody({ is_writable: false }));
    expect((await json(extra)).code).toBe("validation_type");
    const taken = await api("/objects/deals/attributes", "POST", attributeBody({ api_slug: "stage" }));
    expect(taken.status).toBe(409);
    expect((await json(taken)).code).toBe("slug_conflict");
    const nowhere = await api("/objects/vessels/attributes", "POST", attributeBody({}));
    expect(nowhere.status).toBe(404);
    expect((await json(nowhere)).code).toBe("not_found");
    const noAttribute = await api("/objects/deals/attributes/close_date");
    expect(noAttribute.status).toBe(404);
    expect(await json(noAttribute)).toMatchObject({
      code: "not_found",
      message: 'Attribute with slug/ID "close_date" not found.',
    });
    expect((await api("/objects/deals/attributes/close_date/options", "POST", { data: { title: "X" } })).status).toBe(
      404,
    );
  });

  it("honours the documented constraints on types, uniqueness and default values", async () => {
    const refuse = async (object: string, over: Record<string, unknown>, code = "validation_type") => {
      const response = await api(`/objects/${object}/attributes`, "POST", attributeBody(over));
      expect(response.status).toBe(400);
      expect((await json(response)).code).toBe(code);
    };
    // "You cannot create new custom attributes with a unique constraint for Company objects."
    await refuse("companies", { api_slug: "registry_id", is_unique: true });
    await refuse("people", { api_slug: "employee_number", is_unique: true });
    // "Select attributes cannot be configured to be unique"; "All status attributes are single-select."
    await refuse("deals", { api_slug: "source", type: "select", is_unique: true });
    await refuse("deals", { api_slug: "phase", type: "status", is_multiselect: true });
    await refuse("deals", { api_slug: "notes", type: "text", is_multiselect: true });
    // Companies and people do not support status attributes; default values are not supported there.
    await refuse("companies", { api_slug: "phase", type: "status" });
    await refuse("people", {
      api_slug: "tier",
      type: "number",
      default_value: { type: "static", template: [{ value: 1 }] },
    });
    // Config must fit the type; references name their objects; relationships are record references.
    await refuse("deals", {
      type: "text",
      config: { currency: { default_currency_code: "EUR", display_type: "code" } },
    });
    await refuse("deals", { api_slug: "partner", type: "record-reference" });
    await refuse("deals", {
      api_slug: "partner",
      type: "record-reference",
      config: { record_reference: { allowed_objects: ["ships"] } },
    });
    await refuse("deals", {
      api_slug: "partner",
      type: "text",
      relationship: { object: "companies", title: "Partner deals", api_slug: "partner_deals", is_multiselect: true },
    });
    await refuse("deals", {
      type: "currency",
      config: { currency: { default_currency_code: "XXX", display_type: "code" } },
    });
    await refuse("deals", {
      api_slug: "due",
      type: "date",
      default_value: { type: "dynamic", template: "current-user" },
    });
    // Nothing was half-made along the way.
    expect(await slugs("deals")).toHaveLength(9);
  });

  it("creates the kinds of attribute a sync needs: currency, select, references, defaults", async () => {
    const member = (await json(await api("/workspace_members"))).data[0];
    await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Salesforce ID",
      api_slug: "salesforce_id",
      type: "text",
      is_unique: true,
    });
    const amount = await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Amount (EUR)",
      api_slug: "amount_eur",
      type: "currency",
      config: { currency: { default_currency_code: "EUR", display_type: "code" } },
    });
    expect(amount).toMatchObject({ config: { currency: { default_currency_code: "EUR", display_type: "code" } } });
    await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Close date",
      api_slug: "close_date",
      type: "date",
      default_value: { type: "dynamic", template: "P1M" },
    });
    await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Probability",
      api_slug: "probability",
      type: "number",
      default_value: { type: "static", template: [{ value: 10 }] },
    });
    const source = await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Source",
      api_slug: "source",
      type: "select",
      is_multiselect: true,
    });
    expect(source).toMatchObject({ is_multiselect: true, type: "select" });
    const partner = await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Partner",
      api_slug: "partner",
      type: "record-reference",
      config: { record_reference: { allowed_objects: ["companies"] } },
    });
    const companiesId = (await json(await api("/objects/companies"))).data.id.object_id;
    expect(partner).toMatchObject({
      config: { record_reference: { allowed_object_ids: [companiesId] } },
      relationship: null,
    });
    await createAttribute(attio.url, attio.apiKey, "deals", {
      title: "Sponsor",
      api_slug: "sponsor",
      type: "actor-reference",
      default_value: { type: "dynamic", template: "current-user" },
    });

    // Unknown option titles are errors: options come from the options API only.
    const company = await json(
      await api("/objects/companies/records", "POST", { data: { values: { domains: ["keel.example"] } } }),
    );
    const values = {
      name: "Keel refit",
      stage: "Lead",
      owner: member.email_address,
      salesforce_id: "006000000000001AAA",
      amount_eur: 1200.5,
      source: ["Referral"],
      partner: { target_object: "companies", target_record_id: company.data.id.record_id },
    };
    const refused = await api("/objects/deals/records", "POST", { data: { values } });
    expect(await json(refused)).toMatchObject({
      code: "value_not_found",
      message: 'Cannot find select attribute with select option title "Referral".',
    });
    const option = await createSelectOption(attio.url, attio.apiKey, "deals", "source", "Referral");
    expect(Object.keys(option as object).sort()).toEqual(["id", "is_archived", "title"]);
    const deal = await json(await api("/objects/deals/records", "POST", { data: { values } }));
    expect(deal.data.values.amount_eur[0]).toMatchObject({ currency_code: "EUR", currency_value: 1200.5 });
    expect(deal.data.values.source[0].option.title).toBe("Referral");
    expect(deal.data.values.probability[0].value).toBe(10);
    expect(deal.data.values.close_date[0].value).toMatch(/^\d{4}-\d\d-\d\d$/);
    // The API token made it, so the dynamic default names the token.
    expect(deal.data.values.sponsor[0]).toMatchObject({ referenced_actor_type: "api-token" });
    const bySalesforceId = await json(
      await api("/objects/deals/records?matching_attribute=salesforce_id", "PUT", {
        data: { values: { salesforce_id: "006000000000001AAA", name: "Keel refit II" } },
      }),
    );
    expect(bySalesforceId.data.id.record_id).toBe(deal.data.id.record_id);
    const bySource = await json(await api("/objects/deals/records/query", "POST", { filter: { source: "Referral" } }));
    expect(bySource.data).toHaveLength(1);
  });

  it("creates two-way relationships over the API, kept in step from either side", async () => {
    await createObject(attio.url, attio.apiKey, {
      api_slug: "vessels",
      singular_noun: "Vessel",
      plural_noun: "Vessels",
    });
    const operator = await createAttribute(attio.url, attio.apiKey, "vessels", {
      title: "Operator",
      api_slug: "operator",
      type: "record-reference",
      relationship: { object: "companies", title: "Fleet", api_slug: "fleet", is_multiselect: true },
    });
    expect(operator).toMatchObject({
      relationship: { object_slug: "companies", api_slug: "fleet", is_multiselect: true },
    });
    const fleet = (await json(await api("/objects/companies/attributes/fleet"))).data;
    expect(fleet).toMatchObject({
      is_system_attribute: false,
      relationship: { object_slug: "vessels", api_slug: "operator" },
    });
    const company = await json(
      await api("/objects/companies/records", "POST", { data: { values: { domains: ["tug.example"] } } }),
    );
    const companyId = company.data.id.record_id;
    const vessel = await json(
      await api("/objects/vessels/records", "POST", {
        data: { values: { operator: { target_object: "companies", target_record_id: companyId } } },
      }),
    );
    const read = await json(await api(`/objects/companies/records/${companyId}`));
    expect(read.data.values.fleet.map((v: { target_record_id: string }) => v.target_record_id)).toEqual([
      vessel.data.id.record_id,
    ]);
    const taken = await api(
      "/objects/vessels/attributes",
      "POST",
      attributeBody({
        api_slug: "owner_company",
        type: "record-reference",
        relationship: { object: "companies", title: "Fleet", api_slug: "fleet", is_multiselect: true },
      }),
    );
    expect(taken.status).toBe(409);
  });

  it("fires object-attribute events, and record events for records of new objects", async () => {
    const receiver = await startReceiver();
    try {
      await api("/webhooks", "POST", {
        data: {
          target_url: receiver.url,
          subscriptions: [
            { event_type: "object-attribute.created", filter: null },
            { event_type: "object-attribute.updated", filter: null },
            { event_type: "record.created", filter: null },
          ],
        },
      });
      await createObject(attio.url, attio.apiKey, {
        api_slug: "vessels",
        singular_noun: "Vessel",
        plural_noun: "Vessels",
      });
      const attribute = (await createAttribute(attio.url, attio.apiKey, "vessels", {
        title: "Flag",
        api_slug: "flag",
        type: "text",
      })) as { id: { attribute_id: string; object_id: string } };
      await updateAttribute(attio.url, attio.apiKey, "vessels", "flag", { title: "Flag state" });
      await api("/objects/vessels/records", "POST", { data: { values: { flag: "NL" } } });
      await waitFor(() => receiver.received.length >= 3);
      const events = receiver.received.flatMap((r) => JSON.parse(r.body).events);
      expect(events.map((e: { event_type: string }) => e.event_type)).toEqual([
        "object-attribute.created",
        "object-attribute.updated",
        "record.created",
      ]);
      expect(events[0].id).toEqual({
        workspace_id: expect.any(String),
        object_id: attribute.id.object_id,
        attribute_id: attribute.id.attribute_id,
      });
      expect(events[0].actor.type).toBe("api-token");
    } finally {
      await receiver.close();
    }
  });

  it("updates attributes: system ones refuse, archived ones vanish from reads and writes", async () => {
    const system = await api("/objects/deals/attributes/value", "PATCH", {
      data: { config: { currency: { default_currency_code: "EUR", display_type: "symbol" } } },
    });
    expect(system.status).toBe(400);
    expect(await json(system)).toMatchObject({
      code: "system_edit_unauthorized",
      message: "Cannot update a System attribute.",
    });
    expect((await json(await api("/objects/deals/attributes/value", "PATCH", { data: {} }))).code).toBe(
      "validation_type",
    );

    await createObject(attio.url, attio.apiKey, {
      api_slug: "vessels",
      singular_noun: "Vessel",
      plural_noun: "Vessels",
    });
    await createAttribute(attio.url, attio.apiKey, "vessels", {
      title: "Call sign",
      api_slug: "call_sign",
      type: "text",
    });
    const vessel = await json(
      await api("/objects/vessels/records", "POST", { data: { values: { call_sign: "PBXA" } } }),
    );
    const id = vessel.data.id.record_id;
    const renamed = await updateAttribute(attio.url, attio.apiKey, "vessels", "call_sign", {
      api_slug: "radio_call_sign",
      is_required: true,
    });
    expect(renamed).toMatchObject({ api_slug: "radio_call_sign", is_required: true });
    const read = await json(await api(`/objects/vessels/records/${id}`));
    expect(read.data.values.radio_call_sign[0].value).toBe("PBXA");
    expect(read.data.values.call_sign).toBeUndefined();
    expect((await json(await api("/objects/vessels/records", "POST", { data: { values: {} } }))).code).toBe(
      "missing_value",
    );

    await updateAttribute(attio.url, attio.apiKey, "vessels", "radio_call_sign", { is_archived: true });
    expect(await slugs("vessels")).toEqual(["record_id", "created_at", "created_by"]);
    const withArchived = await json(await api("/objects/vessels/attributes?show_archived=true"));
    expect(withArchived.data.map((a: { api_slug: string }) => a.api_slug)).toContain("radio_call_sign");
    expect((await json(await api(`/objects/vessels/records/${id}`))).data.values.radio_call_sign).toBeUndefined();
    const write = await api(`/objects/vessels/records/${id}`, "PATCH", { data: { values: { radio_call_sign: "X" } } });
    expect(await json(write)).toMatchObject({ code: "value_not_found" });
    // No longer required while archived.
    expect((await api("/objects/vessels/records", "POST", { data: { values: {} } })).status).toBe(200);
    const filter = await api("/objects/vessels/records/query", "POST", { filter: { radio_call_sign: "PBXA" } });
    expect((await json(filter)).code).toBe("filter_error");
  });

  it("adds select options and statuses; titles are unique; archived ones cannot be chosen", async () => {
    const lead = await createStatus(attio.url, attio.apiKey, "deals", "stage", {
      title: "Qualified",
      celebration_enabled: true,
      target_time_in_status: "P0Y0M7DT0H0M0S",
    });
    expect(lead).toMatchObject({
      title: "Qualified",
      is_archived: false,
      celebration_enabled: true,
      target_time_in_status: "P0Y0M7DT0H0M0S",
    });
    expect(Object.keys((lead as { id: object }).id).sort()).toEqual([
      "attribute_id",
      "object_id",
      "status_id",
      "workspace_id",
    ]);
    const duplicate = await api("/objects/deals/attributes/stage/statuses", "POST", { data: { title: "lead" } });
    expect(duplicate.status).toBe(409);
    expect(await json(duplicate)).toMatchObject({ code: "slug_conflict" });
    const badDuration = await api("/objects/deals/attributes/stage/statuses", "POST", {
      data: { title: "Stalled", target_time_in_status: "a week" },
    });
    expect((await json(badDuration)).code).toBe("validation_type");
    const notStatus = await api("/objects/deals/attributes/name/statuses", "POST", { data: { title: "X" } });
    expect(await json(notStatus)).toMatchObject({
      code: "validation_type",
      message: "This attribute is not a status attribute.",
    });
    const notSelect = await api("/objects/deals/attributes/stage/options", "POST", { data: { title: "X" } });
    expect(await json(notSelect)).toMatchObject({
      code: "validation_type",
      message: "This attribute is not a select attribute.",
    });
    // Enriched selects are Attio's own.
    expect(
      (await api("/objects/companies/attributes/employee_range/options", "POST", { data: { title: "2" } })).status,
    ).toBe(400);
    await createSelectOption(attio.url, attio.apiKey, "companies", "categories", "Shipping");
    await expect(createSelectOption(attio.url, attio.apiKey, "companies", "categories", "SHIPPING")).rejects.toThrow(
      AttioApiError,
    );

    const deal = await json(
      await api("/objects/deals/records", "POST", {
        data: { values: { name: "Dredging", stage: "Qualified", owner: await owner() } },
      }),
    );
    expect(deal.data.values.stage[0].status).toMatchObject({ title: "Qualified", celebration_enabled: true });
    const renamed = await json(
      await api("/objects/deals/attributes/stage/statuses/Qualified", "PATCH", { data: { title: "Sales qualified" } }),
    );
    expect(renamed.data.title).toBe("Sales qualified");
    const read = await json(await api(`/objects/deals/records/${deal.data.id.record_id}`));
    expect(read.data.values.stage[0].status.title).toBe("Sales qualified");
    await api("/objects/deals/attributes/stage/statuses/Sales%20qualified", "PATCH", { data: { is_archived: true } });
    const listed = (await json(await api("/objects/deals/attributes/stage/statuses"))).data;
    expect(listed.map((s: { title: string }) => s.title)).not.toContain("Sales qualified");
    const all = (await json(await api("/objects/deals/attributes/stage/statuses?show_archived=true"))).data;
    expect(all.map((s: { title: string }) => s.title)).toContain("Sales qualified");
    const archived = await api("/objects/deals/records", "POST", {
      data: { values: { name: "Piling", stage: "Sales qualified", owner: await owner() } },
    });
    expect(await json(archived)).toMatchObject({
      code: "value_not_found",
      message: 'Cannot find status attribute with status option title "Sales qualified".',
    });
    const unknown = await api("/objects/deals/attributes/stage/statuses/Nope", "PATCH", { data: { title: "Yes" } });
    expect(await json(unknown)).toMatchObject({ status_code: 400, code: "value_not_found" });
  });

  it("provisions docs/CUSTOM_OBJECTS.md's projects object through the API helpers", async () => {
    await provisionProjects(attio.url, attio.apiKey);
    expect(await slugs("projects")).toEqual([
      "record_id",
      "name",
      "project_code",
      "budget",
      "client",
      "status",
      "salesforce_id",
      "created_at",
      "created_by",
    ]);
    const company = await json(
      await api("/objects/companies/records", "POST", { data: { values: { domains: ["harbour.example"] } } }),
    );
    const project = await json(
      await api("/objects/projects/records?matching_attribute=salesforce_id", "PUT", {
        data: {
          values: {
            name: "Hull scan 2026",
            project_code: "HS-2026-014",
            budget: 250000,
            client: { target_object: "companies", domains: [{ domain: "harbour.example" }] },
            status: "Active",
            salesforce_id: "a05000000000001AAA",
          },
        },
      }),
    );
    expect(project.data.values.client[0].target_record_id).toBe(company.data.id.record_id);
    expect(project.data.values.status[0].status.title).toBe("Active");
    await expect(provisionProjects(attio.url, attio.apiKey)).rejects.toMatchObject({ status: 409 });
    // A reset is a new workspace again.
    await fetch(`${attio.url}/__control/reset`, { method: "POST", body: "{}" });
    expect((await api("/objects/projects")).status).toBe(404);
  });
});
