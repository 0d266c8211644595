import { Connection } from "jsforce";
import { describe, expect, it } from "vitest";
import { mapError } from "../../../src/salesforce/errors.ts";
import { useFetchTransport } from "../../../src/salesforce/transport.ts";

/** A jsforce Connection whose requests go through `send`, as the client builds it. */
function connection(send: typeof fetch, timeoutMs = 60_000): Connection {
  const conn = new Connection({ instanceUrl: "https://org.test", accessToken: "token", version: "62.0" });
  useFetchTransport(conn, timeoutMs, send);
  return conn;
}

async function failure(work: PromiseLike<unknown>): Promise<unknown> {
  return Promise.resolve(work).then(
    () => new Error("the request succeeded"),
    (err: unknown) => err,
  );
}

describe("useFetchTransport", () => {
  it("rejects a query at once when the connection is lost (jsforce's own transport never settles)", async () => {
    let calls = 0;
    const conn = connection(async () => {
      calls++;
      throw new TypeError("Network connection lost.");
    });
    const error = mapError(await failure(conn.query("SELECT Id FROM Contact")));
    expect(calls).toBe(1);
    expect(error).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: "Salesforce unreachable: Network connection lost.",
    });
  });

  it("rejects when the body cannot be read", async () => {
    const body = new ReadableStream({
      pull(controller) {
        controller.error(new TypeError("Network connection lost."));
      },
    });
    const conn = connection(async () => new Response(body, { status: 200 }));
    const error = mapError(await failure(conn.query("SELECT Id FROM Contact")));
    expect(error).toMatchObject({ code: "upstream_unavailable", retryable: true });
  });

  it("rejects a request with no answer in time with a retryable error naming the setting", async () => {
    const conn = connection(
      (_url, init) =>
        new Promise((_, reject) => {
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
      5,
    );
    const error = mapError(await failure(conn.query("SELECT Id FROM Contact")));
    expect(error).toMatchObject({
      code: "upstream_unavailable",
      retryable: true,
      message: "Salesforce did not answer within 0.005 s (SALESFORCE_TIMEOUT_SECONDS)",
    });
  });

  it("sends the request jsforce built and hands back status, headers and body", async () => {
    const sent: Request[] = [];
    const conn = connection(async (url, init) => {
      sent.push(new Request(url, init));
      return Response.json(
        { totalSize: 1, done: true, records: [{ Id: "003000000000001AAA" }] },
        { headers: { "Sforce-Limit-Info": "api-usage=7/15000" } },
      );
    });
    const result = await conn.query<{ Id: string }>("SELECT Id FROM Contact");
    expect(result.records.map((r) => r.Id)).toEqual(["003000000000001AAA"]);
    expect(conn.limitInfo?.apiUsage).toEqual({ used: 7, limit: 15000 });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.method).toBe("GET");
    expect(sent[0]?.url).toBe("https://org.test/services/data/v62.0/query?q=SELECT%20Id%20FROM%20Contact");
    expect(sent[0]?.headers.get("authorization")).toBe("Bearer token");
  });

  it("sends a JSON body and reads an error answer as jsforce's error", async () => {
    const bodies: string[] = [];
    const conn = connection(async (_url, init) => {
      bodies.push(String(init?.body));
      return Response.json([{ errorCode: "SERVER_UNAVAILABLE", message: "down" }], { status: 503 });
    });
    const error = mapError(
      await failure(conn.request({ method: "POST", url: "/services/data/v62.0/composite/sobjects", body: '{"a":1}' })),
    );
    expect(bodies).toEqual(['{"a":1}']);
    expect(error).toMatchObject({ code: "upstream_unavailable", retryable: true });
  });
});
