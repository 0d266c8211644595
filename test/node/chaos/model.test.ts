import { describe, expect, it } from "vitest";
import {
  companyIdentity,
  domainOf,
  type Edit,
  type Entity,
  evaluate,
  personIdentity,
  type Seen,
} from "../../../scripts/chaos/model.ts";

/** The chaos suite's verdicts (scripts/chaos/model.ts) on hand-made end states. */

const person = (n: number, keyed = true): Entity => ({
  identity: personIdentity(keyed ? `p${n}@x.example` : null, `Last${n}`),
  kind: "person",
  keyed,
  origin: "attio",
  fixedName: `Last${n}`,
  ...(keyed ? { email: `p${n}@x.example` } : {}),
  ids: {},
  deleted: false,
});

const seen = (side: Seen["side"], entity: Entity, values: Seen["values"], id = `${side}-${entity.identity}`): Seen => ({
  side,
  id,
  kind: entity.kind,
  identity: entity.identity,
  values,
});

const edit = (seq: number, side: Edit["side"], entity: Entity, field: Edit["field"], value: string): Edit => ({
  seq,
  at: seq * 100,
  side,
  identity: entity.identity,
  op: "update",
  ...(field ? { field } : {}),
  value,
});

describe("chaos model: the verdicts on a final state", () => {
  it("a clean end state: both sides hold the last edit of every field", () => {
    const p = person(1);
    const edits = [edit(1, "attio", p, "title", "ta1"), edit(2, "salesforce", p, "title", "ts2")];
    const result = evaluate([p], edits, [
      seen("attio", p, { first: "F", title: "ts2" }),
      seen("salesforce", p, { first: "F", title: "ts2" }),
    ]);
    expect(result).toEqual({
      missing: [],
      duplicates: { attio: 0, salesforce: 0 },
      duplicateExamples: [],
      undeleted: [],
      strangers: [],
      fieldsDiffer: [],
      lostUpdates: [],
      concurrent: [],
      eventNeverDelivered: [],
    });
  });

  it("an update lost: both sides agree on an older value; it names the other side's last edit and the gap", () => {
    const p = person(2);
    const edits = [edit(3, "salesforce", p, "title", "ts3"), edit(15, "attio", p, "title", "ta15")];
    const result = evaluate([p], edits, [seen("attio", p, { title: "ts3" }), seen("salesforce", p, { title: "ts3" })]);
    expect(result.fieldsDiffer).toEqual([]);
    expect(result.concurrent).toEqual([]);
    expect(result.lostUpdates).toHaveLength(1);
    expect(result.lostUpdates[0]).toContain('last edit #15 (attio) "ta15" not final on attio+salesforce');
    expect(result.lostUpdates[0]).toContain("#3 came 1200 ms before");
  });

  it("edits on both sides within a second, the sides agreeing on the earlier one: concurrent, not lost", () => {
    const p = person(2);
    const edits = [edit(3, "salesforce", p, "title", "ts3"), edit(9, "attio", p, "title", "ta9")];
    const result = evaluate([p], edits, [seen("attio", p, { title: "ts3" }), seen("salesforce", p, { title: "ts3" })]);
    expect(result.lostUpdates).toEqual([]);
    expect(result.concurrent).toHaveLength(1);
    expect(result.concurrent[0]).toContain("#3 came 600 ms before");
  });

  it("a later Attio edit lost to a Salesforce value whose change event never reached the Worker: counted apart", () => {
    const p = person(8);
    const edits = [edit(3, "salesforce", p, "title", "ts3"), edit(15, "attio", p, "title", "ta15")];
    const final = [seen("attio", p, { title: "ts3" }), seen("salesforce", p, { title: "ts3" })];
    const dropped = evaluate([p], edits, final, new Set(["ts3"]));
    expect(dropped.lostUpdates).toEqual([]);
    expect(dropped.eventNeverDelivered).toHaveLength(1);
    // The same outcome with the event delivered is a lost update.
    expect(evaluate([p], edits, final, new Set()).lostUpdates).toHaveLength(1);
  });

  it("duplicates per side, records missing, deletes not carried out, records of no entity", () => {
    const [a, b, c, d] = [person(3), person(4, false), person(5), person(6)];
    c.deleted = true;
    const stranger = person(7);
    const result = evaluate(
      [a, b, c, d],
      [{ seq: 1, at: 1, side: "attio", identity: c.identity, op: "delete" }],
      [
        seen("attio", a, {}, "a1"),
        seen("attio", a, {}, "a2"),
        seen("salesforce", a, {}),
        seen("attio", b, {}),
        seen("salesforce", c, {}),
        seen("attio", d, {}),
        seen("salesforce", d, {}),
        seen("salesforce", stranger, {}),
      ],
    );
    expect(result.duplicates).toEqual({ attio: 1, salesforce: 0 });
    expect(result.missing).toEqual([`${b.identity} missing in salesforce`]);
    expect(result.undeleted).toEqual([`${c.identity} still in salesforce (deleted in attio by edit #1)`]);
    expect(result.strangers).toEqual([`salesforce ${stranger.identity} (1)`]);
  });

  it("values that differ between the sides; nothing and the empty string are the same", () => {
    const p = person(8);
    const result = evaluate(
      [p],
      [],
      [seen("attio", p, { first: "A", title: null }), seen("salesforce", p, { first: "B", title: "" })],
    );
    expect(result.fieldsDiffer).toEqual([`${p.identity} first: attio=A salesforce=B`]);
  });

  it("identities: a website's domain, people and companies with and without match keys", () => {
    expect(domainOf("https://www.Chaos-1.example/about")).toBe("chaos-1.example");
    expect(domainOf("")).toBeNull();
    expect(personIdentity("A@X.example", "L")).toBe("email:a@x.example");
    expect(personIdentity(null, "L")).toBe("person:L");
    expect(companyIdentity("chaos-1.example", "C")).toBe("domain:chaos-1.example");
    expect(companyIdentity(null, "C")).toBe("company:C");
  });
});
