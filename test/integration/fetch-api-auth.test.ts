import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApiV1 } from "../../src/http/api/index.ts";
import worker from "../../src/index.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/** Every route the management router has, with path parameters filled in. */
const routes = createApiV1()
  .routes.filter((r) => r.method !== "ALL")
  .map((r) => ({ method: r.method, path: `/api/v1${r.path.replace(/:(\w+)/g, "x-$1")}` }));

describe("every /api/v1 route requires the admin token", () => {
  it("covers the whole surface", () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    for (const expected of [
      "GET /api/v1/status",
      "GET /api/v1/config",
      "PUT /api/v1/config",
      "POST /api/v1/validate",
      "GET /api/v1/mappings",
      "GET /api/v1/conflicts",
      "POST /api/v1/conflicts/x-id",
      "GET /api/v1/deletes",
      "POST /api/v1/deletes/x-id",
      "POST /api/v1/deletes/batches/x-id",
      "GET /api/v1/matches",
      "POST /api/v1/matches/x-id",
      "GET /api/v1/failures",
      "POST /api/v1/failures/x-id/replay",
      "POST /api/v1/failures/replay",
      "GET /api/v1/issues",
      "POST /api/v1/issues/retry",
      "POST /api/v1/issues/dismiss",
      "GET /api/v1/history",
      "GET /api/v1/schema/attio/x-object",
      "GET /api/v1/schema/salesforce/x-object",
      "GET /api/v1/openapi.json",
      "POST /api/v1/sync",
      "GET /api/v1/sync/x-id",
      "DELETE /api/v1/sync/x-id",
      "POST /api/v1/erase",
    ]) {
      expect(paths).toContain(expected);
    }
  });

  it.each(routes)("$method $path refuses a missing and a wrong token", async ({ method, path }) => {
    const body = method === "GET" ? null : "{}";
    const headers = { "content-type": "application/json" };
    const missing = await exports.default.fetch(`https://worker.test${path}`, { method, headers, body });
    const wrong = await exports.default.fetch(`https://worker.test${path}`, {
      method,
      headers: { ...headers, authorization: `Bearer ${ADMIN_TOKEN}x` },
      body,
    });
    expect(missing.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: { code: "unauthorized", message: "Missing or invalid bearer token" } });
  });

  it("accepts the read-only token (ADMIN_READ_TOKEN) for GET routes only: a write answers 403", async () => {
    const READ_TOKEN = "read-only-token-0123456789abcdef-0123";
    const withReader = { ...env, ADMIN_READ_TOKEN: READ_TOKEN } as Env;
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const call = (method: string, path: string, token: string) =>
      worker.fetch(
        new Request(`https://worker.test/api/v1${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(method === "GET" ? {} : { body: JSON.stringify({ decision: "approve" }) }),
        }),
        withReader,
        createExecutionContext(),
      );
    expect((await call("GET", "/status", READ_TOKEN)).status).toBe(200);
    expect((await call("GET", "/deletes", READ_TOKEN)).status).toBe(200);
    const write = await call("POST", "/deletes/x-id", READ_TOKEN);
    expect(write.status).toBe(403);
    expect(((await write.json()) as { error: { message: string } }).error.message).toContain("read-only");
    expect((await call("PUT", "/config", READ_TOKEN)).status).toBe(403);
    // The admin token still writes (404: no such delete, but past the token check).
    expect((await call("POST", "/deletes/x-id", ADMIN_TOKEN)).status).toBe(404);
    // Without ADMIN_READ_TOKEN set, the same token is just wrong.
    expect(
      (
        await exports.default.fetch("https://worker.test/api/v1/status", {
          headers: { authorization: `Bearer ${READ_TOKEN}` },
        })
      ).status,
    ).toBe(401);
  });

  it("serves an OpenAPI 3.1 document that lists every route", async () => {
    const response = await exports.default.fetch("https://worker.test/api/v1/openapi.json", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const doc = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe("3.1.0");
    const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((m) => `${m.toUpperCase()} /api/v1${path.replace(/\{(\w+)\}/g, "x-$1")}`),
    );
    const served = routes.filter((r) => !r.path.endsWith("openapi.json")).map((r) => `${r.method} ${r.path}`);
    expect(documented.sort()).toEqual(served.sort());
  });

  it("tags every response with the request id its log lines carry", async () => {
    const response = await exports.default.fetch("https://worker.test/healthz");
    expect(response.headers.get("x-request-id")).toMatch(/[0-9a-f-]{36}/);
  });
});
