import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import attributes from "../../../fixtures/attio/attributes-people.json";
import companiesObject from "../../../fixtures/attio/object-companies.json";
import person from "../../../fixtures/attio/person-mira-okafor.json";
import members from "../../../fixtures/attio/workspace-members.json";
import { AttioClient } from "../../../src/attio/client.ts";
import { sharedLimiter } from "../../../src/durable/limiter.ts";
import { SyncError } from "../../../src/lib/errors.ts";

/**
 * The exact requests the Attio client sends, route by route (docs/API_CONTRACT.md "Attio"): method,
 * path with its query string, and JSON body. Each answer is in Attio's documented shape.
 */

interface Sent {
  method: string;
  path: string;
  body: unknown;
  authorization: string | null;
}

function recordingClient(answer: (sent: Sent) => Response = () => Response.json({ data: person.data })) {
  const sent: Sent[] = [];
  const client = new AttioClient({
    apiUrl: "https://api.attio.test",
    apiKey: "key-123",
    limiter: sharedLimiter(env.RATE_LIMITER),
    fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      const url = new URL(request.url);
      const text = request.method === "GET" || request.method === "DELETE" ? "" : await request.text();
      const call = {
        method: request.method,
        path: `${url.pathname}${url.search}`,
        body: text ? JSON.parse(text) : null,
        authorization: request.headers.get("authorization"),
      };
      sent.push(call);
      return answer(call);
    },
  });
  return { client, sent };
}

describe("what the Attio client sends", () => {
  it("reads records by id with a record_id $in filter, 500 at a time, and by one id", async () => {
    const { client, sent } = recordingClient(() => Response.json({ data: [person.data] }));
    await client.queryRecords("people", { record_id: { $in: ["r-1", "r-2"] } });
    expect(sent).toEqual([
      {
        method: "POST",
        path: "/v2/objects/people/records/query",
        body: { filter: { record_id: { $in: ["r-1", "r-2"] } }, limit: 500, offset: 0 },
        authorization: "Bearer key-123",
      },
    ]);
    const one = recordingClient();
    await one.client.getRecord("people", "r-1");
    expect(one.sent.map((s) => `${s.method} ${s.path}`)).toEqual(["GET /v2/objects/people/records/r-1"]);
  });

  it("scans an object in creation order from an offset", async () => {
    const { client, sent } = recordingClient(() => Response.json({ data: [] }));
    await client.scanRecords("companies", 1500, 500);
    expect(sent[0]).toMatchObject({
      method: "POST",
      path: "/v2/objects/companies/records/query",
      body: { sorts: [{ attribute: "created_at", direction: "asc" }], limit: 500, offset: 1500 },
    });
  });

  it("creates, asserts on a unique attribute, updates with PATCH and deletes", async () => {
    const { client, sent } = recordingClient((s) =>
      s.method === "DELETE" ? Response.json({}) : Response.json({ data: person.data }),
    );
    const values = { email_addresses: ["mira@northwind.example"], job_title: ["CTO"] };
    await client.createRecord("people", values);
    await client.assertRecord("people", "email_addresses", values);
    await client.updateRecord("people", "r-1", { job_title: ["CEO"] });
    await client.deleteRecord("people", "r-1");
    expect(sent.map(({ method, path, body }) => ({ method, path, body }))).toEqual([
      { method: "POST", path: "/v2/objects/people/records", body: { data: { values } } },
      {
        method: "PUT",
        path: "/v2/objects/people/records?matching_attribute=email_addresses",
        body: { data: { values } },
      },
      { method: "PATCH", path: "/v2/objects/people/records/r-1", body: { data: { values: { job_title: ["CEO"] } } } },
      { method: "DELETE", path: "/v2/objects/people/records/r-1", body: null },
    ]);
  });

  it("reads schemas, options, statuses, members, objects and the token itself", async () => {
    const { client, sent } = recordingClient((s) => {
      if (s.path.includes("/attributes?")) return Response.json(attributes);
      if (s.path.endsWith("/options") || s.path.endsWith("/statuses")) return Response.json({ data: [] });
      if (s.path === "/v2/workspace_members") return Response.json(members);
      if (s.path === "/v2/self") return Response.json({ active: true, workspace_id: "ws" });
      return Response.json(companiesObject);
    });
    await client.listAttributes("people");
    await client.optionTitles("companies", "categories", "select");
    await client.optionTitles("deals", "stage", "status");
    await client.listWorkspaceMembers();
    await client.getObject("companies");
    await client.self();
    expect(sent.map((s) => `${s.method} ${s.path}`)).toEqual([
      "GET /v2/objects/people/attributes?limit=1000",
      "GET /v2/objects/companies/attributes/categories/options",
      "GET /v2/objects/deals/attributes/stage/statuses",
      "GET /v2/workspace_members",
      "GET /v2/objects/companies",
      "GET /v2/self",
    ]);
  });

  it("takes 404 not_found for gone, and 404 merge_in_progress for a record to read again later", async () => {
    const notFound = recordingClient(() =>
      Response.json(
        { status_code: 404, type: "invalid_request_error", code: "not_found", message: "Record not found." },
        { status: 404 },
      ),
    );
    expect(await notFound.client.getRecord("people", "gone")).toBeNull();
    const merging = recordingClient(() =>
      Response.json(
        { status_code: 404, type: "invalid_request_error", code: "merge_in_progress", message: "Merge in progress." },
        { status: 404 },
      ),
    );
    const error = await merging.client.getRecord("people", "new-record").catch((err: unknown) => err);
    expect(error).toBeInstanceOf(SyncError);
    expect(error).toMatchObject({ code: "record_busy", retryable: true, retryAfterSeconds: 10 });
  });
});
