import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import { json } from "./helpers.ts";

/** Writes the real Attio refuses are refused here too, with the spec's codes and messages. */

let attio: AttioEmulator;
let owner: string;
let attributeIds: Record<string, string>;

const api = (path: string, method = "GET", body?: unknown) =>
  fetch(`${attio.url}/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

async function refused(path: string, method: string, values: Record<string, unknown>) {
  const response = await api(path, method, { data: { values } });
  expect(response.status).toBe(400);
  const body = await json(response);
  expect(body).toMatchObject({ status_code: 400, type: "invalid_request_error" });
  return body as { code: string; message: string };
}

beforeAll(async () => {
  attio = await startAttioEmulator({ seed: 5 });
  owner = (await json(await api("/workspace_members"))).data[0].email_address;
  const attributes = (await json(await api("/objects/deals/attributes"))).data;
  attributeIds = Object.fromEntries(
    attributes.map((a: { api_slug: string; id: { attribute_id: string } }) => [a.api_slug, a.id.attribute_id]),
  );
});
afterEach(async () => {
  // The same seed again: a new workspace with the same ids.
  await fetch(`${attio.url}/__control/reset`, { method: "POST", body: "{}" });
});
afterAll(async () => {
  await attio.close();
});

describe("Attio emulator: at least as strict as Attio", () => {
  it("refuses a deal without name, stage or owner: 400 missing_value naming the attribute's ID", async () => {
    const full = { name: "Crane", stage: "Lead", owner };
    for (const slug of ["name", "stage", "owner"] as const) {
      const values: Record<string, unknown> = { ...full };
      delete values[slug];
      const body = await refused("/objects/deals/records", "POST", values);
      expect(body.code).toBe("missing_value");
      // The spec's message: Required value for attribute with ID "<uuid>" was not provided.
      expect(body.message).toBe(`Required value for attribute with ID "${attributeIds[slug]}" was not provided.`);
      expect((await refused("/objects/deals/records", "POST", { ...values, [slug]: null })).code).toBe("missing_value");
    }
    const created = await json(await api("/objects/deals/records", "POST", { data: { values: full } }));
    const id = created.data.id.record_id;
    // PATCH and PUT by id answer missing_value too when they would clear a required value.
    expect((await refused(`/objects/deals/records/${id}`, "PATCH", { name: null })).code).toBe("missing_value");
    expect((await refused(`/objects/deals/records/${id}`, "PUT", { owner: [] })).code).toBe("missing_value");
    expect((await json(await api(`/objects/deals/records/${id}`))).data.values.name[0].value).toBe("Crane");
    // A required value may be replaced.
    expect((await api(`/objects/deals/records/${id}`, "PATCH", { data: { values: { name: "Crane 2" } } })).status).toBe(
      200,
    );
    // Users need both of their required, unique attributes.
    expect((await refused("/objects/users/records", "POST", { user_id: "u-1" })).code).toBe("missing_value");
  });

  it("refuses select options and statuses that do not exist: 400 value_not_found", async () => {
    const stage = await refused("/objects/deals/records", "POST", { name: "Crane", stage: "Negotiation", owner });
    expect(stage).toMatchObject({
      code: "value_not_found",
      message: 'Cannot find status attribute with status option title "Negotiation".',
    });
    const category = await refused("/objects/companies/records", "POST", { categories: ["Shipping"] });
    expect(category).toMatchObject({
      code: "value_not_found",
      message: 'Cannot find select attribute with select option title "Shipping".',
    });
    // By id as well as by title, and never created as a side effect.
    const byId = await refused("/objects/deals/records", "POST", {
      name: "Crane",
      stage: { status: "00000000-0000-4000-8000-000000000000" },
      owner,
    });
    expect(byId.code).toBe("value_not_found");
    const statuses = (await json(await api("/objects/deals/attributes/stage/statuses"))).data;
    expect(statuses).toHaveLength(4);
  });

  it("refuses enriched, system and interaction attributes: 400 system_edit_unauthorized", async () => {
    for (const [object, values] of [
      ["companies", { employee_range: "11-50" }],
      ["companies", { logo_url: "https://logo.example/x.png" }],
      ["companies", { funding_raised_usd: 1000 }],
      ["people", { avatar_url: "https://avatar.example/x.png" }],
      ["people", { record_id: "x" }],
      ["people", { created_at: "2026-01-01T00:00:00Z" }],
      ["people", { last_interaction: "2026-01-01T00:00:00Z" }],
    ] as const) {
      expect((await refused(`/objects/${object}/records`, "POST", values)).code).toBe("system_edit_unauthorized");
    }
    const attributes = (await json(await api("/objects/companies/attributes"))).data;
    const enriched = attributes.find((a: { api_slug: string }) => a.api_slug === "employee_range");
    expect(enriched).toMatchObject({ is_system_attribute: true, is_writable: false });
  });

  it("refuses unknown attribute slugs: 400 value_not_found", async () => {
    const body = await refused("/objects/people/records", "POST", { linkedin_url: "https://x.example" });
    expect(body).toEqual({
      status_code: 400,
      type: "invalid_request_error",
      code: "value_not_found",
      message: 'Cannot find attribute with slug/ID "linkedin_url".',
    });
    const assert = await api("/objects/people/records?matching_attribute=email", "PUT", {
      data: { values: { email_addresses: ["a@b.example"] } },
    });
    expect(await json(assert)).toMatchObject({ code: "value_not_found" });
  });

  it("refuses values of the wrong shape", async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ["people", { job_title: 42 }, "validation_type"],
      ["people", { email_addresses: "not-an-array@x.example" }, "validation_type"],
      ["people", { email_addresses: ["not an email"] }, "validation_type"],
      ["people", { name: { first_name: "Ada" } }, "validation_type"],
      ["people", { phone_numbers: ["020 7946 0000"] }, "validation_type"],
      ["people", { primary_location: { locality: "Rotterdam" } }, "validation_type"],
      ["people", { job_title: ["Pilot", "Captain"] }, "validation_type"],
      ["companies", { domains: ["not a domain"] }, "validation_type"],
      [
        "people",
        { company: { target_object: "companies", target_record_id: "00000000-0000-4000-8000-000000000000" } },
        "value_not_found",
      ],
      [
        "people",
        { company: { target_object: "deals", target_record_id: "00000000-0000-4000-8000-000000000000" } },
        "validation_type",
      ],
    ];
    for (const [object, values, code] of cases) {
      expect((await refused(`/objects/${object}/records`, "POST", values)).code, JSON.stringify(values)).toBe(code);
    }
    // Only workspace members can be written to actor references.
    const token = await refused("/objects/deals/records", "POST", {
      name: "Crane",
      stage: "Lead",
      owner: { referenced_actor_type: "api-token", referenced_actor_id: "00000000-0000-4000-8000-000000000000" },
    });
    expect(token.code).toBe("validation_type");
    const stranger = await refused("/objects/deals/records", "POST", {
      name: "Crane",
      stage: "Lead",
      owner: "x@y.example",
    });
    expect(stranger.code).toBe("value_not_found");
    // The body itself: data.values is required.
    const noValues = await api("/objects/people/records", "POST", { data: {} });
    expect((await json(noValues)).code).toBe("validation_type");
  });
});
