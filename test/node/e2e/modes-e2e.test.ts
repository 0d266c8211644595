import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SyncWriteCounts } from "../../../scripts/sandbox/shared/local.ts";
import { type Stack, startDeployment, startStack } from "../../../scripts/sandbox/stack.ts";
import { api, attioRecords, control, eventually, type SfRecord, salesforceRecords, settle } from "./helpers.ts";

/**
 * Issue 24, modes, against the sandbox: a new deployment writes nothing to either CRM until it is
 * started; a pause holds a burst of edits on both sides, and resume delivers each exactly once
 * (the emulators count the writes the sync makes).
 */

let stack: Stack;

beforeAll(async () => {
  // Left in setup: the test starts it.
  stack = await startStack({ seed: 73, start: false });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

type Writes = Record<string, SyncWriteCounts>;

async function syncWrites(): Promise<{ attio: Writes; salesforce: Writes }> {
  const read = async (url: string) =>
    ((await (await fetch(`${url}/__control/stats`)).json()) as { syncWrites?: Writes }).syncWrites ?? {};
  return { attio: await read(stack.attio.url), salesforce: await read(stack.salesforce.url) };
}

function total(writes: Writes): number {
  return Object.values(writes).reduce((sum, w) => sum + w.created + w.updated + w.deleted, 0);
}

async function post<T = Record<string, unknown>>(path: string): Promise<{ status: number; body: T }> {
  const response = await fetch(`${stack.workerUrl}/api/v1${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${stack.adminToken}` },
  });
  return { status: response.status, body: (await response.json()) as T };
}

const EMAIL_ATTIO = "noor.haddad@quartz-labs.example";
const EMAIL_SF = "tomas.varga@quartz-labs.example";

const contactByEmail = async (email: string) =>
  (await salesforceRecords(stack, "Contact")).find((c) => c["Email"] === email);
const personByEmail = async (email: string) =>
  (await attioRecords(stack, "people")).find((p) =>
    p.values["email_addresses"]?.some((e) => e["email_address"] === email),
  );
const titleOf = (person: Awaited<ReturnType<typeof personByEmail>>) => person?.values["job_title"]?.[0]?.["value"];

describe("modes against the sandbox", () => {
  it("a fresh deployment writes nothing until started", async () => {
    expect(await api<{ mode: string }>(stack, "/status")).toMatchObject({ mode: "setup" });
    await control(stack.attio.url, "edit", {
      object: "people",
      values: {
        name: { first_name: "Noor", last_name: "Haddad", full_name: "Noor Haddad" },
        email_addresses: [EMAIL_ATTIO],
        job_title: "Analyst",
      },
    });
    await control(stack.salesforce.url, "edit", {
      object: "Contact",
      fields: { FirstName: "Tomas", LastName: "Varga", Email: EMAIL_SF, Title: "Engineer" },
    });
    await settle(stack);

    expect(total((await syncWrites()).attio) + total((await syncWrites()).salesforce)).toBe(0);
    expect(await contactByEmail(EMAIL_ATTIO)).toBeUndefined();
    expect(await personByEmail(EMAIL_SF)).toBeUndefined();
    const status = await api<{ mode: string; held_changes: number }>(stack, "/status");
    expect(status.mode).toBe("setup");
    expect(status.held_changes).toBeGreaterThanOrEqual(2);

    const started = await startDeployment(stack);
    expect(started).toMatchObject({ mode: "running", previous_mode: "setup", changed: true });
    const people = started.first_catch_up?.find((m) => m.mapping === "people");
    expect(people?.attio).toMatchObject({ ok: true, object: "people", linked: 0 });
    expect(people?.salesforce).toMatchObject({ ok: true, object: "Contact" });

    await eventually("the Attio person in Salesforce", () => contactByEmail(EMAIL_ATTIO), 60_000);
    await eventually("the Salesforce Contact in Attio", () => personByEmail(EMAIL_SF), 60_000);
  }, 120_000);

  it("pause holds a burst of edits on both sides and resume delivers each exactly once", async () => {
    await settle(stack);
    const contact = (await contactByEmail(EMAIL_SF)) as SfRecord;
    const person = await personByEmail(EMAIL_ATTIO);
    expect(person).toBeDefined();
    const paused = await post("/pause");
    expect(paused).toMatchObject({ status: 200, body: { mode: "paused", changed: true } });
    const before = await syncWrites();

    for (const title of ["Lead", "Manager", "Director"]) {
      await control(stack.attio.url, "edit", {
        object: "people",
        record_id: person?.id.record_id,
        values: { job_title: title },
      });
    }
    for (const title of ["Staff Engineer", "Principal Engineer"]) {
      await control(stack.salesforce.url, "edit", { object: "Contact", id: contact.Id, fields: { Title: title } });
    }
    await settle(stack);

    expect(await syncWrites()).toEqual(before);
    expect((await contactByEmail(EMAIL_ATTIO))?.["Title"]).toBe("Analyst");
    expect(titleOf(await personByEmail(EMAIL_SF))).toBe("Engineer");
    const status = await api<{ mode: string; held_changes: number; problems: { code: string }[] }>(stack, "/status");
    expect(status.mode).toBe("paused");
    expect(status.held_changes).toBeGreaterThanOrEqual(2);
    expect(status.problems.map((p) => p.code)).toContain("paused");

    const resumed = await post("/resume");
    expect(resumed).toMatchObject({ status: 200, body: { mode: "running", changed: true } });
    await eventually(
      "the last Attio title in Salesforce",
      async () => ((await contactByEmail(EMAIL_ATTIO))?.["Title"] === "Director" ? true : undefined),
      60_000,
    );
    await eventually(
      "the last Salesforce title in Attio",
      async () => (titleOf(await personByEmail(EMAIL_SF)) === "Principal Engineer" ? true : undefined),
      60_000,
    );
    await settle(stack);
    const after = await syncWrites();
    // Each side written once: one update of the Contact, one of the person.
    expect(total(after.salesforce) - total(before.salesforce)).toBe(1);
    expect(total(after.attio) - total(before.attio)).toBe(1);
  }, 180_000);
});
