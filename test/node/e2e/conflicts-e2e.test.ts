import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Stack, startStack } from "../../../scripts/sandbox/stack.ts";
import {
  type AttioRecordJson,
  attioRecords,
  closeWorkerDb,
  control,
  eventually,
  holdDeliveries,
  idle,
  pairOf,
  rows,
  type SfRecord,
  salesforceRecords,
  settle,
  workerDb,
} from "./helpers.ts";

/**
 * The same field changed on both sides before the Worker heard of either change, under each
 * CONFLICT_RESOLUTION (one stack per strategy). Deliveries are held back while both edits are made,
 * then delivered: the Worker sees a true both-sides change, not two edits one after the other.
 */

vi.setConfig({ testTimeout: 60_000 });

type Strategy = "last_write" | "attio_wins" | "sf_wins" | "manual";

interface Linked {
  personId: string;
  contactId: string;
  email: string;
}

async function linkedPerson(stack: Stack, email: string): Promise<Linked> {
  const { data } = await control<{ data: AttioRecordJson }>(stack.attio.url, "edit", {
    object: "people",
    values: {
      name: { first_name: "Rui", last_name: "Santos", full_name: "Rui Santos" },
      email_addresses: [email],
      job_title: "Analyst",
    },
  });
  const contact = await eventually("Contact", async () =>
    (await salesforceRecords(stack, "Contact")).find((c) => c["Email"] === email),
  );
  await idle(stack);
  const db = await workerDb(stack);
  await eventually("pair", async () => pairOf(db, data.id.record_id));
  await settle(stack);
  return { personId: data.id.record_id, contactId: contact.Id, email };
}

/** Edits Title on both sides while the Worker hears nothing, the second edit a second after the first. */
async function editBoth(stack: Stack, linked: Linked, first: "attio" | "salesforce") {
  const held = await holdDeliveries(stack);
  const attio = () =>
    control(stack.attio.url, "edit", {
      object: "people",
      record_id: linked.personId,
      values: { job_title: "Title from Attio" },
    });
  const salesforce = () =>
    control(stack.salesforce.url, "edit", {
      object: "Contact",
      id: linked.contactId,
      fields: { Title: "Title from Salesforce" },
    });
  await (first === "attio" ? attio() : salesforce());
  // Salesforce timestamps have second precision: a later edit must fall in a later second.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await (first === "attio" ? salesforce() : attio());
  await held.release();
}

async function titles(stack: Stack, linked: Linked) {
  const person = (await attioRecords(stack, "people")).find((p) => p.id.record_id === linked.personId);
  const contact = (await salesforceRecords(stack, "Contact")).find((c: SfRecord) => c.Id === linked.contactId);
  return { attio: person?.values["job_title"]?.[0]?.["value"], salesforce: contact?.["Title"] };
}

async function converged(stack: Stack, linked: Linked, expected: string) {
  await eventually(`both sides hold "${expected}"`, async () => {
    const now = await titles(stack, linked);
    return now.attio === expected && now.salesforce === expected ? now : undefined;
  });
  // Settled: the echoes of our own writes change nothing more.
  await settle(stack);
  expect(await titles(stack, linked)).toEqual({ attio: expected, salesforce: expected });
}

function withStack(strategy: Strategy, seed: number, body: (get: () => Stack) => void) {
  describe(`CONFLICT_RESOLUTION=${strategy}`, () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ seed, vars: { CONFLICT_RESOLUTION: strategy } });
    }, 120_000);
    afterAll(async () => {
      if (stack) closeWorkerDb(stack);
      await stack?.stop();
    });
    body(() => stack);
  });
}

withStack("last_write", 31, (get) => {
  it("the later edit wins: Salesforce edited after Attio", async () => {
    const linked = await linkedPerson(get(), "lw.sf-later@conflict.example");
    await editBoth(get(), linked, "attio");
    await converged(get(), linked, "Title from Salesforce");
  });

  it("the later edit wins: Attio edited after Salesforce", async () => {
    const linked = await linkedPerson(get(), "lw.attio-later@conflict.example");
    await editBoth(get(), linked, "salesforce");
    await converged(get(), linked, "Title from Attio");
  });
});

withStack("attio_wins", 32, (get) => {
  it("Attio's value wins even though Salesforce was edited later", async () => {
    const linked = await linkedPerson(get(), "aw@conflict.example");
    await editBoth(get(), linked, "attio");
    await converged(get(), linked, "Title from Attio");
  });
});

withStack("sf_wins", 33, (get) => {
  it("Salesforce's value wins even though Attio was edited later", async () => {
    const linked = await linkedPerson(get(), "sw@conflict.example");
    await editBoth(get(), linked, "salesforce");
    await converged(get(), linked, "Title from Salesforce");
  });
});

withStack("manual", 34, (get) => {
  it("the conflict is stored with both values and neither side is written", async () => {
    const stack = get();
    const linked = await linkedPerson(stack, "manual@conflict.example");
    const db = await workerDb(stack);
    const pair = pairOf(db, linked.personId);
    await editBoth(stack, linked, "attio");

    const conflict = await eventually("conflict row", async () =>
      rows<{ field: string; attio_value: string; sf_value: string; base_value: string; status: string }>(
        db,
        "select field, attio_value, sf_value, base_value, status from conflicts where mapping_id = ?",
        pair?.id ?? "",
      ).at(0),
    );
    expect(conflict).toEqual({
      field: "Title",
      attio_value: JSON.stringify("Title from Attio"),
      sf_value: JSON.stringify("Title from Salesforce"),
      base_value: JSON.stringify("Analyst"),
      status: "open",
    });
    await settle(stack);
    expect(await titles(stack, linked)).toEqual({ attio: "Title from Attio", salesforce: "Title from Salesforce" });
    // One open conflict per field, however many events came in.
    expect(rows(db, "select id from conflicts where mapping_id = ?", pair?.id ?? "")).toHaveLength(1);
  });

  it("a later edit of another field still flows while the conflict is open", async () => {
    const stack = get();
    const linked = await linkedPerson(stack, "manual.other@conflict.example");
    await editBoth(stack, linked, "salesforce");
    await control(stack.salesforce.url, "edit", {
      object: "Contact",
      id: linked.contactId,
      fields: { FirstName: "Ruben" },
    });
    await eventually("first name in Attio", async () => {
      const person = (await attioRecords(stack, "people")).find((p) => p.id.record_id === linked.personId);
      return person?.values["name"]?.[0]?.["first_name"] === "Ruben" ? person : undefined;
    });
    expect(await titles(stack, linked)).toEqual({ attio: "Title from Attio", salesforce: "Title from Salesforce" });
  });
});
