import { describe, expect, it } from "vitest";
import type { AttioRecord } from "../../../src/attio/record-schema.ts";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import type { IdLookup } from "../../../src/mapping/transforms.ts";
import { attioSide, salesforceSide } from "../../../src/plan/canon.ts";
import {
  breakMassDeletes,
  type DecideContext,
  decide,
  decideContext,
  massDeleteThreshold,
  type RecordDecision,
} from "../../../src/plan/decide.ts";
import type { DeletePolicy, LinkedPair, RecordFacts } from "../../../src/plan/decision.ts";
import type { Strategy } from "../../../src/plan/plan-fields.ts";
import type { Origin, Touch } from "../../../src/plan/touch.ts";
import type { SfRecordRow } from "../../../src/salesforce/client.ts";
import { idMap } from "../mapping/support.ts";

/** One Attio value as Attio returns it. */
function val(type: string, fields: Record<string, unknown>, at = "2026-03-01T00:00:00.000000000Z") {
  return {
    active_from: at,
    active_until: null,
    created_by_actor: { type: "workspace-member", id: "m-1" },
    attribute_type: type,
    ...fields,
  };
}

const specs = defaultMappings();
const companies = compileMapping(specs.find((m) => m.name === "companies") ?? fail("companies"));
const people = compileMapping(specs.find((m) => m.name === "people") ?? fail("people"));

function fail(what: string): never {
  throw new Error(`no ${what} mapping`);
}

const ATTIO_ID = "00000000-0000-4000-8000-000000000001";
const SF_ID = "001000000000001AAA";
const OTHER_SF_ID = "001000000000002AAA";

function attioCompany(id: string, name: string, domain: string, at = "2026-03-01T00:00:00.000000000Z"): AttioRecord {
  return {
    id: { workspace_id: "w", object_id: "o", record_id: id },
    created_at: at,
    values: {
      name: [val("text", { value: name }, at)],
      domains: [val("domain", { domain, root_domain: domain }, at)],
    },
  };
}

function account(id: string, name: string, website: string, modified = "2026-03-01T00:00:00.000Z"): SfRecordRow {
  return { Id: id, Name: name, Website: website, LastModifiedDate: modified, SystemModstamp: modified };
}

function context(
  options: { deletePolicy?: DeletePolicy; strategy?: Strategy; ids?: IdLookup; mapping?: typeof companies } = {},
): DecideContext {
  return decideContext(
    options.mapping ?? companies,
    {
      strategy: options.strategy ?? "last_write",
      direction: "bidirectional",
      deletePolicy: options.deletePolicy ?? "hold",
    },
    { ids: options.ids ?? idMap([]) },
  );
}

const webhook: Origin = {
  kind: "attio_webhook",
  eventType: "record.updated",
  actor: { type: "workspace-member", id: "m-1" },
  dedupeKey: "attio:d:0",
};

function sfEvent(changeType: "CREATE" | "UPDATE", ownChange: boolean): Origin {
  return {
    kind: "salesforce_event",
    changeType,
    changeOrigin: ownChange ? "com/salesforce/api/rest/66.0;client=attio-sfdc" : "",
    commitUser: "005000000000001AAA",
    replayId: "1",
    dedupeKey: "sf:tx:0",
    ownChange,
  };
}

function touch(side: Touch["side"], recordId: string, origin: Origin, more: Partial<Touch> = {}): Touch {
  return { side, recordId, deleted: false, correlationId: "c-1", origin, ...more };
}

/** A pair whose base holds exactly what both records map to now: in sync. */
function syncedPair(attio: AttioRecord, sf: SfRecordRow, more: Partial<LinkedPair> = {}): LinkedPair {
  return {
    mapping: { id: "pair-1", attioRecordId: attio.id.record_id, sfRecordId: sf.Id, createdAt: "2026-03-01T00:00:00Z" },
    base: {
      attio: attioSide(companies, attio.values, { ids: idMap([]) }).values,
      salesforce: salesforceSide(companies, sf),
    },
    sfSystemModstamp: null,
    ...more,
  };
}

const acme = attioCompany(ATTIO_ID, "Acme", "acme.example");
const acmeAccount = account(SF_ID, "Acme", "https://acme.example");

function facts(more: Partial<RecordFacts> & Pick<RecordFacts, "touch">): RecordFacts {
  return { pair: undefined, attio: undefined, salesforce: undefined, ...more };
}

describe("decide: the settle-early rules, in order", () => {
  const pair = syncedPair(acme, acmeAccount);
  const event = (changeType: "CREATE" | "UPDATE", fields: Record<string, unknown>) => ({
    changeType,
    changedFields: Object.keys(fields),
    nulledFields: [],
    fields,
  });

  it.each([
    {
      name: "1. a create event equal to the base settles before any lease",
      facts: facts({
        touch: touch("salesforce", SF_ID, sfEvent("CREATE", true), {
          event: event("CREATE", { Name: "Acme", Website: "https://acme.example" }),
        }),
        pair,
      }),
      final: { kind: "settle", reason: "create_event_matches_base" },
    },
    {
      name: "2. the echo of our own create with no pair yet waits for the pair",
      facts: facts({
        touch: touch("salesforce", SF_ID, sfEvent("CREATE", true), {
          event: event("CREATE", { Name: "Acme" }),
          attempt: 1,
        }),
        salesforce: acmeAccount,
      }),
      final: { kind: "retry", reason: "own_create_waiting", afterSeconds: 5 },
    },
    {
      name: "3. an update event equal to the base settles without reading",
      facts: facts({
        touch: touch("salesforce", SF_ID, sfEvent("UPDATE", false), { event: event("UPDATE", { Name: "Acme" }) }),
        pair,
        attio: acme,
        salesforce: acmeAccount,
      }),
      final: { kind: "settle", reason: "event_matches_base" },
    },
    {
      name: "4. an Attio webhook whose record maps to the base settles reading Attio alone",
      facts: facts({ touch: touch("attio", ATTIO_ID, webhook), pair, attio: acme }),
      final: { kind: "settle", reason: "attio_matches_base" },
    },
  ])("$name", ({ facts: input, final }) => {
    expect(decide(context(), input)).toEqual({ along: [], final });
  });

  it("the echo of our own create stops waiting after two deliveries, and is matched like any record", () => {
    const result = decide(
      context(),
      facts({
        touch: touch("salesforce", SF_ID, sfEvent("CREATE", true), {
          event: event("CREATE", { Name: "Acme" }),
          attempt: 3,
        }),
        salesforce: acmeAccount,
        candidates: { kind: "found", records: [] },
      }),
    );
    expect(result.final).toMatchObject({ kind: "write", operation: "create" });
  });

  it("the echo of our own create keeps waiting, longer, while a sync job of ours is queued or running", () => {
    const echo = facts({
      touch: touch("salesforce", SF_ID, sfEvent("CREATE", true), {
        event: event("CREATE", { Name: "Acme" }),
        attempt: 5,
      }),
      salesforce: acmeAccount,
      candidates: { kind: "found", records: [] },
    });
    expect(decide({ ...context(), jobRunning: true }, echo).final).toEqual({
      kind: "retry",
      reason: "own_create_waiting",
      afterSeconds: 30,
    });
    // Once no job runs, it is matched (and here created) like any record.
    expect(decide(context(), echo).final).toMatchObject({ kind: "write", operation: "create" });
  });

  it("someone else's create without a pair is not held back", () => {
    const result = decide(
      context(),
      facts({
        touch: touch("salesforce", SF_ID, sfEvent("CREATE", false), { event: event("CREATE", { Name: "Acme" }) }),
        salesforce: acmeAccount,
        candidates: { kind: "found", records: [acme] },
      }),
    );
    expect(result.final).toMatchObject({ kind: "write", operation: "link", attio: acme, salesforce: acmeAccount });
  });

  it("an update event that differs from the base is decided on both sides' values", () => {
    const renamed = { ...acmeAccount, Name: "Acme Inc" };
    const result = decide(
      context(),
      facts({
        touch: touch("salesforce", SF_ID, sfEvent("UPDATE", false), { event: event("UPDATE", { Name: "Acme Inc" }) }),
        pair,
        attio: acme,
        salesforce: renamed,
      }),
    );
    expect(result.final).toMatchObject({ kind: "write", operation: "update", plan: { toAttio: { Name: "Acme Inc" } } });
  });

  it.each([
    { name: "an internal re-read request", origin: { kind: "internal", reason: "catch-up" } as Origin },
    { name: "a job's listing", origin: { kind: "job", jobId: "j-1", reason: "full" } as Origin },
    { name: "a delete webhook", origin: { ...webhook, eventType: "record.deleted" } as Origin, deleted: true },
  ])("rule 4 does not settle $name: both sides are compared", ({ origin, deleted }) => {
    const result = decide(
      context(),
      facts({
        touch: touch("attio", ATTIO_ID, origin, { deleted: deleted ?? false }),
        pair,
        attio: acme,
        salesforce: acmeAccount,
      }),
    );
    expect(result.final).toEqual({ kind: "settle", reason: "unchanged" });
  });
});

describe("decide: records with no counterpart", () => {
  const attioTouch = touch("attio", ATTIO_ID, webhook);

  it.each([
    {
      name: "gone and never linked: skipped",
      input: facts({ touch: attioTouch, attio: null }),
      final: { kind: "skip", reason: "gone_never_linked" },
    },
    {
      name: "a candidate another consumer holds: retried once its lease can have ended",
      input: facts({ touch: attioTouch, attio: acme, candidates: { kind: "busy", waitMs: 2_500 } }),
      final: { kind: "retry", reason: "candidate_busy", afterSeconds: 3 },
    },
    {
      name: "two candidates: held as ambiguous, with both ids",
      input: facts({
        touch: attioTouch,
        attio: acme,
        candidates: { kind: "found", records: [acmeAccount, account(OTHER_SF_ID, "Acme EU", "https://acme.example")] },
      }),
      final: { kind: "ambiguous", candidates: [SF_ID, OTHER_SF_ID] },
    },
  ])("$name", ({ input, final }) => {
    expect(decide(context(), input).final).toEqual(final);
  });

  it("one candidate: linked, and what differs is planned", () => {
    const other = account(SF_ID, "ACME Corp", "https://acme.example", "2026-02-01T00:00:00.000Z");
    const result = decide(
      context(),
      facts({ touch: attioTouch, attio: acme, candidates: { kind: "found", records: [other] } }),
    );
    expect(result.final).toMatchObject({ kind: "write", operation: "link", salesforce: other });
  });

  it("no candidate: created on the other side with every mapped value", () => {
    const result = decide(
      context(),
      facts({ touch: attioTouch, attio: acme, candidates: { kind: "found", records: [] } }),
    );
    expect(result.final).toMatchObject({
      kind: "write",
      operation: "create",
      plan: { toSalesforce: { Name: "Acme", Website: "https://acme.example" } },
    });
    expect(result.along).toContainEqual(
      expect.objectContaining({ kind: "warn", direction: "attio_to_sf", issues: [] }),
    );
  });
});

describe("decide: linked records", () => {
  const pair = syncedPair(acme, acmeAccount);
  const internal = touch("attio", ATTIO_ID, { kind: "internal", reason: "test" });

  it("both sides as in the base: settled as unchanged", () => {
    expect(decide(context(), facts({ touch: internal, pair, attio: acme, salesforce: acmeAccount })).final).toEqual({
      kind: "settle",
      reason: "unchanged",
    });
  });

  it("an Attio edit: written to Salesforce", () => {
    const edited = attioCompany(ATTIO_ID, "Acme Holdings", "acme.example", "2026-03-05T00:00:00.000000000Z");
    const result = decide(context(), facts({ touch: internal, pair, attio: edited, salesforce: acmeAccount }));
    expect(result.final).toMatchObject({
      kind: "write",
      operation: "update",
      plan: { toSalesforce: { Name: "Acme Holdings" } },
    });
  });

  it("both sides edited under the manual strategy: the field is held as a conflict, nothing written", () => {
    const edited = attioCompany(ATTIO_ID, "Acme Holdings", "acme.example", "2026-03-05T00:00:00.000000000Z");
    const renamed = { ...acmeAccount, Name: "Acme Group", LastModifiedDate: "2026-03-06T00:00:00.000Z" };
    const result = decide(
      context({ strategy: "manual" }),
      facts({ touch: internal, pair, attio: edited, salesforce: renamed }),
    );
    expect(result.final).toMatchObject({
      kind: "write",
      operation: "update",
      plan: {
        toSalesforce: {},
        toAttio: {},
        conflicts: [{ field: "Name", attio: "Acme Holdings", salesforce: "Acme Group" }],
      },
    });
  });

  describe("last_write with Salesforce's per-field time", () => {
    // Salesforce renamed at 03-04, Attio renamed at 03-05, then someone edited the Website in
    // Salesforce at 03-06: LastModifiedDate says 03-06, the Name's own change is older.
    const edited = attioCompany(ATTIO_ID, "Acme Holdings", "acme.example", "2026-03-05T00:00:00.000000000Z");
    const renamed = {
      ...acmeAccount,
      Name: "Acme Group",
      Website: "https://acme.example/",
      LastModifiedDate: "2026-03-06T00:00:00.000Z",
    };
    const nameEvent = { at: Date.parse("2026-03-04T00:00:00.000Z"), value: "Acme Group" };

    it("without change events, the record's LastModifiedDate decides: Salesforce wins", () => {
      const result = decide(context(), facts({ touch: internal, pair, attio: edited, salesforce: renamed }));
      expect(result.final).toMatchObject({
        kind: "write",
        plan: { toAttio: { Name: "Acme Group" }, toSalesforce: {} },
      });
    });

    it("the change event that set the field decides: the later Attio edit wins", () => {
      const result = decide(
        context(),
        facts({ touch: internal, pair, attio: edited, salesforce: renamed, salesforceFieldTimes: { Name: nameEvent } }),
      );
      expect(result.final).toMatchObject({ kind: "write", plan: { toSalesforce: { Name: "Acme Holdings" } } });
      if (result.final.kind !== "write") throw new Error("not a write");
      expect(result.final.plan.toAttio).not.toHaveProperty("Name");
    });

    it("an event whose value the field no longer holds is not its time: LastModifiedDate again", () => {
      const stale = { Name: { ...nameEvent, value: "Acme Intermediate" } };
      const result = decide(
        context(),
        facts({ touch: internal, pair, attio: edited, salesforce: renamed, salesforceFieldTimes: stale }),
      );
      expect(result.final).toMatchObject({
        kind: "write",
        plan: { toAttio: { Name: "Acme Group" }, toSalesforce: {} },
      });
    });
  });

  it("a pair an Attio merge moved is linked anew even when no value changes", () => {
    const moved = { ...pair, movedFrom: "00000000-0000-4000-8000-000000000009" };
    const result = decide(context(), facts({ touch: internal, pair: moved, attio: acme, salesforce: acmeAccount }));
    expect(result.final).toMatchObject({ kind: "write", operation: "link" });
  });

  it("an Attio merge whose survivor is linked already: the other original's pair is held", () => {
    const merged = touch("attio", ATTIO_ID, { ...webhook, eventType: "record.merged" }, { mergedFrom: ["x"] });
    const result = decide(
      context(),
      facts({ touch: merged, pair, attio: acme, salesforce: acmeAccount, mergedAway: ["pair-2"] }),
    );
    expect(result.along).toContainEqual({ kind: "hold_merged_away", pairId: "pair-2" });
    expect(result.final).toEqual({ kind: "settle", reason: "unchanged" });
  });
});

describe("decide: deletes and Salesforce merges", () => {
  const pair = syncedPair(acme, acmeAccount);
  const gone = (side: Touch["side"]) =>
    touch(side, side === "attio" ? ATTIO_ID : SF_ID, { kind: "internal", reason: "t" });

  it.each([
    { policy: "hold", side: "attio", final: { kind: "hold_delete", on: "attio", reason: "policy" } },
    { policy: "propagate", side: "attio", final: { kind: "delete", on: "attio", policy: "propagate" } },
    { policy: "ignore", side: "attio", final: { kind: "delete", on: "attio", policy: "ignore" } },
    { policy: "hold", side: "salesforce", final: { kind: "hold_delete", on: "salesforce", reason: "policy" } },
    { policy: "propagate", side: "salesforce", final: { kind: "delete", on: "salesforce", policy: "propagate" } },
    { policy: "ignore", side: "salesforce", final: { kind: "delete", on: "salesforce", policy: "ignore" } },
  ] as const)("gone on $side under policy $policy", ({ policy, side, final }) => {
    const input = facts({
      touch: gone(side),
      pair,
      attio: side === "attio" ? null : acme,
      salesforce: side === "salesforce" ? null : acmeAccount,
      ...(side === "salesforce" ? { salesforceGone: "deleted" as const } : {}),
    });
    expect(decide(context({ deletePolicy: policy }), input).final).toEqual(final);
  });

  it.each([
    ["hold", "not_visible"],
    ["propagate", "not_visible"],
    ["ignore", "not_visible"],
    ["propagate", undefined],
  ] as const)(
    "a Salesforce record merely not returned (policy %s, queryAll says %s) is not visible, never deleted",
    (policy, gone) => {
      const internal: Origin = { kind: "internal", reason: "t" };
      const input = facts({
        // An Attio record's sync finds its Salesforce counterpart missing, unconfirmed; or a Salesforce touch.
        touch: gone === undefined ? touch("attio", ATTIO_ID, internal) : touch("salesforce", SF_ID, internal),
        pair,
        attio: acme,
        salesforce: null,
        salesforceGone: gone,
      });
      expect(decide(context({ deletePolicy: policy }), input).final).toEqual({ kind: "not_visible", on: "salesforce" });
    },
  );

  it.each(["hold", "propagate", "ignore"] as const)(
    "a Salesforce record that lost a merge is followed, not deleted (policy %s)",
    (policy) => {
      const input = facts({
        touch: gone("salesforce"),
        pair,
        attio: acme,
        salesforce: null,
        salesforceGone: "deleted",
        salesforceMerge: { master: OTHER_SF_ID, masterLinked: false },
      });
      expect(decide(context({ deletePolicy: policy }), input).final).toEqual({
        kind: "follow_merge",
        master: OTHER_SF_ID,
      });
    },
  );

  it("a merge into a record linked to another one is held for a person, whatever the policy", () => {
    const input = facts({
      touch: gone("salesforce"),
      pair,
      attio: acme,
      salesforce: null,
      salesforceGone: "deleted",
      salesforceMerge: { master: OTHER_SF_ID, masterLinked: true },
    });
    expect(decide(context({ deletePolicy: "propagate" }), input).final).toEqual({
      kind: "hold_delete",
      on: "salesforce",
      reason: "merged_into_linked",
      master: OTHER_SF_ID,
    });
  });
});

describe("breakMassDeletes: the mass-delete circuit breaker", () => {
  const del = (policy: "propagate" | "ignore"): RecordDecision => ({
    along: [],
    final: { kind: "delete", on: "salesforce", policy },
  });
  const write: RecordDecision = { along: [], final: { kind: "settle", reason: "unchanged" } };

  it("allows max(20, 2% of the pairs) propagated deletes in one run", () => {
    expect(massDeleteThreshold(0)).toBe(20);
    expect(massDeleteThreshold(1_000)).toBe(20);
    expect(massDeleteThreshold(5_000)).toBe(100);
    const twenty = Array.from({ length: 20 }, () => del("propagate"));
    expect(breakMassDeletes(twenty, 100, "b-1")).toEqual(twenty);
  });

  it("holds every propagated delete of a run above it, as one batch, and leaves the rest alone", () => {
    const decisions = [...Array.from({ length: 25 }, () => del("propagate")), del("ignore"), write];
    const out = breakMassDeletes(decisions, 1_000, "b-2");
    expect(out.slice(0, 25).map((d) => d.final)).toEqual(
      Array.from({ length: 25 }, () => ({
        kind: "hold_delete",
        on: "salesforce",
        reason: "mass_delete",
        batch: "b-2",
        count: 25,
        threshold: 20,
      })),
    );
    expect(out.slice(25)).toEqual([del("ignore"), write]);
    // Under 2% of a large mapping, the same 25 pass.
    expect(breakMassDeletes(decisions, 10_000, "b-3")).toEqual(decisions);
  });
});

describe("decide: references waiting on their parent", () => {
  const COMPANY_ID = "00000000-0000-4000-8000-000000000077";
  const person: AttioRecord = {
    id: { workspace_id: "w", object_id: "p", record_id: "00000000-0000-4000-8000-000000000055" },
    created_at: "2026-03-01T00:00:00.000000000Z",
    values: {
      name: [val("personal-name", { first_name: "Ada", last_name: "Lovelace", full_name: "Ada Lovelace" })],
      email_addresses: [val("email-address", { email_address: "ada@acme.example" })],
      company: [val("record-reference", { target_object: "companies", target_record_id: COMPANY_ID })],
    },
  };

  it("an Attio reference to an unlinked record defers it and still creates the rest", () => {
    const result = decide(
      context({ mapping: people }),
      facts({
        touch: touch("attio", person.id.record_id, webhook),
        attio: person,
        candidates: { kind: "found", records: [] },
      }),
    );
    expect(result.along).toContainEqual({
      kind: "defer",
      side: "attio",
      recordId: person.id.record_id,
      targetObject: "companies",
      targetId: COMPANY_ID,
    });
    expect(result.final).toMatchObject({ kind: "write", operation: "create" });
  });

  it("a Salesforce reference defers only while its target has no pair", () => {
    const contact = { Id: "003000000000001AAA", LastName: "Lovelace", Email: "ada@acme.example", AccountId: SF_ID };
    const input = facts({
      touch: touch("salesforce", contact.Id, { kind: "internal", reason: "t" }),
      salesforce: contact,
      candidates: { kind: "found", records: [] },
    });
    const deferred = decide(context({ mapping: people }), input).along.filter((d) => d.kind === "defer");
    expect(deferred).toEqual([
      { kind: "defer", side: "salesforce", recordId: contact.Id, targetObject: "companies", targetId: SF_ID },
    ]);
    const linked = context({ mapping: people, ids: idMap([["companies", ATTIO_ID, SF_ID]]) });
    expect(decide(linked, input).along.filter((d) => d.kind === "defer")).toEqual([]);
  });
});
