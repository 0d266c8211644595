import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAttribute } from "../../../scripts/sandbox/attio/provision.ts";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import { json, startReceiver } from "./helpers.ts";

let attio: AttioEmulator;

const api = (path: string, method = "GET", body?: unknown) =>
  fetch(`${attio.url}/v2${path}`, {
    method,
    headers: { authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const control = (path: string, body: unknown, method = "POST") =>
  fetch(`${attio.url}/__control/${path}`, { method, body: JSON.stringify(body) });
const merge = (object: string, primary: string, secondary: string) =>
  api(`/objects/${object}/records/merge`, "POST", {
    data: { primary_record_id: primary, secondary_record_id: secondary },
  });
const idOf = (created: { data: { id: { record_id: string } } }) => created.data.id.record_id;

async function company(values: Record<string, unknown>): Promise<string> {
  return idOf(await json(await api("/objects/companies/records", "POST", { data: { values } })));
}

beforeEach(async () => {
  attio = await startAttioEmulator({ seed: 11, retryBaseMs: 5, systemFollowUpMs: 30 });
});
afterEach(async () => {
  await attio.close();
});

describe("Attio emulator: POST /v2/objects/{object}/records/merge", () => {
  it("makes a new record from both, primary first; the originals are gone; two record.merged events", async () => {
    const receiver = await startReceiver();
    try {
      await api("/webhooks", "POST", {
        data: {
          target_url: receiver.url,
          subscriptions: ["record.merged", "record.created", "record.deleted"].map((event_type) => ({
            event_type,
            filter: null,
          })),
        },
      });
      const primary = await company({
        name: "Quayside",
        domains: ["quayside.example"],
        categories: ["B2B", "Logistics"],
      });
      const secondary = await company({
        name: "Quayside Ltd",
        description: "Port logistics",
        domains: ["quayside.co.uk"],
        categories: ["Logistics", "SAAS"],
      });
      await attio.idle();
      receiver.received.length = 0;

      const response = await merge("companies", primary, secondary);
      expect(response.status).toBe(200);
      const body = await json(response);
      expect(Object.keys(body)).toEqual(["data"]);
      expect(Object.keys(body.data)).toEqual(["new_record_id"]);
      const merged = body.data.new_record_id as string;
      expect([primary, secondary]).not.toContain(merged);

      const read = (await json(await api(`/objects/companies/records/${merged}`))).data;
      expect(read.id.record_id).toBe(merged);
      expect(read.values.record_id[0].value).toBe(merged);
      // Single-value attributes: the primary's where it has one, else the secondary's.
      expect(read.values.name[0].value).toBe("Quayside");
      expect(read.values.description[0].value).toBe("Port logistics");
      // Multiselect attributes: both, the primary's first, each value once.
      expect(read.values.domains.map((v: { domain: string }) => v.domain)).toEqual([
        "quayside.example",
        "quayside.co.uk",
      ]);
      expect(read.values.categories.map((v: { option: { title: string } }) => v.option.title)).toEqual([
        "B2B",
        "Logistics",
        "SAAS",
      ]);

      for (const original of [primary, secondary]) {
        const get = await api(`/objects/companies/records/${original}`);
        expect(get.status).toBe(404);
        expect((await json(get)).code).toBe("not_found");
        const patch = await api(`/objects/companies/records/${original}`, "PATCH", {
          data: { values: { name: "X" } },
        });
        expect(patch.status).toBe(404);
        expect((await api(`/objects/companies/records/${original}`, "DELETE")).status).toBe(404);
      }
      const listed = await json(await api("/objects/companies/records/query", "POST", {}));
      expect(listed.data.map((r: { id: { record_id: string } }) => r.id.record_id)).toEqual([merged]);

      await attio.idle();
      const events = receiver.received.flatMap((r) => JSON.parse(r.body).events);
      // The docs mention no record.created for the merged record, and the originals are not deleted.
      expect(events).toHaveLength(2);
      const objectId = read.id.object_id;
      for (const [event, original] of [
        [events[0], primary],
        [events[1], secondary],
      ]) {
        expect(event).toEqual({
          event_type: "record.merged",
          id: { workspace_id: read.id.workspace_id, object_id: objectId, record_id: merged },
          duplicate_object_id: objectId,
          duplicate_record_id: original,
          actor: { type: "api-token", id: expect.any(String) },
        });
      }

      // Not idempotent: the same request again finds no originals.
      const again = await merge("companies", primary, secondary);
      expect(again.status).toBe(404);
      expect((await json(again)).code).toBe("not_found");
    } finally {
      await receiver.close();
    }
  });

  it("moves unique values to the new record: the originals no longer hold them", async () => {
    const a = idOf(
      await json(
        await api("/objects/people/records", "POST", {
          data: { values: { email_addresses: ["ola@quayside.example"], job_title: "Pilot" } },
        }),
      ),
    );
    const b = idOf(
      await json(
        await api("/objects/people/records", "POST", {
          data: { values: { email_addresses: ["ola.n@home.example", "ola@quayside.example.org"] } },
        }),
      ),
    );
    const merged = (await json(await merge("people", b, a))).data.new_record_id;
    const person = (await json(await api(`/objects/people/records/${merged}`))).data;
    expect(person.values.email_addresses.map((v: { email_address: string }) => v.email_address)).toEqual([
      "ola.n@home.example",
      "ola@quayside.example.org",
      "ola@quayside.example",
    ]);
    expect(person.values.job_title[0].value).toBe("Pilot");
    // Each email finds the merged record; none can be used for a new person.
    const found = await json(
      await api("/objects/people/records/query", "POST", { filter: { email_addresses: "ola@quayside.example" } }),
    );
    expect(found.data.map((r: { id: { record_id: string } }) => r.id.record_id)).toEqual([merged]);
    const clash = await api("/objects/people/records", "POST", {
      data: { values: { email_addresses: ["ola.n@home.example"] } },
    });
    expect((await json(clash)).code).toBe("uniqueness_conflict");
    const asserted = await json(
      await api("/objects/people/records?matching_attribute=email_addresses", "PUT", {
        data: { values: { email_addresses: ["ola@quayside.example"], job_title: "Harbour master" } },
      }),
    );
    expect(idOf(asserted)).toBe(merged);
  });

  it("points references at the new record and keeps two-way relationships consistent", async () => {
    const north = await company({ domains: ["north.example"] });
    const south = await company({ domains: ["south.example"] });
    const person = (domain: string, companyId: string) =>
      api("/objects/people/records", "POST", {
        data: {
          values: {
            email_addresses: [`x@${domain}`],
            company: { target_object: "companies", target_record_id: companyId },
          },
        },
      });
    const p1 = idOf(await json(await person("one.example", north)));
    const p2 = idOf(await json(await person("two.example", south)));
    const members = (await json(await api("/workspace_members"))).data;
    const deal = idOf(
      await json(
        await api("/objects/deals/records", "POST", {
          data: {
            values: {
              name: "Crane",
              stage: "Lead",
              owner: members[0].email_address,
              associated_company: { target_object: "companies", target_record_id: south },
            },
          },
        }),
      ),
    );
    const merged = (await json(await merge("companies", north, south))).data.new_record_id;
    const team = (await json(await api(`/objects/companies/records/${merged}`))).data.values.team;
    expect(team.map((v: { target_record_id: string }) => v.target_record_id).sort()).toEqual([p1, p2].sort());
    for (const id of [p1, p2]) {
      const read = (await json(await api(`/objects/people/records/${id}`))).data;
      expect(read.values.company.map((v: { target_record_id: string }) => v.target_record_id)).toEqual([merged]);
    }
    const dealRead = (await json(await api(`/objects/deals/records/${deal}`))).data;
    expect(dealRead.values.associated_company[0].target_record_id).toBe(merged);

    // Merging the two people: one company each before, the primary's afterwards; the other
    // company's team no longer lists anyone.
    const other = await company({ domains: ["other.example"] });
    await api(`/objects/people/records/${p2}`, "PATCH", {
      data: { values: { company: { target_object: "companies", target_record_id: other } } },
    });
    const person3 = (await json(await merge("people", p1, p2))).data.new_record_id;
    const read3 = (await json(await api(`/objects/people/records/${person3}`))).data;
    expect(read3.values.company.map((v: { target_record_id: string }) => v.target_record_id)).toEqual([merged]);
    const otherTeam = (await json(await api(`/objects/companies/records/${other}`))).data.values.team;
    expect(otherTeam).toEqual([]);
    const mergedTeam = (await json(await api(`/objects/companies/records/${merged}`))).data.values.team;
    expect(mergedTeam.map((v: { target_record_id: string }) => v.target_record_id)).toEqual([person3]);
  });

  it("answers the spec's errors: self_merge, unknown records, bad bodies", async () => {
    const one = await company({ domains: ["one.example"] });
    const self = await merge("companies", one, one);
    expect(self.status).toBe(400);
    expect(await json(self)).toMatchObject({ status_code: 400, type: "invalid_request_error", code: "self_merge" });
    const missing = await merge("companies", one, "00000000-0000-4000-8000-000000000000");
    expect(missing.status).toBe(404);
    expect((await json(missing)).code).toBe("not_found");
    const badBody = await api("/objects/companies/records/merge", "POST", { data: { primary_record_id: one } });
    expect(badBody.status).toBe(400);
    expect((await json(badBody)).validation_errors[0].path).toEqual(["data", "secondary_record_id"]);
    // Records of another object are not found in this one.
    const person = idOf(
      await json(await api("/objects/people/records", "POST", { data: { values: { job_title: "Cook" } } })),
    );
    expect((await merge("companies", one, person)).status).toBe(404);
    expect((await api("/objects/ships/records/merge", "POST", {})).status).toBe(404);
  });

  it("is limited to 5 requests per second on its own", async () => {
    // Room under the general write limit, so that only the merge endpoint's own limit applies.
    await control("config", { rate_limits: { read: 100, write: 1000 } }, "PUT");
    const ids: string[] = [];
    for (let i = 0; i < 14; i++) ids.push(await company({ domains: [`m${i}.example`] }));
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) {
      statuses.push((await merge("companies", ids[2 * i] ?? "", ids[2 * i + 1] ?? "")).status);
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses[5]).toBe(429);
    expect((await json(await fetch(`${attio.url}/__control/stats`))).overLimit.write).toBeGreaterThan(0);
    // A refused merge is not processed: the records are still there.
    expect((await api(`/objects/companies/records/${ids[10]}`)).status).toBe(200);
  });

  it("can answer 202, the merged record reading as merge_in_progress until it is done", async () => {
    await control("config", { merge_pending_ms: 1000 }, "PUT");
    const a = await company({ domains: ["a.example"] });
    const b = await company({ domains: ["b.example"] });
    const response = await merge("companies", a, b);
    expect(response.status).toBe(202);
    const merged = (await json(response)).data.new_record_id;
    const early = await api(`/objects/companies/records/${merged}`);
    expect(early.status).toBe(404);
    expect((await json(early)).code).toBe("merge_in_progress");
    const write = await api(`/objects/companies/records/${merged}`, "PATCH", { data: { values: { name: "AB" } } });
    expect(write.status).toBe(400);
    expect((await json(write)).code).toBe("merge_in_progress");
    let status = 404;
    for (let tries = 0; status === 404 && tries < 60; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      status = (await api(`/objects/companies/records/${merged}`)).status;
    }
    expect(status).toBe(200);
  });

  it("merges records of custom objects, multiselect values united", async () => {
    await api("/objects", "POST", { data: { api_slug: "vessels", singular_noun: "Vessel", plural_noun: "Vessels" } });
    await createAttribute(attio.url, attio.apiKey, "vessels", {
      title: "Ports",
      api_slug: "ports",
      type: "record-reference",
      is_multiselect: true,
      config: { record_reference: { allowed_objects: ["companies"] } },
    });
    const port1 = await company({ domains: ["p1.example"] });
    const port2 = await company({ domains: ["p2.example"] });
    const vessel = async (ports: string[]) =>
      idOf(
        await json(
          await api("/objects/vessels/records", "POST", {
            data: { values: { ports: ports.map((id) => ({ target_object: "companies", target_record_id: id })) } },
          }),
        ),
      );
    const merged = (await json(await merge("vessels", await vessel([port1]), await vessel([port2, port1])))).data
      .new_record_id;
    const read = (await json(await api(`/objects/vessels/records/${merged}`))).data;
    expect(read.values.ports.map((v: { target_record_id: string }) => v.target_record_id)).toEqual([port1, port2]);
  });

  it("keeps the older control merge: the primary survives, the duplicate is deleted, one event", async () => {
    const primary = await company({ domains: ["keep.example"] });
    const duplicate = await company({ domains: ["drop.example"], name: "Drop" });
    const result = await json(
      await control("merge", { object: "companies", primary_record_id: primary, duplicate_record_id: duplicate }),
    );
    const merged = result.events.filter((e: { event_type: string }) => e.event_type === "record.merged");
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ id: { record_id: primary }, duplicate_record_id: duplicate });
    const read = (await json(await api(`/objects/companies/records/${primary}`))).data;
    expect(read.values.name[0].value).toBe("Drop");
    expect((await api(`/objects/companies/records/${duplicate}`)).status).toBe(404);
  });
});
