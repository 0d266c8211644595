import { env } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { beforeEach, describe, expect, it } from "vitest";
import { parseEnvConfig } from "../../src/config/env.ts";
import { SyncError } from "../../src/lib/errors.ts";
import { createLogger } from "../../src/lib/log.ts";
import { clearTokenCache } from "../../src/salesforce/token.ts";
import { buildDeps } from "../../src/sync/deps.ts";
import { cachedSchemaSource, forgetAttioSchemas } from "../../src/sync/schema-source.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce, SF_INSTANCE } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";

/** The KV-cached schema source behind validation, against the fakes of both CRMs. */
function source() {
  const deps = buildDeps(env, parseEnvConfig(env), createLogger("silent"));
  return cachedSchemaSource(deps.attio, deps.salesforce, env.CURSORS);
}
const describeCalls = (sf: ReturnType<typeof fakeSalesforce>, object: string) =>
  sf.calls.filter((c) => c.path.endsWith(`/sobjects/${object}/describe`)).length;

beforeEach(() => clearTokenCache());

describe("cachedSchemaSource", () => {
  it("reads each schema once, and remembers that an object does not exist", async () => {
    const attio = fakeAttio();
    const sf = fakeSalesforce();
    server.use(...attio.handlers, ...sf.handlers);
    const schemas = source();
    const first = await schemas.attioAttributes("people");
    expect(first?.map((a) => a.api_slug)).toContain("email_addresses");
    expect(await schemas.attioAttributes("people")).toEqual(first);
    expect(await schemas.attioAttributes("spaceships")).toBeNull();
    expect(await schemas.attioAttributes("spaceships")).toBeNull();
    const attributeReads = attio.calls.filter(
      (c) => c.path.startsWith("/v2/objects/") && c.path.endsWith("/attributes"),
    );
    expect(attributeReads.map((c) => c.path)).toEqual([
      "/v2/objects/people/attributes",
      "/v2/objects/spaceships/attributes",
    ]);

    expect((await schemas.salesforceDescribe("Contact"))?.name).toBe("Contact");
    expect(await schemas.salesforceDescribe("Spaceship__c")).toBeNull();
    expect(await schemas.salesforceDescribe("Spaceship__c")).toBeNull();
    expect(describeCalls(sf, "Contact") + describeCalls(sf, "Spaceship__c")).toBe(2);
    expect(await schemas.attioOptionTitles("deals", "stage", "status")).toEqual(
      await schemas.attioOptionTitles("deals", "stage", "status"),
    );
  });

  it("a describe of an unexpected shape or an outage is an error, and nothing is cached", async () => {
    const sf = fakeSalesforce();
    server.use(...fakeAttio().handlers, ...sf.handlers);
    let answer: () => Response = () => HttpResponse.json({ name: "Lead", fields: "not a list" });
    server.use(http.get(`${SF_INSTANCE}/services/data/v62.0/sobjects/Lead/describe`, () => answer()));
    const schemas = source();
    const odd = await schemas.salesforceDescribe("Lead").catch((e: unknown) => e);
    expect(odd).toBeInstanceOf(SyncError);
    expect(odd).toMatchObject({ code: "upstream_rejected", message: "describe of Lead has an unexpected shape" });
    answer = () => HttpResponse.json([{ errorCode: "SERVER_UNAVAILABLE", message: "down" }], { status: 503 });
    const down = await schemas.salesforceDescribe("Lead").catch((e: unknown) => e);
    expect(down).toMatchObject({ retryable: true });
    expect(await env.CURSORS.get("schema:salesforce:Lead")).toBeNull();
  });

  it("forgetAttioSchemas drops every cached Attio schema and keeps Salesforce's", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const schemas = source();
    await schemas.attioAttributes("companies");
    await schemas.attioOptionTitles("companies", "categories", "select");
    await schemas.salesforceDescribe("Account");
    expect(await forgetAttioSchemas(env.CURSORS)).toBeGreaterThanOrEqual(2);
    expect(await env.CURSORS.get("schema:attio:companies")).toBeNull();
    expect(await env.CURSORS.get("schema:attio-titles:companies:categories")).toBeNull();
    expect(await env.CURSORS.get("schema:salesforce:Account")).not.toBeNull();
  });
});
