import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { OWN_ACTOR_KEY } from "../../src/attio/own-actor.ts";
import { VERSION } from "../../src/lib/version.ts";
import { fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

describe("GET /healthz and /api/v1/status", () => {
  it("answers /healthz without auth", async () => {
    const response = await exports.default.fetch("https://worker.test/healthz");
    expect(response.status).toBe(200);
    // `healthy` (cron recent, no open problem) is tested in fetch-doctor.test.ts.
    expect(await response.json()).toEqual({ ok: true, version: VERSION, healthy: expect.any(Boolean) });
  });

  it.each([
    ["no token", {}],
    ["a wrong token", { authorization: "Bearer wrong" }],
    ["a non-bearer scheme", { authorization: `Basic ${ADMIN_TOKEN}` }],
  ])("answers 401 to /api/v1/status with %s", async (_name, headers) => {
    const response = await exports.default.fetch("https://worker.test/api/v1/status", { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toContain("Bearer");
  });

  it("reports version, bindings, dependencies and counts with the admin token", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const response = await exports.default.fetch("https://worker.test/api/v1/status", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      healthy: true,
      problems: [],
      // The test setup started the deployment.
      mode: "running",
      mode_since: expect.any(String),
      mode_changed_by: "test setup",
      held_changes: 0,
      version: VERSION,
      direction: "bidirectional",
      bindings: {
        d1: { ok: true },
        kv: { ok: true },
        queue: { ok: true },
        job_queue: { ok: true },
        record_lock: { ok: true },
        rate_limiter: { ok: true },
      },
      dependencies: { attio: { ok: true }, salesforce: { ok: true } },
      mapped_records: {},
      open_failures: 0,
      parked: [],
      open_conflicts: 0,
      pending_deletes: 0,
      // The estimate: what the Worker sent to its queues minus what its consumers settled.
      queue_backlog: { estimate: expect.any(Number), sent: expect.any(Number), settled: expect.any(Number) },
      held_delete_batches: [],
      ambiguous_matches: 0,
      open_warnings: 0,
      last_cron_run: null,
      mappings: expect.any(Array),
      mapping_issues: expect.any(Array),
      catch_up: null,
      rate_limits: {
        "attio:read": { rate_per_second: 98.04, tokens: expect.any(Number), blocked_until: null },
        "attio:write": { rate_per_second: 24.51, tokens: expect.any(Number), blocked_until: null },
        salesforce: { rate_per_second: 20, tokens: expect.any(Number), blocked_until: null },
      },
      attio_own_actor: null,
      attio_echo_filter: [],
      salesforce_api: null,
    });
  });

  it("shows our own Attio actor once the Worker has learned it", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const actor = { type: "api-token", id: "3f0c9a52-7d4e-4b8a-9e61-2c5d8f1a0b77" };
    await env.CURSORS.put(OWN_ACTOR_KEY, JSON.stringify(actor));
    const response = await exports.default.fetch("https://worker.test/api/v1/status", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(await response.json()).toMatchObject({ attio_own_actor: actor });
    await env.CURSORS.delete(OWN_ACTOR_KEY);
  });

  it("answers unknown routes with a JSON 404", async () => {
    const response = await exports.default.fetch("https://worker.test/nope");
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: "not_found" } });
  });
});

describe("GET /api/v1/status dependency health", () => {
  it("reports an Attio key that is refused and a Salesforce token that cannot be obtained", async () => {
    const { clearTokenCache } = await import("../../src/salesforce/token.ts");
    clearTokenCache();
    server.use(
      ...fakeAttio({ apiKey: "another-key" }).handlers,
      ...fakeSalesforce({ clientSecret: "another-secret" }).handlers,
    );
    const response = await exports.default.fetch("https://worker.test/api/v1/status", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await response.json()) as { dependencies: { attio: { ok: boolean }; salesforce: { ok: boolean } } };
    expect(body.dependencies.attio.ok).toBe(false);
    expect(body.dependencies.salesforce.ok).toBe(false);
  });
});

describe("GET /api/v1/status per mapping", () => {
  it("counts linked pairs, open conflicts and the last write per enabled mapping", async () => {
    const { openDb } = await import("../../src/store/db.ts");
    const { conflicts, idMappings, auditLog } = await import("../../src/store/schema.ts");
    const { env } = await import("cloudflare:workers");
    server.use(...fakeAttio().handlers, ...fakeSalesforce().handlers);
    const db = openDb(env.DB);
    const mappingId = crypto.randomUUID();
    await db.insert(idMappings).values({
      id: mappingId,
      attioObject: "people",
      attioRecordId: "p-status",
      sfObject: "Contact",
      sfRecordId: "003Hs000STATUS0AAA",
    });
    await db
      .insert(conflicts)
      .values({ id: crypto.randomUUID(), mappingId, field: "Title", attioValue: "A", sfValue: "B" });
    await db.insert(auditLog).values({
      at: "2026-11-23T10:00:00.000Z",
      correlationId: "status-1",
      mappingId,
      direction: "sf_to_attio",
      operation: "update",
      attioObject: "people",
      attioRecordId: "p-status",
      sfObject: "Contact",
      sfRecordId: "003Hs000STATUS0AAA",
      changes: {},
      sourceEvent: {},
    });

    const response = await exports.default.fetch("https://worker.test/api/v1/status", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const body = (await response.json()) as { mappings: { name: string }[] };
    expect(body.mappings.map((m) => m.name)).toEqual(["companies", "people", "deals"]);
    expect(body.mappings.find((m) => m.name === "people")).toEqual({
      name: "people",
      attio_object: "people",
      salesforce_object: "Contact",
      linked: 1,
      last_write: { attio_to_sf: null, sf_to_attio: "2026-11-23T10:00:00.000Z" },
      open_conflicts: 1,
      open_warnings: 0,
      pending_deletes: 0,
      ambiguous_matches: 0,
      catch_up: { salesforce: null, attio: null },
    });
  });
});
