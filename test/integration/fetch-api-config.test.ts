import { exports } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { drainQueue } from "../helpers/queue-drain.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

afterEach(() => drainQueue());
beforeEach(() => {
  clearTokenCache();
  server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
});

async function call(method: string, path: string, body?: unknown) {
  const response = await exports.default.fetch(`https://worker.test/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

interface Report {
  ok: boolean;
  problems: { path: string; message: string }[];
  schema?: { code: string; severity: string }[];
}
const validate = async (toml: string) => (await call("POST", "/validate", { toml })).body as unknown as Report;

describe("GET /api/v1/config", () => {
  it("before any version is stored: version 0, no text, the defaults in force", async () => {
    const { status, body } = await call("GET", "/config");
    expect(status).toBe(200);
    expect(body).toMatchObject({
      version: 0,
      toml: "",
      config: { sync: { direction: "bidirectional", conflict_resolution: "last_write" } },
    });
  });
});

describe("GET /api/v1/schema", () => {
  it("answers an Attio object's attributes, and 404 naming an object Attio does not have", async () => {
    const people = await call("GET", "/schema/attio/people");
    expect(people.status).toBe(200);
    expect((people.body["attributes"] as { api_slug: string }[]).map((a) => a.api_slug)).toContain("email_addresses");
    const missing = await call("GET", "/schema/attio/spaceships");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: { code: "not_found", message: "Attio has no object spaceships" } });
  });

  it("answers a Salesforce object's fields, and 404 naming an object Salesforce does not have", async () => {
    const contact = await call("GET", "/schema/salesforce/Contact");
    expect(contact.status).toBe(200);
    expect((contact.body["fields"] as { name: string }[]).map((f) => f.name)).toContain("LastName");
    const missing = await call("GET", "/schema/salesforce/Spaceship__c");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({
      error: { code: "not_found", message: "Salesforce has no object Spaceship__c" },
    });
  });

  it("refuses an object name that is not an API name, naming the parameter", async () => {
    const bad = await call("GET", "/schema/attio/people%2F..%2Fworkspace");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("object");
  });
});

describe("POST /api/v1/validate", () => {
  it("refuses a custom mapping whose objects neither CRM has", async () => {
    const report = await validate(
      '[[custom_mappings]]\nname = "projects"\nattio_object = "projects"\nsalesforce_object = "Project__c"\n',
    );
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { path: "projects", message: 'Attio has no object "projects"' },
      { path: "projects", message: expect.stringMatching(/^Salesforce has no object "Project__c"/) },
    ]);
  });

  it("refuses match keys the document sets on a field Salesforce cannot filter", async () => {
    const report = await validate(
      '[mappings.companies]\nmatch_keys = [{ attio = "description", salesforce = "Description", normalize = "text" }]\n',
    );
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { path: "companies.Description", message: expect.stringContaining("Description is a textarea field") },
    ]);
  });

  it("refuses an External ID field the document names that is not one", async () => {
    const report = await validate('[mappings.people]\nsalesforce_external_id_field = "Email"\n');
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ path: "people.Email", message: "Contact.Email is not an External ID field" }]);
  });

  it("accepts a valid override, still reporting what the live schemas say about the defaults", async () => {
    const report = await validate(
      '[[mappings.people.fields]]\nattio = "job_title"\nsalesforce = "Title"\ndirection = "attio_to_sf"\n',
    );
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    expect(Array.isArray(report.schema)).toBe(true);
    expect(report.schema?.every((issue) => issue.severity !== "error")).toBe(true);
  });
});
