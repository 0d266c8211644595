import { describe, expect, it } from "vitest";
import person from "../../../fixtures/attio/person-record.json";
import { apiCreator, apiWriter, isOwnActor, OwnActorLearner } from "../../../src/attio/own-actor.ts";
import { type AttioRecord, AttioRecordSchema } from "../../../src/attio/record-schema.ts";

const TOKEN = { type: "api-token", id: "3f0c9a52-7d4e-4b8a-9e61-2c5d8f1a0b77" } as const;
const OTHER_TOKEN = { type: "api-token", id: "b1e2c3d4-0000-4000-8000-0000000000aa" } as const;
const NOW = Date.parse("2026-11-24T10:00:00.000Z");

/** The fixture person, as created by `creator` at `createdAt` (Attio's 9-digit fractions). */
function created(recordId: string, creator: { type: string; id: string | null }, createdAt = NOW - 200): AttioRecord {
  const record = AttioRecordSchema.parse(structuredClone(person.data));
  const at = new Date(createdAt).toISOString().replace("Z", "000000Z");
  record.id.record_id = recordId;
  record.created_at = at;
  record.values["created_by"] = [
    {
      active_from: at,
      active_until: null,
      created_by_actor: creator,
      referenced_actor_type: creator.type,
      referenced_actor_id: creator.id,
      attribute_type: "actor-reference",
    },
  ];
  return record;
}

describe("apiCreator", () => {
  it("reads the creator of a record created just now by an API token or an app", () => {
    expect(apiCreator(created("r-1", TOKEN), NOW)).toEqual(TOKEN);
    const app = { type: "app", id: "0061e423-8347-4ba0-a23c-286fdbd54a8c" };
    expect(apiCreator(created("r-1", app), NOW)).toEqual(app);
  });

  it("ignores records created by people or by Attio itself", () => {
    expect(apiCreator(created("r-1", { type: "workspace-member", id: "m-1" }), NOW)).toBeUndefined();
    expect(apiCreator(created("r-1", { type: "system", id: null }), NOW)).toBeUndefined();
  });

  it("ignores a record created well before our request (an assert that matched someone else's)", () => {
    expect(apiCreator(created("r-1", TOKEN, NOW - 60_000), NOW)).toBeUndefined();
  });

  it("ignores a record without a readable creator", () => {
    const record = created("r-1", TOKEN);
    record.values["created_by"] = [];
    expect(apiCreator(record, NOW)).toBeUndefined();
  });
});

/** The fixture person after an update: `job_title` written by `writer`, `activeFrom` ms ago or now. */
function updated(recordId: string, writer: { type: string; id: string | null }, activeFrom = NOW - 200): AttioRecord {
  const record = created(recordId, { type: "workspace-member", id: "m-1" }, NOW - 86_400_000);
  const at = new Date(activeFrom).toISOString().replace("Z", "000000Z");
  const earlier = new Date(NOW - 86_400_000).toISOString();
  record.values["job_title"] = [
    {
      active_from: earlier,
      active_until: at,
      created_by_actor: { type: "workspace-member", id: "m-1" },
      value: "Old",
      attribute_type: "text",
    },
    { active_from: at, active_until: null, created_by_actor: writer, value: "New", attribute_type: "text" },
  ];
  return record;
}

describe("apiWriter", () => {
  it("reads the actor of the values an update just wrote", () => {
    expect(apiWriter(updated("r-1", TOKEN), ["job_title"], NOW)).toEqual(TOKEN);
  });

  it("ignores values by people or Attio itself, values kept from before, and attributes not written", () => {
    expect(apiWriter(updated("r-1", { type: "workspace-member", id: "m-2" }), ["job_title"], NOW)).toBeUndefined();
    expect(apiWriter(updated("r-1", { type: "system", id: null }), ["job_title"], NOW)).toBeUndefined();
    expect(apiWriter(updated("r-1", TOKEN, NOW - 60_000), ["job_title"], NOW)).toBeUndefined();
    expect(apiWriter(updated("r-1", TOKEN), ["description"], NOW)).toBeUndefined();
  });

  it("names no one when the fresh values name two actors", () => {
    const record = updated("r-1", TOKEN);
    const at = new Date(NOW - 100).toISOString();
    record.values["description"] = [
      { active_from: at, active_until: null, created_by_actor: OTHER_TOKEN, value: "x", attribute_type: "text" },
    ];
    expect(apiWriter(record, ["job_title", "description"], NOW)).toBeUndefined();
  });
});

describe("OwnActorLearner", () => {
  it("trusts an actor once two different records written by our requests name it, and says so once", () => {
    const learner = new OwnActorLearner();
    expect(learner.observe("r-1", apiCreator(created("r-1", TOKEN), NOW))).toBeUndefined();
    // The same record again (a retried assert) is no confirmation.
    expect(learner.observe("r-1", apiCreator(created("r-1", TOKEN), NOW))).toBeUndefined();
    // An update's values count as a create's creator does.
    expect(learner.known).toBe(false);
    expect(learner.observe("r-2", apiWriter(updated("r-2", TOKEN), ["job_title"], NOW))).toEqual(TOKEN);
    expect(learner.known).toBe(true);
    expect(learner.observe("r-3", TOKEN)).toBeUndefined();
  });

  it("keeps actors apart: one record by another integration confirms nothing", () => {
    const learner = new OwnActorLearner();
    expect(learner.observe("r-1", OTHER_TOKEN)).toBeUndefined();
    expect(learner.observe("r-2", TOKEN)).toBeUndefined();
    expect(learner.observe("r-3", undefined)).toBeUndefined();
    expect(learner.observe("r-3", TOKEN)).toEqual(TOKEN);
  });
});

describe("isOwnActor", () => {
  it("matches type and id, and nothing before our actor is known", () => {
    expect(isOwnActor(TOKEN, TOKEN)).toBe(true);
    expect(isOwnActor(OTHER_TOKEN, TOKEN)).toBe(false);
    expect(isOwnActor({ type: "app", id: TOKEN.id }, TOKEN)).toBe(false);
    expect(isOwnActor(TOKEN, null)).toBe(false);
    expect(isOwnActor({ type: "system", id: null }, { type: "system", id: null })).toBe(false);
  });
});
