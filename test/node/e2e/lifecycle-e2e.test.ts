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
  state,
  workerDb,
} from "./helpers.ts";

/**
 * Record lifecycles end to end: both emulators and the Worker under wrangler dev, default settings
 * (last_write, delete policy hold). Every edit is made through the emulators' control API, as a
 * person would make it in Attio or Salesforce; the Worker hears of it only through webhooks and
 * relayed change events.
 */

vi.setConfig({ testTimeout: 60_000 });

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ seed: 21 });
}, 120_000);

afterAll(async () => {
  if (stack) closeWorkerDb(stack);
  await stack?.stop();
});

const hasEmail = (email: string) => (p: AttioRecordJson) =>
  p.values["email_addresses"]?.some((e) => e["email_address"] === email) ?? false;

async function contactByEmail(email: string): Promise<SfRecord | undefined> {
  return (await salesforceRecords(stack, "Contact")).find((c) => c["Email"] === email);
}

async function personByEmail(email: string): Promise<AttioRecordJson | undefined> {
  return (await attioRecords(stack, "people")).find(hasEmail(email));
}

async function createPerson(values: Record<string, unknown>): Promise<string> {
  const { data } = await control<{ data: AttioRecordJson }>(stack.attio.url, "edit", { object: "people", values });
  return data.id.record_id;
}

async function createInSalesforce(object: string, fields: Record<string, unknown>): Promise<string> {
  const { record } = await control<{ record: SfRecord }>(stack.salesforce.url, "edit", { object, fields });
  return record.Id;
}

function person(first: string, last: string, email: string, extra: Record<string, unknown> = {}) {
  return {
    name: { first_name: first, last_name: last, full_name: `${first} ${last}` },
    email_addresses: [email],
    ...extra,
  };
}

describe("create and update on each side", () => {
  it("a Contact created in Salesforce appears in Attio once, and an Attio edit of it reaches Salesforce", async () => {
    const email = "tomas.reyes@quarry-labs.example";
    const contactId = await createInSalesforce("Contact", {
      FirstName: "Tomas",
      LastName: "Reyes",
      Email: email,
      Title: "Data Engineer",
    });

    const created = await eventually("person in Attio", () => personByEmail(email));
    expect(created.values["name"]?.[0]).toMatchObject({ first_name: "Tomas", last_name: "Reyes" });
    expect(created.values["job_title"]?.[0]?.["value"]).toBe("Data Engineer");

    await control(stack.attio.url, "edit", {
      object: "people",
      record_id: created.id.record_id,
      values: { job_title: "Staff Data Engineer" },
    });
    await eventually("Contact with the new title", async () => {
      const contact = await contactByEmail(email);
      return contact?.["Title"] === "Staff Data Engineer" ? contact : undefined;
    });

    await idle(stack);
    expect((await attioRecords(stack, "people")).filter(hasEmail(email))).toHaveLength(1);
    const contacts = (await salesforceRecords(stack, "Contact")).filter((c) => c["Email"] === email);
    expect(contacts.map((c) => c.Id)).toEqual([contactId]);
  });

  it("a company created in Attio becomes an Account, and a Salesforce edit of the Account reaches Attio", async () => {
    await control(stack.attio.url, "edit", {
      object: "companies",
      values: { name: "Lumen Freight", domains: ["lumen-freight.example"], description: "Cold-chain logistics" },
    });
    const account = await eventually("Account in Salesforce", async () =>
      (await salesforceRecords(stack, "Account")).find((a) => a["Name"] === "Lumen Freight"),
    );
    expect(account["Website"]).toContain("lumen-freight.example");
    expect(account["Description"]).toBe("Cold-chain logistics");

    await control(stack.salesforce.url, "edit", {
      object: "Account",
      id: account.Id,
      fields: { Description: "Cold-chain and pharma logistics" },
    });
    const company = await eventually("company with the new description", async () =>
      (await attioRecords(stack, "companies")).find(
        (c) => c.values["description"]?.[0]?.["value"] === "Cold-chain and pharma logistics",
      ),
    );
    expect(company.values["name"]?.[0]?.["value"]).toBe("Lumen Freight");
  });
});

describe("deletes (default policy: hold)", () => {
  it("a person deleted in Attio leaves a pending delete and its Contact untouched", async () => {
    const email = "hold.attio@ferrous.example";
    const recordId = await createPerson(person("Hana", "Ito", email));
    const contact = await eventually("Contact", () => contactByEmail(email));
    await idle(stack);
    const db = await workerDb(stack);
    const pair = await eventually("pair stored", async () => pairOf(db, recordId));

    await control(stack.attio.url, "delete", { object: "people", record_id: recordId });

    const pending = await eventually("pending delete", async () =>
      rows<{ deleted_on: string; status: string }>(
        db,
        "select deleted_on, status from pending_deletes where mapping_id = ?",
        pair.id,
      ).at(0),
    );
    expect(pending).toEqual({ deleted_on: "attio", status: "pending" });
    await idle(stack);
    expect(await contactByEmail(email)).toMatchObject({ Id: contact.Id, LastName: "Ito" });
    // The pair is kept until someone decides.
    expect(pairOf(db, recordId)?.sf_record_id).toBe(contact.Id);
  });

  it("a Contact deleted in Salesforce leaves a pending delete and its Attio person untouched", async () => {
    const email = "hold.sf@ferrous.example";
    const contactId = await createInSalesforce("Contact", { LastName: "Adeyemi", Email: email });
    const created = await eventually("person in Attio", () => personByEmail(email));
    await idle(stack);
    const db = await workerDb(stack);
    const pair = await eventually("pair stored", async () => pairOf(db, created.id.record_id));

    await control(stack.salesforce.url, "delete", { id: contactId });

    const pending = await eventually("pending delete", async () =>
      rows<{ deleted_on: string }>(db, "select deleted_on from pending_deletes where mapping_id = ?", pair.id).at(0),
    );
    expect(pending.deleted_on).toBe("salesforce");
    await idle(stack);
    expect((await personByEmail(email))?.id.record_id).toBe(created.id.record_id);
  });
});

describe("first contact", () => {
  it("a person and a Contact that exist before the first sync are linked, not duplicated", async () => {
    const email = "already.both@orchard-bio.example";
    const held = await holdDeliveries(stack);
    const recordId = await createPerson(person("Priya", "Natarajan", email, { job_title: "CSO" }));
    const contactId = await createInSalesforce("Contact", {
      FirstName: "Priya",
      LastName: "Natarajan",
      Email: email,
      Phone: "+442071234567",
    });
    await held.release();

    const db = await workerDb(stack);
    const pair = await eventually("pair stored", async () => pairOf(db, recordId));
    expect(pair.sf_record_id).toBe(contactId);
    // Each side fills the other's blanks: the title from Attio, the phone from Salesforce.
    await eventually("title on the Contact", async () =>
      (await contactByEmail(email))?.["Title"] === "CSO" ? true : undefined,
    );
    await eventually("phone on the person", async () =>
      (await personByEmail(email))?.values["phone_numbers"]?.length ? true : undefined,
    );
    await idle(stack);
    expect((await attioRecords(stack, "people")).filter(hasEmail(email))).toHaveLength(1);
    expect((await salesforceRecords(stack, "Contact")).filter((c) => c["Email"] === email)).toHaveLength(1);
  });

  it("a company and an Account with the same domain are linked, not duplicated", async () => {
    const held = await holdDeliveries(stack);
    const { data } = await control<{ data: AttioRecordJson }>(stack.attio.url, "edit", {
      object: "companies",
      values: { name: "Basalt Works", domains: ["basalt-works.example"] },
    });
    const accountId = await createInSalesforce("Account", {
      Name: "Basalt Works Ltd",
      Website: "https://www.basalt-works.example",
    });
    await held.release();

    const db = await workerDb(stack);
    const pair = await eventually("pair stored", async () => pairOf(db, data.id.record_id));
    expect(pair.sf_record_id).toBe(accountId);
    await idle(stack);
    const accounts = (await salesforceRecords(stack, "Account")).filter((a) =>
      String(a["Website"] ?? "").includes("basalt-works.example"),
    );
    expect(accounts.map((a) => a.Id)).toEqual([accountId]);
    const companies = (await attioRecords(stack, "companies")).filter((c) =>
      c.values["domains"]?.some((d) => d["domain"] === "basalt-works.example"),
    );
    expect(companies).toHaveLength(1);
  });
});

describe("references", () => {
  it("a Contact whose Account is not synced yet gets its AccountId once the Account syncs", async () => {
    // The company exists in Attio but the Worker never heard of it (its webhook was held back and
    // is never delivered): only the person's reference to it can bring it over.
    const held = await holdDeliveries(stack);
    const { data: company } = await control<{ data: AttioRecordJson }>(stack.attio.url, "edit", {
      object: "companies",
      values: { name: "Tidewater Analytics", domains: ["tidewater-analytics.example"] },
    });
    await idle(stack);
    await held.discard();

    const email = "noor.haddad@tidewater-analytics.example";
    await createPerson(
      person("Noor", "Haddad", email, {
        company: [{ target_object: "companies", target_record_id: company.id.record_id }],
      }),
    );

    const account = await eventually("Account created from the reference", async () =>
      (await salesforceRecords(stack, "Account")).find((a) => a["Name"] === "Tidewater Analytics"),
    );
    const contact = await eventually("Contact with its AccountId", async () => {
      const found = await contactByEmail(email);
      return found?.["AccountId"] ? found : undefined;
    });
    expect(contact["AccountId"]).toBe(account.Id);
    await idle(stack);
    expect((await salesforceRecords(stack, "Contact")).filter((c) => c["Email"] === email)).toHaveLength(1);
    expect((await salesforceRecords(stack, "Account")).filter((a) => a["Name"] === "Tidewater Analytics")).toHaveLength(
      1,
    );
  });

  it("a person whose company is not synced yet gets its company once the Account syncs (Salesforce side)", async () => {
    const held = await holdDeliveries(stack);
    const accountId = await createInSalesforce("Account", {
      Name: "Corvid Systems",
      Website: "corvid-systems.example",
    });
    await held.discard();

    const email = "lena.vogt@corvid-systems.example";
    await createInSalesforce("Contact", { LastName: "Vogt", FirstName: "Lena", Email: email, AccountId: accountId });

    const company = await eventually("company created from the reference", async () =>
      (await attioRecords(stack, "companies")).find((c) => c.values["name"]?.[0]?.["value"] === "Corvid Systems"),
    );
    const linked = await eventually("person with its company", async () => {
      const found = await personByEmail(email);
      return found?.values["company"]?.length ? found : undefined;
    });
    expect(linked.values["company"]?.[0]).toMatchObject({ target_record_id: company.id.record_id });
  });
});

describe("merges", () => {
  it("an Attio merge moves the pair to the surviving person; no Contact is created or deleted", async () => {
    const loserEmail = "merge.loser@granite.example";
    const loserId = await createPerson(person("Omar", "Farouk", loserEmail, { job_title: "Buyer" }));
    const contact = await eventually("Contact of the loser", () => contactByEmail(loserEmail));
    await idle(stack);
    const db = await workerDb(stack);
    const pair = await eventually("pair stored", async () => pairOf(db, loserId));
    // The echo of the Contact's creation must be through first: read after the merge, it would find
    // the loser gone and hold a delete, as for any linked record found missing.
    await settle(stack);

    // The survivor exists in Attio only (created while the Worker heard nothing).
    const held = await holdDeliveries(stack);
    const survivorId = await createPerson(
      person("Omar", "Farouk", "omar@granite.example", { job_title: "Head of Procurement" }),
    );
    await idle(stack);
    await held.discard();
    const contactsBefore = (await salesforceRecords(stack, "Contact")).length;

    await control(stack.attio.url, "merge", {
      object: "people",
      primary_record_id: survivorId,
      duplicate_record_id: loserId,
    });

    const moved = await eventually("pair moved to the survivor", async () => {
      const found = pairOf(db, survivorId);
      return found?.id === pair.id ? found : undefined;
    });
    expect(moved.sf_record_id).toBe(contact.Id);
    expect(pairOf(db, loserId)).toBeUndefined();
    // The survivor's own values now flow to the Contact.
    await eventually("Contact has the survivor's title", async () =>
      (await salesforceRecords(stack, "Contact")).find((c) => c.Id === contact.Id)?.["Title"] === "Head of Procurement"
        ? true
        : undefined,
    );
    await idle(stack);
    expect(await salesforceRecords(stack, "Contact")).toHaveLength(contactsBefore);
    expect(rows(db, "select * from pending_deletes where mapping_id = ?", pair.id)).toEqual([]);
  });

  it("merging two linked people keeps both Contacts and records the merge for a human", async () => {
    const aEmail = "merge.both.a@slate.example";
    const bEmail = "merge.both.b@slate.example";
    const aId = await createPerson(person("Ida", "Berg", aEmail));
    const bId = await createPerson(person("Ida", "Berg", bEmail));
    const contactA = await eventually("Contact A", () => contactByEmail(aEmail));
    const contactB = await eventually("Contact B", () => contactByEmail(bEmail));
    await idle(stack);
    const db = await workerDb(stack);
    const pairA = await eventually("pair A", async () => pairOf(db, aId));
    const pairB = await eventually("pair B", async () => pairOf(db, bId));

    await control(stack.attio.url, "merge", { object: "people", primary_record_id: aId, duplicate_record_id: bId });

    // The loser's pair waits for a decision, as a held delete: Salesforce is not asked to merge.
    const pending = await eventually("the loser's pair held", async () =>
      rows<{ deleted_on: string }>(db, "select deleted_on from pending_deletes where mapping_id = ?", pairB.id).at(0),
    );
    expect(pending.deleted_on).toBe("attio");
    await idle(stack);
    expect(pairOf(db, aId)?.id).toBe(pairA.id);
    const ids = (await salesforceRecords(stack, "Contact")).map((c) => c.Id);
    expect(ids).toContain(contactA.Id);
    expect(ids).toContain(contactB.Id);
  });
});

describe("merges through Attio's merge endpoint (a new record, one record.merged per original)", () => {
  /** `POST /v2/objects/people/records/merge`, as a user's or an app's merge does. */
  async function mergeEndpoint(primary: string, secondary: string): Promise<string> {
    const response = await fetch(`${stack.attio.url}/v2/objects/people/records/merge`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.attio.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ data: { primary_record_id: primary, secondary_record_id: secondary } }),
    });
    const body = (await response.json()) as { data: { new_record_id: string } };
    expect(response.status).toBe(200);
    return body.data.new_record_id;
  }

  it("moves a linked original's pair to the new record; no Contact is created or deleted", async () => {
    const linkedEmail = "endpoint.linked@basalt.example";
    const linkedId = await createPerson(person("Rhea", "Stone", linkedEmail, { job_title: "Buyer" }));
    const contact = await eventually("Contact of the linked original", () => contactByEmail(linkedEmail));
    const db = await workerDb(stack);
    const pair = await eventually("pair stored", async () => pairOf(db, linkedId));
    await settle(stack);
    // The other original exists in Attio only.
    const held = await holdDeliveries(stack);
    const otherId = await createPerson(person("Rhea", "Stone", "rhea@basalt.example", { job_title: "Head of Buying" }));
    await idle(stack);
    await held.discard();
    const contactsBefore = (await salesforceRecords(stack, "Contact")).length;

    const newId = await mergeEndpoint(otherId, linkedId);

    const moved = await eventually("pair moved to the new record", async () => {
      const found = pairOf(db, newId);
      return found?.id === pair.id ? found : undefined;
    });
    expect(moved.sf_record_id).toBe(contact.Id);
    expect(pairOf(db, linkedId)).toBeUndefined();
    // The new record holds the primary's title, which reaches the Contact.
    await eventually("Contact has the merged title", async () =>
      (await salesforceRecords(stack, "Contact")).find((c) => c.Id === contact.Id)?.["Title"] === "Head of Buying"
        ? true
        : undefined,
    );
    await idle(stack);
    expect(await salesforceRecords(stack, "Contact")).toHaveLength(contactsBefore);
    expect(rows(db, "select * from pending_deletes where mapping_id = ?", pair.id)).toEqual([]);
  });

  it("with both originals linked, one pair moves to the new record and the other is held for a person", async () => {
    const aEmail = "endpoint.both.a@schist.example";
    const bEmail = "endpoint.both.b@schist.example";
    const aId = await createPerson(person("Tove", "Lind", aEmail));
    await eventually("Contact A", () => contactByEmail(aEmail));
    const bId = await createPerson(person("Tove", "Lind", bEmail));
    await eventually("Contact B", () => contactByEmail(bEmail));
    await idle(stack);
    const db = await workerDb(stack);
    const pairA = await eventually("pair A", async () => pairOf(db, aId));
    const pairB = await eventually("pair B", async () => pairOf(db, bId));
    await settle(stack);
    const contactsBefore = (await salesforceRecords(stack, "Contact")).length;

    const newId = await mergeEndpoint(aId, bId);

    const moved = await eventually("one pair on the new record", async () => pairOf(db, newId));
    const other = moved.id === pairA.id ? pairB : pairA;
    expect([pairA.id, pairB.id]).toContain(moved.id);
    const pending = await eventually("the other pair held", async () =>
      rows<{ deleted_on: string; status: string }>(
        db,
        "select deleted_on, status from pending_deletes where mapping_id = ?",
        other.id,
      ).at(0),
    );
    expect(pending).toEqual({ deleted_on: "attio", status: "pending" });
    await idle(stack);
    // Nothing deleted or created in Salesforce: a person decides about the second Contact.
    expect(await salesforceRecords(stack, "Contact")).toHaveLength(contactsBefore);
  });
});

describe("deletes with delete_policy = propagate", () => {
  beforeAll(async () => {
    // Only people are needed here: deals are switched off to keep the run short.
    const toml = ["[mappings.people]", 'delete_policy = "propagate"', "[mappings.deals]", "enabled = false"].join("\n");
    const response = await fetch(`${stack.workerUrl}/api/v1/config`, {
      method: "PUT",
      headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ toml }),
    });
    expect(response.status, await response.text()).toBe(200);
  });

  it("a person deleted in Attio deletes its Contact and the pair", async () => {
    const email = "propagate.attio@ferrous.example";
    const recordId = await createPerson(person("Jonas", "Beck", email));
    const contact = await eventually("Contact", () => contactByEmail(email));
    const db = await workerDb(stack);
    await eventually("pair stored", async () => pairOf(db, recordId));

    await control(stack.attio.url, "delete", { object: "people", record_id: recordId });

    await eventually("Contact deleted", async () => ((await contactByEmail(email)) ? undefined : true));
    const all = await state<{ records: { Contact: SfRecord[] } }>(stack.salesforce.url);
    expect(all.records.Contact.find((c) => c.Id === contact.Id)?.["IsDeleted"]).toBe(true);
    await eventually("pair removed", async () => (pairOf(db, recordId) ? undefined : true));
    expect(
      rows(
        db,
        "select * from pending_deletes p join id_mappings m on m.id = p.mapping_id where m.attio_record_id = ?",
        recordId,
      ),
    ).toEqual([]);
  });

  it("a Contact deleted in Salesforce deletes its Attio person", async () => {
    const email = "propagate.sf@ferrous.example";
    const contactId = await createInSalesforce("Contact", { LastName: "Moreau", Email: email });
    const created = await eventually("person in Attio", () => personByEmail(email));
    const db = await workerDb(stack);
    await eventually("pair stored", async () => pairOf(db, created.id.record_id));

    await control(stack.salesforce.url, "delete", { id: contactId });

    await eventually("person deleted", async () => ((await personByEmail(email)) ? undefined : true));
    await eventually("pair removed", async () => (pairOf(db, created.id.record_id) ? undefined : true));
  });

  it("a Salesforce merge of two linked Contacts is not propagated as a delete: the loser's pair is held for a human", async () => {
    const aEmail = "sf.merge.a@quarry.example";
    const bEmail = "sf.merge.b@quarry.example";
    const aId = await createPerson(person("Tomas", "Lind", aEmail));
    const bId = await createPerson(person("Tomas", "Lind", bEmail));
    const contactA = await eventually("Contact A", () => contactByEmail(aEmail));
    const contactB = await eventually("Contact B", () => contactByEmail(bEmail));
    await idle(stack);
    const db = await workerDb(stack);
    const pairB = await eventually("pair B", async () => pairOf(db, bId));

    await control(stack.salesforce.url, "merge", {
      object: "Contact",
      master_id: contactA.Id,
      loser_ids: [contactB.Id],
    });

    const pending = await eventually("the loser's pair held", async () =>
      rows<{ deleted_on: string }>(db, "select deleted_on from pending_deletes where mapping_id = ?", pairB.id).at(0),
    );
    expect(pending.deleted_on).toBe("salesforce");
    await idle(stack);
    // Neither Attio person is deleted or changed by the merge.
    expect((await personByEmail(aEmail))?.id.record_id).toBe(aId);
    expect((await personByEmail(bEmail))?.id.record_id).toBe(bId);
  });
});
