import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { HEALTH_SUMMARY_KEY } from "../../src/cron/health-summary.ts";
import worker from "../../src/index.ts";
import { type FakeWebhook, fakeAttio } from "../helpers/fake-attio.ts";
import { fakeSalesforce } from "../helpers/fake-salesforce.ts";
import { server } from "../helpers/msw.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

const WORKER = "https://doctor.worker.test";

/** The webhook the setup registers: every record event, to this Worker. */
const OUR_WEBHOOK: FakeWebhook = {
  target_url: `${WORKER}/webhooks/attio`,
  status: "active",
  event_types: [
    "record.created",
    "record.updated",
    "record.deleted",
    "record.merged",
    "object-attribute.created",
    "object-attribute.updated",
  ],
};

interface Check {
  id: string;
  status: "pass" | "warn" | "fail";
  message: string;
  fix?: string;
}

async function doctor(): Promise<{ status: string; worker_url: string; checks: Check[] }> {
  const response = await exports.default.fetch(`${WORKER}/api/v1/doctor`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  expect(response.status).toBe(200);
  return response.json();
}

const byId = (checks: Check[], id: string) => checks.find((c) => c.id === id);

/** The Worker's own evidence of a live deployment: a cron run and a relay delivery just now. */
async function liveWorker(): Promise<void> {
  const now = new Date().toISOString();
  await env.CURSORS.put("cron:last-run", JSON.stringify({ at: now }));
  await env.DB.prepare("insert or replace into inbound_events (key, source, received_at) values (?, 'salesforce', ?)")
    .bind("relay:doctor-test:1:Contact", now)
    .run();
}

afterEach(async () => {
  await env.CURSORS.delete("cron:last-run");
});

describe("GET /api/v1/doctor", () => {
  it("needs the admin token", async () => {
    const response = await exports.default.fetch(`${WORKER}/api/v1/doctor`);
    expect(response.status).toBe(401);
  });

  it("passes every check on a complete deployment", async () => {
    server.use(
      ...fakeAttio({ webhooks: [OUR_WEBHOOK] }).handlers,
      ...fakeSalesforce({ attioRecordIdField: true }).handlers,
    );
    await liveWorker();
    const answer = await doctor();
    expect(answer.worker_url).toBe(WORKER);
    // External IDs: the fake org has Attio_Record_Id__c on Contact only.
    const notPassing = answer.checks.filter((c) => c.status !== "pass" && c.id !== "salesforce_external_id");
    expect(notPassing).toEqual([]);
    expect(answer.checks.map((c) => c.id)).toEqual([
      "attio_key",
      "attio_scopes",
      "attio_webhook",
      "salesforce_token",
      "salesforce_api_version",
      "salesforce_access",
      "salesforce_cdc",
      "salesforce_external_id",
      "cron_recent",
      "relay_recent",
    ]);
    expect(byId(answer.checks, "salesforce_external_id")).toMatchObject({
      status: "warn",
      message: expect.stringMatching(/^Account, Opportunity have no Attio_Record_Id__c/),
    });
    expect(answer.status).toBe("warn");
  });

  it("fails the Attio key with its fix when Attio refuses it", async () => {
    server.use(...fakeAttio({ apiKey: "another-key" }).handlers, ...fakeSalesforce().handlers);
    await liveWorker();
    const answer = await doctor();
    expect(answer.status).toBe("fail");
    expect(byId(answer.checks, "attio_key")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("Attio refused ATTIO_API_KEY"),
      fix: expect.stringContaining("wrangler secret put ATTIO_API_KEY"),
    });
    // Without a usable key, scopes and webhook are not judged; Salesforce still is.
    expect(byId(answer.checks, "attio_webhook")).toBeUndefined();
    expect(byId(answer.checks, "salesforce_token")?.status).toBe("pass");
  });

  it("fails a key without the scopes the Worker needs, naming them", async () => {
    server.use(
      ...fakeAttio({ scope: "record_permission:read object_configuration:read webhook:read" }).handlers,
      ...fakeSalesforce().handlers,
    );
    const answer = await doctor();
    expect(byId(answer.checks, "attio_scopes")).toMatchObject({
      status: "fail",
      message: "ATTIO_API_KEY lacks the scopes record_permission:read-write, user_management:read",
    });
  });

  it("fails the webhook check when no webhook delivers to this Worker", async () => {
    server.use(
      ...fakeAttio({ webhooks: [{ ...OUR_WEBHOOK, target_url: "https://staging.example/webhooks/attio" }] }).handlers,
      ...fakeSalesforce().handlers,
    );
    const answer = await doctor();
    expect(byId(answer.checks, "attio_webhook")).toMatchObject({
      status: "fail",
      message: `No Attio webhook delivers to ${WORKER}/webhooks/attio`,
      fix: expect.stringContaining("npm run attio-webhook"),
    });
  });

  it("fails an inactive webhook and warns about a degraded one", async () => {
    server.use(
      ...fakeAttio({ webhooks: [{ ...OUR_WEBHOOK, status: "inactive" }] }).handlers,
      ...fakeSalesforce().handlers,
    );
    expect(byId((await doctor()).checks, "attio_webhook")?.status).toBe("fail");
    server.use(...fakeAttio({ webhooks: [{ ...OUR_WEBHOOK, status: "degraded" }] }).handlers);
    expect(byId((await doctor()).checks, "attio_webhook")?.status).toBe("warn");
  });

  it("warns that the webhook cannot be checked by a key without webhook:read", async () => {
    server.use(
      ...fakeAttio({
        scope: "record_permission:read-write object_configuration:read user_management:read",
      }).handlers,
      ...fakeSalesforce().handlers,
    );
    const answer = await doctor();
    expect(byId(answer.checks, "attio_scopes")?.status).toBe("pass");
    expect(byId(answer.checks, "attio_webhook")).toMatchObject({
      status: "warn",
      message: expect.stringContaining("no webhook:read scope"),
    });
  });

  it("fails a mapped field the integration user cannot update", async () => {
    server.use(
      ...fakeAttio({ webhooks: [OUR_WEBHOOK] }).handlers,
      ...fakeSalesforce({ fieldAccess: { "Contact.Email": { updateable: false } } }).handlers,
    );
    const answer = await doctor();
    expect(byId(answer.checks, "salesforce_access")).toMatchObject({
      status: "fail",
      message: "Contact.Email is not updateable",
      fix: expect.stringContaining("permission set"),
    });
  });

  it("fails Change Data Capture when a mapped object is not selected, and warns about User", async () => {
    server.use(
      ...fakeAttio({ webhooks: [OUR_WEBHOOK] }).handlers,
      ...fakeSalesforce({ cdcEntities: ["AccountChangeEvent", "UserChangeEvent"] }).handlers,
    );
    const missing = byId((await doctor()).checks, "salesforce_cdc");
    expect(missing).toMatchObject({
      status: "fail",
      message: expect.stringContaining("not enabled for Contact, Opportunity"),
      fix: expect.stringContaining("Setup → Integrations → Change Data Capture"),
    });
    server.use(
      ...fakeSalesforce({
        cdcEntities: ["AccountChangeEvent", "ContactChangeEvent", "OpportunityChangeEvent", "UserChangeEvent"],
      }).handlers,
    );
    expect(byId((await doctor()).checks, "salesforce_cdc")).toMatchObject({
      status: "warn",
      message: expect.stringContaining("for User, whose events the Worker drops"),
    });
  });

  it("says Change Data Capture cannot be checked without View Setup and Configuration", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce({ noSetupAccess: true }).handlers);
    expect(byId((await doctor()).checks, "salesforce_cdc")).toMatchObject({
      status: "warn",
      message: expect.stringContaining("Change Data Capture cannot be checked"),
      fix: expect.stringContaining("DEPLOYMENT.md"),
    });
  });

  it("fails the cron check when the cron never ran, and passes it once it has", async () => {
    server.use(...fakeAttio({ webhooks: [OUR_WEBHOOK] }).handlers, ...fakeSalesforce().handlers);
    await env.CURSORS.delete("cron:last-run");
    expect(byId((await doctor()).checks, "cron_recent")).toMatchObject({
      status: "fail",
      message: "The cron has never run",
      fix: expect.stringContaining("crons"),
    });
    await env.CURSORS.put("cron:last-run", JSON.stringify({ at: new Date(Date.now() - 60 * 60_000).toISOString() }));
    expect(byId((await doctor()).checks, "cron_recent")?.status).toBe("fail");
    await liveWorker();
    expect(byId((await doctor()).checks, "cron_recent")?.status).toBe("pass");
  });

  it("fails a Salesforce token refused, with the External Client App in its fix", async () => {
    server.use(...fakeAttio().handlers, ...fakeSalesforce({ clientSecret: "another-secret" }).handlers);
    const answer = await doctor();
    expect(byId(answer.checks, "salesforce_token")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("External Client App"),
    });
    expect(byId(answer.checks, "salesforce_cdc")).toBeUndefined();
  });

  it("appears in the OpenAPI document", async () => {
    const response = await exports.default.fetch(`${WORKER}/api/v1/openapi.json`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const document = (await response.json()) as { paths: Record<string, unknown> };
    expect(document.paths["/doctor"]).toHaveProperty("get");
  });
});

describe("GET /healthz healthy", () => {
  const healthz = async () => {
    const response = await exports.default.fetch(`${WORKER}/healthz`);
    expect(response.status).toBe(200);
    return (await response.json()) as { ok: boolean; healthy: boolean };
  };

  it("answers the verdict of the cron's last run: none yet, healthy, a problem, too old", async () => {
    await env.CURSORS.delete(HEALTH_SUMMARY_KEY);
    expect(await healthz()).toMatchObject({ ok: true, healthy: false });

    // A cron run against healthy fakes stores its verdict.
    server.use(...fakeAttio({ webhooks: [OUR_WEBHOOK] }).handlers, ...fakeSalesforce().handlers);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await env.CURSORS.get(HEALTH_SUMMARY_KEY, "json")).toMatchObject({ healthy: true, problems: 0 });
    expect(await healthz()).toEqual({ ok: true, version: expect.any(String), healthy: true });

    await env.CURSORS.put(
      HEALTH_SUMMARY_KEY,
      JSON.stringify({ at: new Date().toISOString(), healthy: false, problems: 2 }),
    );
    expect(await healthz()).toMatchObject({ healthy: false });
    const old = new Date(Date.now() - 20 * 60_000).toISOString();
    await env.CURSORS.put(HEALTH_SUMMARY_KEY, JSON.stringify({ at: old, healthy: true, problems: 0 }));
    expect(await healthz()).toMatchObject({ healthy: false });
  });
});
