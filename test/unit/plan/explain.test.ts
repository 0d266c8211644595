import { describe, expect, it } from "vitest";
import type { AttioRecord } from "../../../src/attio/record-schema.ts";
import { defaultMappings } from "../../../src/mapping/defaults.ts";
import { compileMapping } from "../../../src/mapping/engine.ts";
import { attioSide, salesforceFieldsOf, salesforceSide } from "../../../src/plan/canon.ts";
import { type DecideContext, decideContext } from "../../../src/plan/decide.ts";
import type { LinkedPair, RecordFacts } from "../../../src/plan/decision.ts";
import {
  type ExplainInput,
  explain,
  type MappingState,
  type Mode,
  NO_ITEMS,
  type OpenItems,
  REASON_CODES,
  REASONS,
  type ReasonCode,
} from "../../../src/plan/explain.ts";
import type { Strategy } from "../../../src/plan/plan-fields.ts";
import type { SfRecordRow } from "../../../src/salesforce/client.ts";
import { idMap } from "../mapping/support.ts";

const companies = compileMapping(defaultMappings().find((m) => m.name === "companies") ?? (undefined as never));

const ATTIO_ID = "00000000-0000-4000-8000-0000000000e1";
const SF_ID = "001000000000e01AAA";
const EARLY = "2026-03-01T00:00:00.000000000Z";
const LATER = "2026-03-02T00:00:00.000000000Z";

function val(type: string, fields: Record<string, unknown>, at = EARLY) {
  return {
    active_from: at,
    active_until: null,
    created_by_actor: { type: "workspace-member", id: "m" },
    attribute_type: type,
    ...fields,
  };
}

function company(name: string, domain = "acme.example", at = EARLY, extra: AttioRecord["values"] = {}): AttioRecord {
  return {
    id: { workspace_id: "w", object_id: "o", record_id: ATTIO_ID },
    created_at: EARLY,
    values: {
      name: [val("text", { value: name }, at)],
      domains: [val("domain", { domain, root_domain: domain }, at)],
      ...extra,
    },
  };
}

/** An Account as a query of the mapped fields returns it: every field there, null when empty. */
function account(name: string, modified = "2026-03-01T00:00:00.000Z", more: Record<string, unknown> = {}): SfRecordRow {
  const empty = Object.fromEntries(salesforceFieldsOf(companies).map((field) => [field, null]));
  return { ...empty, Id: SF_ID, Name: name, Website: "https://acme.example", LastModifiedDate: modified, ...more };
}

function ctx(strategy: Strategy = "last_write"): DecideContext {
  return decideContext(companies, { strategy, direction: "bidirectional", deletePolicy: "hold" }, { ids: idMap([]) });
}

/** A pair whose base is what `attio` and `sf` hold now. */
function pairOf(attio: AttioRecord, sf: SfRecordRow): LinkedPair {
  return {
    mapping: { id: "pair-e", attioRecordId: ATTIO_ID, sfRecordId: SF_ID, createdAt: EARLY },
    base: {
      attio: attioSide(companies, attio.values, { ids: idMap([]) }).values,
      salesforce: salesforceSide(companies, sf),
    },
    sfSystemModstamp: null,
  };
}

const touch = {
  side: "attio" as const,
  recordId: ATTIO_ID,
  deleted: false,
  correlationId: "explain",
  origin: { kind: "internal" as const, reason: "explain" },
};

const synced = pairOf(company("Acme"), account("Acme"));

type InputOptions = Omit<Partial<ExplainInput>, "facts"> & {
  facts?: Partial<RecordFacts> | null;
  strategy?: Strategy;
};

/** An explain input: the synced pair, read as it is, unless `facts` says otherwise (null: not read). */
function input(more: InputOptions = {}): ExplainInput {
  const { facts, strategy, ...rest } = more;
  return {
    side: "attio",
    object: "companies",
    recordId: ATTIO_ID,
    mode: "running",
    mapping: { kind: "enabled", ctx: ctx(strategy) },
    facts:
      facts === null
        ? undefined
        : { touch, pair: synced, attio: company("Acme"), salesforce: account("Acme"), ...facts },
    items: NO_ITEMS,
    lastDecision: null,
    ...rest,
  };
}

const items = (more: Partial<OpenItems>): OpenItems => ({ ...NO_ITEMS, ...more });
const failure = {
  id: "event:k:1",
  errorCode: "upstream_rejected",
  errorMessage: "FIELD_CUSTOM_VALIDATION_EXCEPTION: no",
  attempts: 1,
  lastFailedAt: EARLY,
};
const warning = (code: string) => ({
  id: "w-1",
  direction: "attio_to_sf" as const,
  field: "BillingCountry",
  attribute: "primary_location.country_code",
  code,
  message: "unknown country",
  value: "XK",
});
const conflict = {
  id: "c-1",
  field: "Name",
  baseValue: "Acme",
  attioValue: "Acme Inc",
  sfValue: "Acme Corp",
  createdAt: EARLY,
};
const held = { id: "d-1", deletedOn: "salesforce" as const, reason: "policy", detectedAt: EARLY };
const match = { id: "m-1", side: "attio" as const, recordId: ATTIO_ID, candidates: ["a", "b"], createdAt: EARLY };
const parked = {
  key: `attio:o:${ATTIO_ID}`,
  reason: "upstream_unavailable",
  errorMessage: "503",
  firstParkedAt: EARLY,
};

describe("explain: one reason per state", () => {
  const cases: { name: string; input: ExplainInput; reason: ReasonCode; inSync?: boolean }[] = [
    { name: "both sides hold the base", input: input(), reason: "in_sync", inSync: true },
    {
      name: "in sync while paused is still in sync",
      input: input({ mode: "paused" }),
      reason: "in_sync",
      inSync: true,
    },
    {
      name: "no mapping for the object",
      input: input({ mapping: { kind: "not_mapped" }, facts: null }),
      reason: "not_mapped",
    },
    {
      name: "a mapping switched off",
      input: {
        ...input(),
        mapping: { kind: "disabled", name: "companies", why: ["enabled = false"] },
        facts: undefined,
      },
      reason: "mapping_disabled",
    },
    {
      name: "an Attio change waits in the queue",
      input: input({ facts: { attio: company("Acme Inc", "acme.example", LATER) } }),
      reason: "waiting_in_queue",
    },
    {
      name: "the same change while paused",
      input: input({ mode: "paused", facts: { attio: company("Acme Inc", "acme.example", LATER) } }),
      reason: "paused",
    },
    {
      name: "the same change in setup",
      input: input({ mode: "setup", facts: { attio: company("Acme Inc", "acme.example", LATER) } }),
      reason: "not_started",
    },
    {
      name: "the same change parked by an outage",
      input: input({
        items: items({ parked: [parked] }),
        facts: { attio: company("Acme Inc", "acme.example", LATER) },
      }),
      reason: "waiting_for_api",
    },
    {
      name: "no pair, nothing matched: a create waits",
      input: input({ facts: { pair: undefined, salesforce: undefined, candidates: { kind: "found", records: [] } } }),
      reason: "no_counterpart_yet",
    },
    {
      name: "a failed write",
      input: input({
        items: items({ failures: [failure] }),
        facts: { pair: undefined, salesforce: undefined, candidates: { kind: "found", records: [] } },
      }),
      reason: "write_rejected",
    },
    {
      name: "a field Salesforce refused",
      input: input({ items: items({ warnings: [warning("rejected_by_salesforce")] }) }),
      reason: "write_rejected",
    },
    {
      name: "a value with no counterpart",
      input: input({ items: items({ warnings: [warning("unmapped_value")] }) }),
      reason: "value_unmappable",
    },
    {
      name: "a conflict the manual strategy holds",
      input: input({
        strategy: "manual",
        facts: {
          attio: company("Acme Inc", "acme.example", LATER),
          salesforce: account("Acme Corp", "2026-03-02T00:00:00.000Z"),
        },
      }),
      reason: "conflict_held",
    },
    {
      name: "an open conflict row",
      input: input({ items: items({ conflicts: [conflict] }) }),
      reason: "conflict_held",
    },
    { name: "a held delete", input: input({ items: items({ deletes: [held] }) }), reason: "delete_held" },
    {
      name: "a delete the policy holds now",
      input: input({ facts: { salesforce: null, salesforceGone: "deleted" } }),
      reason: "delete_held",
    },
    {
      name: "several candidates",
      input: input({
        facts: {
          pair: undefined,
          salesforce: undefined,
          candidates: { kind: "found", records: [account("A"), { ...account("B"), Id: "001000000000e02AAA" }] },
        },
      }),
      reason: "ambiguous_match",
    },
    {
      name: "an open ambiguous match",
      input: input({
        items: items({ matches: [match] }),
        facts: { pair: undefined, salesforce: undefined, candidates: { kind: "found", records: [] } },
      }),
      reason: "ambiguous_match",
    },
    {
      name: "the linked Account is hidden from the integration user",
      input: input({ facts: { salesforce: null, salesforceGone: "not_visible" } }),
      reason: "not_visible",
    },
    {
      name: "no such record, never linked",
      input: input({ facts: { pair: undefined, attio: null, salesforce: undefined } }),
      reason: "not_found",
    },
  ];

  it.each(cases)("$name: $reason", ({ input: given, reason, inSync }) => {
    const answer = explain(given);
    expect(answer.reason).toBe(reason);
    expect(answer.in_sync).toBe(inSync ?? false);
    expect(answer.meaning).toContain(REASONS[reason].meaning);
  });

  it("covers every documented reason code", () => {
    // reference_pending needs a reference mapping: tested through people below.
    expect(new Set([...cases.map((c) => c.reason), "reference_pending"])).toEqual(new Set(REASON_CODES));
  });

  it("paused: held items still come first, since resuming alone would not sync them", () => {
    const answer = explain(input({ mode: "paused", items: items({ conflicts: [conflict] }) }));
    expect(answer.reason).toBe("conflict_held");
    expect(answer.next_step).toContain("/api/v1/conflicts/c-1");
  });

  it.each<Mode>(["paused", "setup"])("a record with no counterpart yet in %s says so by the mode", (mode) => {
    const answer = explain(
      input({ mode, facts: { pair: undefined, salesforce: undefined, candidates: { kind: "found", records: [] } } }),
    );
    expect(answer).toMatchObject({ reason: mode === "paused" ? "paused" : "not_started", mode, in_sync: false });
    // What the engine would do is still told: create the Account.
    expect(answer.decision).toMatchObject({ kind: "write", detail: { operation: "create" } });
  });
});

describe("explain: the field table and the rest of the answer", () => {
  it("says per field who changed, and what a sync would write where", () => {
    const answer = explain(input({ facts: { attio: company("Acme Inc", "acme.example", LATER) } }));
    const name = answer.fields.find((f) => f.field === "Name");
    expect(name).toEqual({
      field: "Name",
      attribute: "name",
      direction: "both",
      attio: "Acme Inc",
      salesforce: "Acme",
      base: { attio: "Acme", salesforce: "Acme" },
      in_sync: false,
      newer: "attio",
      would: "write_to_salesforce",
      value: "Acme Inc",
    });
    expect(answer.fields.find((f) => f.field === "Website")).toMatchObject({
      in_sync: true,
      newer: "none",
      would: "nothing",
    });
    expect(answer.counterpart).toEqual({
      side: "salesforce",
      object: "Account",
      record_id: SF_ID,
      linked: true,
      exists: true,
    });
    expect(answer.decision).toMatchObject({
      kind: "write",
      detail: { operation: "update", to_salesforce: { Name: "Acme Inc" } },
    });
  });

  it("both sides changed: the newer wins under last_write, and the row names the winner", () => {
    const answer = explain(
      input({
        facts: {
          attio: company("Acme Inc", "acme.example", LATER),
          salesforce: account("Acme Corp", "2026-03-01T12:00:00.000Z"),
        },
      }),
    );
    expect(answer.fields.find((f) => f.field === "Name")).toMatchObject({
      newer: "attio",
      would: "write_to_salesforce",
      winner: "attio",
    });
  });

  it("under manual, the row holds the conflict", () => {
    const answer = explain(
      input({
        strategy: "manual",
        facts: {
          attio: company("Acme Inc", "acme.example", LATER),
          salesforce: account("Acme Corp", "2026-03-02T12:00:00.000Z"),
        },
      }),
    );
    expect(answer.fields.find((f) => f.field === "Name")).toMatchObject({
      newer: "salesforce",
      would: "hold_conflict",
    });
  });

  it("an in-sync record lists no write, and keeps its open items and last decision", () => {
    const last = {
      at: EARLY,
      operation: "update",
      direction: "attio_to_sf",
      actor: "workspace-member:m",
      correlationId: "c",
    };
    const answer = explain(input({ items: items({ failures: [failure] }), lastDecision: last }));
    expect(answer).toMatchObject({
      in_sync: true,
      reason: "in_sync",
      last_decision: last,
      open_items: { failures: [failure] },
    });
    expect(answer.fields.every((f) => f.would === "nothing")).toBe(true);
  });

  it("a failure's next step names its replay", () => {
    const answer = explain(
      input({ items: items({ failures: [failure] }), facts: { attio: company("Acme Inc", "acme.example", LATER) } }),
    );
    expect(answer.next_step).toContain(`/api/v1/failures/${encodeURIComponent(failure.id)}/replay`);
  });

  it("a matched candidate is the counterpart, not linked yet", () => {
    const answer = explain(
      input({
        facts: { pair: undefined, salesforce: undefined, candidates: { kind: "found", records: [account("Acme")] } },
      }),
    );
    expect(answer.counterpart).toEqual({
      side: "salesforce",
      object: "Account",
      record_id: SF_ID,
      linked: false,
      exists: true,
    });
    expect(answer.reason).toBe("no_counterpart_yet");
  });

  it("a mapping switched off says why", () => {
    const disabled: MappingState = { kind: "disabled", name: "companies", why: ["Account has no field Website"] };
    const answer = explain({ ...input(), mapping: disabled, facts: undefined });
    expect(answer).toMatchObject({ reason: "mapping_disabled", mapping: "companies", fields: [], decision: null });
    expect(answer.meaning).toContain("Account has no field Website");
  });
});

describe("explain: what the engine would do, for each kind of decision", () => {
  it.each([
    {
      name: "a candidate another consumer holds: retried",
      more: { facts: { pair: undefined, salesforce: undefined, candidates: { kind: "busy" as const, waitMs: 2500 } } },
      decision: { kind: "retry", detail: { reason: "candidate_busy", after_seconds: 3 } },
      reason: "no_counterpart_yet",
    },
    {
      name: "the Account deleted under propagate: its counterpart deleted too",
      more: {
        mapping: {
          kind: "enabled" as const,
          ctx: decideContext(
            companies,
            { strategy: "last_write", direction: "bidirectional", deletePolicy: "propagate" },
            { ids: idMap([]) },
          ),
        },
        facts: { salesforce: null, salesforceGone: "deleted" as const },
      },
      decision: { kind: "delete", detail: { deleted_on: "salesforce", policy: "propagate" } },
      reason: "waiting_in_queue",
    },
    {
      name: "the Account lost a merge: the pair follows the master",
      more: {
        facts: {
          salesforce: null,
          salesforceGone: "deleted" as const,
          salesforceMerge: { master: "001000000000e09AAA", masterLinked: false },
        },
      },
      decision: { kind: "follow_merge", detail: { master: "001000000000e09AAA" } },
      reason: "waiting_in_queue",
    },
  ])("$name", ({ more, decision, reason }) => {
    const answer = explain(input(more));
    expect(answer.decision).toEqual(decision);
    expect(answer.reason).toBe(reason);
    // No field write is planned for a record whose decision is not one.
    if (decision.kind !== "retry") expect(answer.fields.every((f) => f.would === "none")).toBe(true);
  });

  it("an Attio-to-Salesforce field is not synced when the global direction is sf_to_attio", () => {
    const context = decideContext(
      companies,
      { strategy: "last_write", direction: "sf_to_attio", deletePolicy: "hold" },
      { ids: idMap([]) },
    );
    const answer = explain(input({ mapping: { kind: "enabled", ctx: context } }));
    const oneWay = companies.fields.filter((f) => f.spec.direction === "attio_to_sf").map((f) => f.spec.salesforce);
    expect(oneWay.length).toBeGreaterThan(0);
    for (const field of oneWay) expect(answer.fields.find((f) => f.field === field)?.would).toBe("not_synced");
    expect(answer.reason).toBe("in_sync");
  });
});

describe("explain: a reference whose target has no counterpart", () => {
  const people = compileMapping(defaultMappings().find((m) => m.name === "people") ?? (undefined as never));
  it("waits as reference_pending, not as an unmappable value", () => {
    const person: AttioRecord = {
      id: { workspace_id: "w", object_id: "p", record_id: ATTIO_ID },
      created_at: EARLY,
      values: {
        name: [val("personal-name", { first_name: "Ada", last_name: "Okafor", full_name: "Ada Okafor" })],
        email_addresses: [val("email-address", { email_address: "ada@acme.example" })],
        company: [
          val("record-reference", {
            target_object: "companies",
            target_record_id: "00000000-0000-4000-8000-0000000000c9",
          }),
        ],
      },
    };
    const context = decideContext(
      people,
      { strategy: "last_write", direction: "bidirectional", deletePolicy: "hold" },
      { ids: idMap([]) },
    );
    const answer = explain({
      side: "attio",
      object: "people",
      recordId: ATTIO_ID,
      mode: "running",
      mapping: { kind: "enabled", ctx: context },
      facts: {
        touch,
        pair: undefined,
        attio: person,
        salesforce: undefined,
        candidates: { kind: "found", records: [] },
      },
      items: NO_ITEMS,
      lastDecision: null,
    });
    expect(answer.fields.find((f) => f.field === "AccountId")).toMatchObject({ would: "wait" });
    expect(answer.reason).toBe("reference_pending");
  });
});
