import { describe, expect, it } from "vitest";
import {
  changeEventName,
  type DoctorFacts,
  evaluateDoctor,
  type MappedObject,
  overall,
} from "../../../src/doctor/checks.ts";

const NOW = new Date("2026-12-07T12:00:00.000Z");
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

function contact(overrides: Partial<MappedObject> = {}): MappedObject {
  return {
    mapping: "people",
    object: "Contact",
    readOnly: false,
    writes: ["Email", "LastName"],
    reads: [],
    externalIdField: "Attio_Record_Id__c",
    externalIdConfigured: false,
    describe: {
      ok: true,
      value: {
        createable: true,
        updateable: true,
        fields: [
          { name: "Email", createable: true, updateable: true, externalId: false },
          { name: "LastName", createable: true, updateable: true, externalId: false },
          { name: "Attio_Record_Id__c", createable: true, updateable: true, externalId: true },
        ],
      },
    },
    ...overrides,
  };
}

function facts(
  overrides: { attio?: Partial<DoctorFacts["attio"]>; salesforce?: Partial<DoctorFacts["salesforce"]> } = {},
  worker: DoctorFacts["worker"] = { lastCronRun: minutesAgo(2), lastRelayEvent: minutesAgo(30) },
): DoctorFacts {
  return {
    now: NOW,
    attio: {
      self: {
        ok: true,
        value: {
          active: true,
          scope: "record_permission:read-write object_configuration:read user_management:read webhook:read",
        },
      },
      webhooks: {
        ok: true,
        value: [
          {
            target: "https://w.example/webhooks/attio",
            status: "active",
            events: [
              "record.created",
              "record.updated",
              "record.deleted",
              "record.merged",
              "object-attribute.created",
              "object-attribute.updated",
            ],
          },
        ],
      },
      expectedTarget: "https://w.example/webhooks/attio",
      ...overrides.attio,
    },
    salesforce: {
      token: { ok: true, value: null },
      apiVersion: { wanted: "62.0", available: { ok: true, value: ["61.0", "62.0"] } },
      objects: [contact()],
      cdc: { ok: true, value: ["ContactChangeEvent"] },
      ...overrides.salesforce,
    },
    worker,
  };
}

const check = (f: DoctorFacts, id: string) => evaluateDoctor(f).find((c) => c.id === id);

describe("evaluateDoctor", () => {
  it("passes everything on a complete deployment, without a fix on any check", () => {
    const results = evaluateDoctor(facts());
    expect(results.map((r) => [r.id, r.status])).toEqual([
      ["attio_key", "pass"],
      ["attio_scopes", "pass"],
      ["attio_webhook", "pass"],
      ["salesforce_token", "pass"],
      ["salesforce_api_version", "pass"],
      ["salesforce_access", "pass"],
      ["salesforce_cdc", "pass"],
      ["salesforce_external_id", "pass"],
      ["cron_recent", "pass"],
      ["relay_recent", "pass"],
    ]);
    expect(results.every((r) => r.fix === undefined)).toBe(true);
    expect(overall(results)).toBe("pass");
  });

  it("leaves out the Worker's checks when run outside it (npm run doctor)", () => {
    const ids = evaluateDoctor(facts({}, null)).map((r) => r.id);
    expect(ids).not.toContain("cron_recent");
    expect(ids).not.toContain("relay_recent");
  });

  it("stops at the Attio key when it is refused or inactive", () => {
    const refused = facts({
      attio: { self: { ok: false, error: { code: "auth_failed", message: "401 unauthorized" } }, webhooks: null },
    });
    expect(evaluateDoctor(refused).filter((r) => r.id.startsWith("attio"))).toEqual([
      expect.objectContaining({ id: "attio_key", status: "fail", fix: expect.stringContaining("ATTIO_API_KEY") }),
    ]);
    const inactive = facts({ attio: { self: { ok: true, value: { active: false, scope: null } }, webhooks: null } });
    expect(check(inactive, "attio_key")?.message).toContain("not active");
  });

  it("takes read-write for read, and names every missing scope", () => {
    const f = facts({
      attio: { self: { ok: true, value: { active: true, scope: "record_permission:read webhook:read" } } },
    });
    expect(check(f, "attio_scopes")).toMatchObject({
      status: "fail",
      message:
        "ATTIO_API_KEY lacks the scopes record_permission:read-write, object_configuration:read, user_management:read",
    });
  });

  it("judges the webhook: missing, another URL, missing events, several", () => {
    const hook = (
      target: string,
      events = [
        "record.created",
        "record.updated",
        "record.deleted",
        "record.merged",
        "object-attribute.created",
        "object-attribute.updated",
      ],
    ) => ({
      target,
      status: "active",
      events,
    });
    expect(check(facts({ attio: { webhooks: { ok: true, value: [] } } }), "attio_webhook")?.status).toBe("fail");
    expect(
      check(
        facts({ attio: { webhooks: { ok: true, value: [hook("https://other.example/webhooks/attio")] } } }),
        "attio_webhook",
      )?.status,
    ).toBe("fail");
    // A trailing slash and case do not make another URL.
    expect(
      check(
        facts({ attio: { webhooks: { ok: true, value: [hook("https://W.example/webhooks/attio/")] } } }),
        "attio_webhook",
      )?.status,
    ).toBe("pass");
    expect(
      check(
        facts({
          attio: { webhooks: { ok: true, value: [hook("https://w.example/webhooks/attio", ["record.updated"])] } },
        }),
        "attio_webhook",
      )?.message,
    ).toContain("not subscribed to record.created, record.deleted, record.merged");
    // Without the schema events: a warning (attributes are seen within the hour).
    expect(
      check(
        facts({
          attio: {
            webhooks: {
              ok: true,
              value: [
                hook("https://w.example/webhooks/attio", [
                  "record.created",
                  "record.updated",
                  "record.deleted",
                  "record.merged",
                ]),
              ],
            },
          },
        }),
        "attio_webhook",
      ),
    ).toMatchObject({ status: "warn", message: expect.stringContaining("object-attribute.created") });
    const two = [hook("https://w.example/webhooks/attio"), hook("https://w.example/webhooks/attio")];
    expect(check(facts({ attio: { webhooks: { ok: true, value: two } } }), "attio_webhook")?.status).toBe("warn");
    // Without the Worker's URL (a local run), any /webhooks/attio target counts.
    expect(
      check(
        facts({
          attio: { expectedTarget: null, webhooks: { ok: true, value: [hook("https://x.example/webhooks/attio")] } },
        }),
        "attio_webhook",
      )?.status,
    ).toBe("pass");
  });

  it("stops at the Salesforce token when none is issued", () => {
    const f = facts({
      salesforce: { token: { ok: false, error: { code: "auth_failed", message: "invalid_client" } } },
    });
    const sf = evaluateDoctor(f).filter((r) => r.id.startsWith("salesforce"));
    expect(sf).toEqual([expect.objectContaining({ id: "salesforce_token", status: "fail" })]);
  });

  it("fails an API version the org does not serve, naming the newest", () => {
    const f = facts({
      salesforce: { apiVersion: { wanted: "66.0", available: { ok: true, value: ["61.0", "62.0"] } } },
    });
    expect(check(f, "salesforce_access")?.status).toBe("pass");
    expect(check(f, "salesforce_api_version")).toMatchObject({
      status: "fail",
      fix: 'Set SALESFORCE_API_VERSION to a version the org serves, e.g. "62.0"',
    });
  });

  it("judges field access: hidden and not updateable fail, create-only warns", () => {
    const fields = (email: { createable: boolean; updateable: boolean } | null) => [
      ...(email ? [{ name: "Email", externalId: false, ...email }] : []),
      { name: "LastName", createable: true, updateable: true, externalId: false },
    ];
    const with_ = (email: { createable: boolean; updateable: boolean } | null) =>
      facts({
        salesforce: {
          objects: [
            contact({ describe: { ok: true, value: { createable: true, updateable: true, fields: fields(email) } } }),
          ],
        },
      });
    expect(check(with_(null), "salesforce_access")?.message).toBe(
      "Contact.Email is not visible to the integration user",
    );
    expect(check(with_({ createable: true, updateable: false }), "salesforce_access")).toMatchObject({
      status: "fail",
      message: "Contact.Email is not updateable",
    });
    expect(check(with_({ createable: false, updateable: false }), "salesforce_access")?.message).toBe(
      "Contact.Email is read-only",
    );
    expect(check(with_({ createable: false, updateable: true }), "salesforce_access")?.status).toBe("warn");
  });

  it("fails CDC for a mapped object not selected, warns for User, ignores read-only mappings", () => {
    const user = contact({ mapping: "users", object: "User", readOnly: true, writes: [], reads: [] });
    const objects = [contact(), user];
    expect(check(facts({ salesforce: { objects, cdc: { ok: true, value: [] } } }), "salesforce_cdc")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("not enabled for Contact:"),
    });
    expect(
      check(
        facts({ salesforce: { objects, cdc: { ok: true, value: ["ContactChangeEvent", "UserChangeEvent"] } } }),
        "salesforce_cdc",
      )?.status,
    ).toBe("warn");
    expect(
      check(
        facts({
          salesforce: { cdc: { ok: false, error: { code: "upstream_rejected", message: "INSUFFICIENT_ACCESS" } } },
        }),
        "salesforce_cdc",
      ),
    ).toMatchObject({ status: "warn", message: expect.stringContaining("cannot be checked") });
  });

  it("names change events as Salesforce does", () => {
    expect(changeEventName("Account")).toBe("AccountChangeEvent");
    expect(changeEventName("Project__c")).toBe("Project__ChangeEvent");
  });

  it("warns about a missing Attio_Record_Id__c, fails a configured external id that is missing", () => {
    const bare = contact({
      describe: {
        ok: true,
        value: {
          createable: true,
          updateable: true,
          fields: [
            { name: "Email", createable: true, updateable: true, externalId: false },
            { name: "LastName", createable: true, updateable: true, externalId: false },
          ],
        },
      },
    });
    expect(check(facts({ salesforce: { objects: [bare] } }), "salesforce_external_id")?.status).toBe("warn");
    const configured = { ...bare, externalIdField: "Attio_Key__c", externalIdConfigured: true };
    expect(check(facts({ salesforce: { objects: [configured] } }), "salesforce_external_id")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("Contact.Attio_Key__c (salesforce_external_id_field of people) does not exist"),
    });
  });

  it("fails a cron that never ran or stopped, warns about a quiet relay", () => {
    expect(check(facts({}, { lastCronRun: null, lastRelayEvent: null }), "cron_recent")?.status).toBe("fail");
    expect(check(facts({}, { lastCronRun: minutesAgo(16), lastRelayEvent: null }), "cron_recent")?.message).toBe(
      "The cron last ran 16 min ago (it runs every 5 minutes)",
    );
    expect(check(facts({}, { lastCronRun: minutesAgo(14), lastRelayEvent: null }), "cron_recent")?.status).toBe("pass");
    expect(check(facts({}, { lastCronRun: minutesAgo(1), lastRelayEvent: null }), "relay_recent")?.status).toBe("warn");
    expect(
      check(facts({}, { lastCronRun: minutesAgo(1), lastRelayEvent: minutesAgo(25 * 60) }), "relay_recent")?.message,
    ).toContain("25 h ago");
  });

  it("answers the worst status overall", () => {
    expect(
      overall([
        { id: "attio_key", status: "pass", message: "" },
        { id: "cron_recent", status: "warn", message: "", fix: "" },
      ]),
    ).toBe("warn");
    expect(
      overall([
        { id: "cron_recent", status: "warn", message: "", fix: "" },
        { id: "attio_key", status: "fail", message: "", fix: "" },
      ]),
    ).toBe("fail");
  });
});
