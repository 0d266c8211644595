import { createHmac } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AttioEmulator, startAttioEmulator } from "../../../scripts/sandbox/attio/server.ts";
import {
  compareSkeletons,
  mergeSkeletons,
  type Skeleton,
  skeletonOf,
} from "../../../scripts/sandbox/shared/skeleton.ts";
import { json, referenceSkeleton, startReceiver, waitFor } from "./helpers.ts";

let attio: AttioEmulator;

function withNullableActorIds(skeleton: Skeleton): Skeleton {
  const out: Skeleton = {};
  for (const [path, types] of Object.entries(skeleton)) {
    const actorId = path.endsWith("created_by_actor.id") || path.endsWith("referenced_actor_id");
    out[path] = actorId ? [...new Set([...types, "null", "string"])].sort() : types;
  }
  return out;
}
const auth = () => ({ authorization: `Bearer ${attio.apiKey}`, "content-type": "application/json" });
const api = (path: string, method = "GET", body?: unknown) =>
  fetch(`${attio.url}/v2${path}`, {
    method,
    headers: auth(),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
const control = (path: string, body: unknown, method = "POST") =>
  fetch(`${attio.url}/__control/${path}`, { method, body: JSON.stringify(body) });

const location = {
  line_1: "12 Quay Street",
  line_2: null,
  line_3: null,
  line_4: null,
  locality: "Rotterdam",
  region: "South Holland",
  postcode: "3011",
  country_code: "NL",
  latitude: "51.9",
  longitude: "4.48",
};

beforeEach(async () => {
  attio = await startAttioEmulator({ seed: 42, retryBaseMs: 5, systemFollowUpMs: 30 });
});
afterEach(async () => {
  await attio.close();
});

describe("Attio emulator: structure matches recorded Attio payloads", () => {
  it("person records (create, assert, PATCH, system-linked company)", async () => {
    await api("/objects/companies/records", "POST", {
      data: { values: { domains: ["quayside.example"], name: "Quayside" } },
    });
    const created = await json(
      await api("/objects/people/records", "POST", {
        data: { values: { name: [{ first_name: "Noor", last_name: "Haddad", full_name: "Noor Haddad" }] } },
      }),
    );
    const asserted = await json(
      await api("/objects/people/records?matching_attribute=email_addresses", "PUT", {
        data: { values: { email_addresses: ["noor@quayside.example"] } },
      }),
    );
    const patched = await json(
      await api(`/objects/people/records/${created.data.id.record_id}`, "PATCH", {
        data: { values: { job_title: [{ value: "Harbour Master" }] } },
      }),
    );
    const actual = mergeSkeletons(skeletonOf(created.data), skeletonOf(asserted.data), skeletonOf(patched.data));
    expect(asserted.data.values.company[0].created_by_actor).toEqual({ type: "system", id: null });
    expect(compareSkeletons(actual, referenceSkeleton("attio-person-record"))).toEqual([]);
  });

  it("company records, including values Attio's enrichment fills", async () => {
    const company = await json(
      await api("/objects/companies/records", "POST", {
        data: {
          values: {
            domains: ["https://quayside.example/about"],
            name: "Quayside",
            description: "Port logistics",
            categories: ["Logistics", "B2B"],
            primary_location: location,
            angellist: "https://angel.example/quayside",
            facebook: "https://facebook.example/quayside",
            linkedin: "https://linkedin.example/quayside",
            twitter: "https://x.example/quayside",
          },
        },
      }),
    );
    const id = company.data.id.record_id;
    expect(company.data.values.domains[0]).toMatchObject({
      domain: "quayside.example",
      root_domain: "quayside.example",
    });
    await control("edit", {
      object: "companies",
      record_id: id,
      as_system: true,
      values: {
        logo_url: "https://logo.example/q.png",
        twitter_follower_count: 1200,
        estimated_arr_usd: "$1M-$10M",
        foundation_date: "2011-04-01",
        employee_range: "51-250",
      },
    });
    const read = await json(await api(`/objects/companies/records/${id}`));
    // The recorded company was written by Attio itself (actor id null); ours by an API token (a uuid).
    // The spec types both ids as nullable strings, so the reference is widened to allow either.
    expect(
      compareSkeletons(skeletonOf(read.data), withNullableActorIds(referenceSkeleton("attio-company-record"))),
    ).toEqual([]);
  });

  it("deal records with status, owner, currency and references", async () => {
    const company = await json(
      await api("/objects/companies/records", "POST", { data: { values: { domains: ["quayside.example"] } } }),
    );
    const person = await json(
      await api("/objects/people/records", "POST", {
        data: { values: { email_addresses: ["ola@elsewhere.example"] } },
      }),
    );
    const members = await json(await api("/workspace_members"));
    const deal = await json(
      await api("/objects/deals/records", "POST", {
        data: {
          values: {
            name: "Crane retrofit",
            stage: "Won 🎉",
            owner: members.data[0].email_address,
            value: 500,
            associated_people: [{ target_object: "people", target_record_id: person.data.id.record_id }],
            associated_company: { target_object: "companies", domains: [{ domain: "quayside.example" }] },
          },
        },
      }),
    );
    expect(deal.data.values.value[0]).toMatchObject({ currency_code: "USD", currency_value: 500 });
    expect(company.data.id.record_id).toBe(deal.data.values.associated_company[0].target_record_id);
    expect(compareSkeletons(skeletonOf(deal.data), referenceSkeleton("attio-deal-record"))).toEqual([]);
  });

  it("workspace members, webhook creation and 429 bodies", async () => {
    expect(
      compareSkeletons(
        skeletonOf(await json(await api("/workspace_members"))),
        referenceSkeleton("attio-workspace-members"),
      ),
    ).toEqual([]);
    const hook = await json(
      await api("/webhooks", "POST", {
        data: {
          target_url: "https://example.com/webhook",
          subscriptions: [{ event_type: "note.created", filter: null }],
        },
      }),
    );
    expect(hook.data.secret).toMatch(/^[0-9a-f]{64}$/);
    expect(compareSkeletons(skeletonOf(hook), referenceSkeleton("attio-webhook-create"))).toEqual([]);
    await control("config", { rate_limits: { read: 1, write: 1 } }, "PUT");
    await api("/self");
    const limited = await api("/self");
    expect(compareSkeletons(skeletonOf(await json(limited)), referenceSkeleton("attio-rate-limit-429"))).toEqual([]);
  });
});

describe("Attio emulator: behaviour", () => {
  it("rejects missing or wrong bearer tokens with Attio's auth error", async () => {
    const response = await fetch(`${attio.url}/v2/self`, { headers: { authorization: "Bearer nope" } });
    expect(response.status).toBe(401);
    expect(await json(response)).toMatchObject({ status_code: 401, type: "auth_error", code: "unauthorized" });
  });

  it("answers 400 uniqueness_conflict when a create reuses a unique email", async () => {
    const values = { email_addresses: ["dup@quayside.example"] };
    expect((await api("/objects/people/records", "POST", { data: { values } })).status).toBe(200);
    const second = await api("/objects/people/records", "POST", {
      data: { values: { email_addresses: ["DUP@quayside.example"] } },
    });
    expect(second.status).toBe(400);
    expect(await json(second)).toMatchObject({
      status_code: 400,
      type: "invalid_request_error",
      code: "uniqueness_conflict",
    });
  });

  it("asserts by a unique attribute: updates the match, creates otherwise, refuses non-unique attributes", async () => {
    const first = await json(
      await api("/objects/people/records?matching_attribute=email_addresses", "PUT", {
        data: { values: { email_addresses: ["a@quayside.example"], job_title: "Pilot" } },
      }),
    );
    const again = await json(
      await api("/objects/people/records?matching_attribute=email_addresses", "PUT", {
        data: { values: { email_addresses: ["a@quayside.example", "a2@quayside.example"], job_title: "Captain" } },
      }),
    );
    expect(again.data.id.record_id).toBe(first.data.id.record_id);
    expect(again.data.values.job_title[0].value).toBe("Captain");
    expect(again.data.values.email_addresses.map((v: { email_address: string }) => v.email_address)).toEqual([
      "a@quayside.example",
      "a2@quayside.example",
    ]);
    const bad = await api("/objects/people/records?matching_attribute=job_title", "PUT", {
      data: { values: { job_title: "X" } },
    });
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe("The matching attribute specified is not a unique attribute");
  });

  it("PATCH appends multiselect values, PUT overwrites them", async () => {
    const created = await json(
      await api("/objects/companies/records", "POST", {
        data: { values: { domains: ["one.example"], categories: ["B2B"] } },
      }),
    );
    const id = created.data.id.record_id;
    const patched = await json(
      await api(`/objects/companies/records/${id}`, "PATCH", { data: { values: { categories: ["SAAS"] } } }),
    );
    expect(patched.data.values.categories.map((v: { option: { title: string } }) => v.option.title)).toEqual([
      "B2B",
      "SAAS",
    ]);
    const put = await json(
      await api(`/objects/companies/records/${id}`, "PUT", { data: { values: { categories: ["Retail"] } } }),
    );
    expect(put.data.values.categories.map((v: { option: { title: string } }) => v.option.title)).toEqual(["Retail"]);
    const unknown = await api(`/objects/companies/records/${id}`, "PATCH", {
      data: { values: { categories: ["Nope"] } },
    });
    expect((await json(unknown)).code).toBe("value_not_found");
  });

  it("queries by record_id $in and email equality, sorts, pages with limit/offset", async () => {
    const ids: string[] = [];
    for (const name of ["Cato", "Abel", "Bea"]) {
      const created = await json(
        await api("/objects/people/records", "POST", {
          data: { values: { name: `${name}, Test`, email_addresses: [`${name.toLowerCase()}@q.example`] } },
        }),
      );
      ids.push(created.data.id.record_id);
    }
    const byId = await json(
      await api("/objects/people/records/query", "POST", { filter: { record_id: { $in: [ids[0], ids[2]] } } }),
    );
    expect(byId.data).toHaveLength(2);
    const byEmail = await json(
      await api("/objects/people/records/query", "POST", { filter: { email_addresses: "ABEL@q.example" } }),
    );
    expect(byEmail.data.map((r: { id: { record_id: string } }) => r.id.record_id)).toEqual([ids[1]]);
    const idsOf = async (filter: unknown) =>
      (await json(await api("/objects/people/records/query", "POST", { filter }))).data
        .map((r: { id: { record_id: string } }) => r.id.record_id)
        .sort();
    // A batch's match lookup: a $or of equalities on one attribute (answered by one set lookup).
    expect(
      await idsOf({
        $or: [{ email_addresses: "CATO@q.example" }, { email_addresses: "bea@q.example" }, { email_addresses: "x@q" }],
      }),
    ).toEqual([ids[0], ids[2]].sort());
    // Mixed parts keep the general evaluation, with the same answers.
    expect(
      await idsOf({ $or: [{ email_addresses: "abel@q.example" }, { name: { last_name: { $eq: "Bea" } } }] }),
    ).toEqual([ids[1], ids[2]].sort());
    expect((await api("/objects/people/records/query", "POST", { filter: { $or: [{ nope: "x" }] } })).status).toBe(400);
    const sorted = await json(
      await api("/objects/people/records/query", "POST", {
        sorts: [{ direction: "asc", attribute: "name", field: "last_name" }],
        limit: 2,
        offset: 1,
      }),
    );
    expect(
      sorted.data.map((r: { values: { name: Array<{ last_name: string }> } }) => r.values.name[0]?.last_name),
    ).toEqual(["Bea", "Cato"]);
    // A scan's order is kept between pages, and any write shows in the next page asked for.
    const firstByLastName = async () =>
      (
        await json(
          await api("/objects/people/records/query", "POST", {
            sorts: [{ direction: "asc", attribute: "name", field: "last_name" }],
            limit: 1,
          }),
        )
      ).data.map((r: { values: { name: Array<{ last_name: string }> } }) => r.values.name[0]?.last_name);
    expect(await firstByLastName()).toEqual(["Abel"]);
    const aaron = await json(
      await api("/objects/people/records", "POST", { data: { values: { name: "Aaron, Test" } } }),
    );
    expect(await firstByLastName()).toEqual(["Aaron"]);
    await api(`/objects/people/records/${aaron.data.id.record_id}`, "PATCH", {
      data: { values: { name: "Zed, Test" } },
    });
    expect(await firstByLastName()).toEqual(["Abel"]);
    await api(`/objects/people/records/${ids[1]}`, "DELETE");
    expect(await firstByLastName()).toEqual(["Bea"]);
    expect((await api("/objects/people/records/query", "POST", { limit: 501 })).status).toBe(400);
  });

  it("answers 429 with an HTTP-date Retry-After past the write limit", async () => {
    await control("config", { rate_limits: { read: 100, write: 2 } }, "PUT");
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 3; i++) {
      const response = await api("/objects/companies/records", "POST", {
        data: { values: { domains: [`r${i}.example`] } },
      });
      statuses.push(response.status);
      if (response.status === 429) retryAfter = response.headers.get("retry-after");
    }
    expect(statuses).toEqual([200, 200, 429]);
    expect(retryAfter).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    expect(Date.parse(retryAfter ?? "")).toBeGreaterThan(Date.now() - 1000);
    expect((await json(await fetch(`${attio.url}/__control/stats`))).rateLimited).toBe(1);
  });

  it("delivers signed webhooks with ids and actor only, retries with a stable Idempotency-Key", async () => {
    const receiver = await startReceiver([500]);
    try {
      const hook = await json(
        await api("/webhooks", "POST", {
          data: {
            target_url: receiver.url,
            subscriptions: [
              { event_type: "record.created", filter: null },
              { event_type: "record.updated", filter: null },
            ],
          },
        }),
      );
      await api("/objects/companies/records", "POST", {
        data: { values: { domains: ["hook.example"], name: "Hook" } },
      });
      await waitFor(() => receiver.received.length >= 2);
      const [first, retry] = receiver.received;
      expect(first?.body).toBe(retry?.body);
      expect(first?.headers["idempotency-key"]).toBeTruthy();
      expect(retry?.headers["idempotency-key"]).toBe(first?.headers["idempotency-key"]);
      const expected = createHmac("sha256", hook.data.secret)
        .update(first?.body ?? "")
        .digest("hex");
      expect(first?.headers["attio-signature"]).toBe(expected);
      expect(first?.headers["x-attio-signature"]).toBe(expected);
      const delivery = JSON.parse(first?.body ?? "{}");
      expect(delivery.events[0]).toMatchObject({ event_type: "record.created", actor: { type: "api-token" } });
    } finally {
      await receiver.close();
    }
  });

  it("delivers record.created/updated/merged/deleted in the documented shapes", async () => {
    const receiver = await startReceiver();
    try {
      const events = ["record.created", "record.updated", "record.merged", "record.deleted"];
      await api("/webhooks", "POST", {
        data: { target_url: receiver.url, subscriptions: events.map((event_type) => ({ event_type, filter: null })) },
      });
      const one = await json(
        await api("/objects/companies/records", "POST", { data: { values: { domains: ["m1.example"] } } }),
      );
      const two = await json(
        await api("/objects/companies/records", "POST", { data: { values: { domains: ["m2.example"] } } }),
      );
      await api(`/objects/companies/records/${one.data.id.record_id}`, "PATCH", { data: { values: { name: "One" } } });
      await control("merge", {
        object: "companies",
        primary_record_id: one.data.id.record_id,
        duplicate_record_id: two.data.id.record_id,
      });
      await api(`/objects/companies/records/${one.data.id.record_id}`, "DELETE");
      await attio.idle();
      const deliveries = receiver.received.map((r) => JSON.parse(r.body));
      const seen = deliveries.flatMap((d) => d.events.map((e: { event_type: string }) => e.event_type));
      expect(new Set(seen)).toEqual(new Set(events));
      const actual = mergeSkeletons(...deliveries.map((d) => skeletonOf(d)));
      expect(compareSkeletons(actual, referenceSkeleton("attio-webhook-delivery-record"))).toEqual([]);
    } finally {
      await receiver.close();
    }
  });

  it("batches one write's events and follows a human edit with a system record.updated", async () => {
    const receiver = await startReceiver();
    try {
      await api("/webhooks", "POST", {
        data: { target_url: receiver.url, subscriptions: [{ event_type: "record.updated", filter: null }] },
      });
      const created = await json(
        await api("/objects/people/records", "POST", { data: { values: { job_title: "Cook" } } }),
      );
      await control("edit", {
        object: "people",
        record_id: created.data.id.record_id,
        values: { job_title: "Chef", description: "Galley" },
      });
      await waitFor(() => receiver.received.length >= 2);
      const [human, system] = receiver.received.map((r) => JSON.parse(r.body));
      expect(human.events).toHaveLength(2);
      expect(human.events[0].actor.type).toBe("workspace-member");
      expect(system.events[0].actor).toEqual({ type: "system", id: null });
      expect(system.events[0].id.record_id).toBe(created.data.id.record_id);
    } finally {
      await receiver.close();
    }
  });

  it("drops and duplicates deliveries as the seeded fault knobs say", async () => {
    const receiver = await startReceiver();
    try {
      await api("/webhooks", "POST", {
        data: { target_url: receiver.url, subscriptions: [{ event_type: "record.created", filter: null }] },
      });
      await control("faults", { duplicateRate: 1 }, "PUT");
      await api("/objects/companies/records", "POST", { data: { values: { domains: ["d1.example"] } } });
      await waitFor(() => receiver.received.length >= 2);
      expect(receiver.received[0]?.headers["idempotency-key"]).toBe(receiver.received[1]?.headers["idempotency-key"]);
      await control("faults", { dropRate: 1 }, "PUT");
      await api("/objects/companies/records", "POST", { data: { values: { domains: ["d2.example"] } } });
      await attio.idle();
      expect(receiver.received).toHaveLength(2);
    } finally {
      await receiver.close();
    }
  });

  it("loses answers to applied writes (5xx, reset, timeout), opens outage windows, and counts each fault by kind", async () => {
    await control("faults", { lostAnswerRate: 1, lostAnswerKind: "error" }, "PUT");
    const lost = await api("/objects/companies/records", "POST", { data: { values: { domains: ["lost1.example"] } } });
    expect(lost.status).toBe(500);
    await control("faults", { lostAnswerRate: 1, lostAnswerKind: "reset" }, "PUT");
    await expect(
      api("/objects/companies/records", "POST", { data: { values: { domains: ["lost2.example"] } } }),
    ).rejects.toThrow();
    await control("faults", { lostAnswerRate: 1, lostAnswerKind: "timeout", lostAnswerHangMs: 60_000 }, "PUT");
    await expect(
      fetch(`${attio.url}/v2/objects/companies/records`, {
        method: "POST",
        headers: auth(),
        body: JSON.stringify({ data: { values: { domains: ["lost3.example"] } } }),
        signal: AbortSignal.timeout(300),
      }),
    ).rejects.toThrow();
    // Reads are never "lost": only a write that was applied has an answer to lose.
    expect((await api("/objects/companies/records/query", "POST", {})).status).toBe(200);
    // Every write was applied although no answer said so.
    const domains = (await json(await fetch(`${attio.url}/__control/state`))).records.companies.map(
      (c: { values: { domains: { domain: string }[] } }) => c.values.domains[0]?.domain,
    );
    expect(domains).toEqual(expect.arrayContaining(["lost1.example", "lost2.example", "lost3.example"]));

    await control("faults", { outageMs: 60_000 }, "PUT");
    const down = await api("/objects/companies/records/query", "POST", {});
    expect(down.status).toBe(503);
    await control("faults", {}, "PUT");
    expect((await api("/objects/companies/records/query", "POST", {})).status).toBe(200);

    const stats = await json(await fetch(`${attio.url}/__control/stats`));
    expect(stats.faults).toMatchObject({ outage: 1, lostAnswer: { error: 1, reset: 1, timeout: 1 } });
    expect(stats).toMatchObject({ lostAnswers: 3, outageRefusals: 1 });
    // Attio has no daily allocation to exhaust: that knob is refused, naming it.
    const refused = await control("faults", { limitExhaustedMs: 1000 }, "PUT");
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await json(refused))).toContain("limitExhaustedMs");
    expect((await control("faults", { lostAnswerRate: 2 }, "PUT")).status).toBe(400);
  });

  it("seeds the sample dataset with stable ids for a seed, and deletes records", async () => {
    await control("seed", {});
    const state = await json(await fetch(`${attio.url}/__control/state`));
    expect(state.counts).toMatchObject({ companies: 5, people: 6, deals: 3 });
    const other = await startAttioEmulator({ seed: 42 });
    try {
      await fetch(`${other.url}/__control/seed`, { method: "POST", body: "{}" });
      const again = await json(await fetch(`${other.url}/__control/state`));
      expect(again.records.people.map((r: { id: unknown }) => r.id)).toEqual(
        state.records.people.map((r: { id: unknown }) => r.id),
      );
    } finally {
      await other.close();
    }
    const id = state.records.people[0].id.record_id;
    expect(await json(await api(`/objects/people/records/${id}`, "DELETE"))).toEqual({});
    expect((await api(`/objects/people/records/${id}`)).status).toBe(404);
  });

  it("seeds only the objects asked for, with unique domains and emails", async () => {
    expect(await json(await control("seed", { dataset: "generated", count: 300, objects: ["companies"] }))).toEqual({
      companies: 300,
      people: 0,
      deals: 0,
    });
    const companies = (await json(await fetch(`${attio.url}/__control/state`))).records.companies;
    const domains = companies.map((r: { values: { domains: { domain: string }[] } }) => r.values.domains[0]?.domain);
    expect(new Set(domains).size).toBe(300);
    await control("reset", {});
    expect(await json(await control("seed", { dataset: "generated", count: 300, objects: ["people"] }))).toEqual({
      companies: 0,
      people: 300,
      deals: 0,
    });
    const people = (await json(await fetch(`${attio.url}/__control/state`))).records.people;
    const emails = people.map(
      (r: { values: { email_addresses: { email_address: string }[] } }) => r.values.email_addresses[0]?.email_address,
    );
    expect(new Set(emails).size).toBe(300);
    expect(people.filter((r: { values: { company: unknown[] } }) => r.values.company.length > 0)).toEqual([]);
    expect((await control("seed", { dataset: "generated", count: 200_001 })).status).toBe(400);
    expect((await control("seed", { dataset: "generated", objects: ["accounts"] })).status).toBe(400);
  });
});
