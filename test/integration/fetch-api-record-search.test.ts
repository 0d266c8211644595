import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { openDb } from "../../src/store/db.ts";
import { auditLog, idMappings, syncState } from "../../src/store/schema.ts";
import { ADMIN_TOKEN } from "../helpers/signing.ts";

/**
 * GET /api/v1/records?q= finds a record by an email, a domain or a name its linked pair last
 * synced (the base), or the audit trail holds for a record never linked; never another record that
 * merely has the same field, and never by a field's name.
 */

const db = openDb(env.DB);
// Ids of this file only: storage is shared with the other tests.
const RUN = crypto.randomUUID().slice(0, 8);

interface Found {
  attio_object: string | null;
  attio_record_id: string | null;
  sf_object: string | null;
  sf_record_id: string | null;
  linked: boolean;
  matched: "id" | "value";
  field: string | null;
}

async function search(q: string): Promise<Found[]> {
  const response = await exports.default.fetch(
    `https://worker.test/api/v1/records?q=${encodeURIComponent(q)}&limit=50`,
    { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } },
  );
  expect(response.status, q).toBe(200);
  return ((await response.json()) as { items: Found[] }).items;
}

/** A linked pair whose base holds `values`. */
async function pair(n: number, object: "companies" | "people", values: Record<string, unknown>) {
  const id = `search-${RUN}-${n}`;
  await db.insert(idMappings).values({
    id,
    attioObject: object,
    attioRecordId: `a-${RUN}-${n}`,
    sfObject: object === "people" ? "Contact" : "Account",
    sfRecordId: `003S${RUN}${n}`.slice(0, 18),
  });
  // A base as the engine stores it: each side's values by Salesforce field (here the same on both).
  await db
    .insert(syncState)
    .values({ mappingId: id, baseValues: { attio: values, salesforce: values }, baseHash: "h", lastDirection: "none" });
  return `a-${RUN}-${n}`;
}

describe("record search by value", () => {
  it("finds each record by its email, its domain and its name, and no other record", async () => {
    const ada = await pair(1, "people", {
      Email: `ada.${RUN}@northwind.example`,
      FirstName: "Ada",
      LastName: `Lovelace${RUN}`,
    });
    const grace = await pair(2, "people", {
      Email: `grace.${RUN}@contoso.example`,
      FirstName: "Grace",
      LastName: `Hopper${RUN}`,
      // A nested value (an address) is searched too.
      MailingAddress: { city: `Arlington${RUN}`, country: "US" },
    });
    const northwind = await pair(3, "companies", {
      Name: `Northwind ${RUN}`,
      Website: `https://northwind-${RUN}.example`,
    });
    const contoso = await pair(4, "companies", { Name: `Contoso ${RUN}`, Website: `contoso-${RUN}.example` });

    const ids = (found: Found[]) => found.map((f) => f.attio_record_id).filter((id) => id?.includes(RUN));
    // Email (any case), then part of it.
    expect(ids(await search(`ADA.${RUN}@northwind.example`))).toEqual([ada]);
    const byEmail = (await search(`grace.${RUN}@`)).find((f) => f.attio_record_id === grace);
    expect(byEmail).toMatchObject({ linked: true, matched: "value", field: "Email", sf_object: "Contact" });
    // Domain: the company's website, and nobody else's.
    expect(ids(await search(`northwind-${RUN}.example`))).toEqual([northwind]);
    expect((await search(`contoso-${RUN}`)).find((f) => f.attio_record_id === contoso)?.field).toBe("Website");
    // Name: a person's last name, a company's name.
    expect(ids(await search(`lovelace${RUN}`))).toEqual([ada]);
    expect(ids(await search(`Contoso ${RUN}`))).toEqual([contoso]);
    // Inside a nested value: the top-level field is named.
    expect((await search(`Arlington${RUN}`)).find((f) => f.attio_record_id === grace)?.field).toBe("MailingAddress");
    // A field's name is no value, nor is a side's: none of these records is found by its keys.
    expect(ids(await search("LastName"))).toEqual([]);
    expect(ids(await search("salesforce"))).toEqual([]);
    // LIKE's wildcards are literal.
    expect(ids(await search(`%${RUN}%`))).toEqual([]);
  });

  it("finds a record never linked by a value the audit trail holds, and a linked one only once", async () => {
    const linked = await pair(5, "people", { Email: `twice.${RUN}@northwind.example` });
    await db.insert(auditLog).values([
      {
        correlationId: `search-${RUN}`,
        direction: "sf_to_attio",
        operation: "failed",
        sfObject: "Contact",
        sfRecordId: `003U${RUN}`,
        changes: { Email: { before: null, after: `orphan.${RUN}@fabrikam.example` } },
        sourceEvent: {},
      },
      {
        correlationId: `search-${RUN}`,
        mappingId: `search-${RUN}-5`,
        direction: "attio_to_sf",
        operation: "update",
        attioObject: "people",
        attioRecordId: linked,
        sfObject: "Contact",
        sfRecordId: `003S${RUN}5`,
        changes: { Email: { before: `twice.${RUN}@northwind.example`, after: `twice.${RUN}@northwind.example` } },
        sourceEvent: {},
      },
    ]);
    const orphan = await search(`orphan.${RUN}@fabrikam`);
    expect(orphan).toEqual([
      expect.objectContaining({ sf_record_id: `003U${RUN}`, attio_record_id: null, linked: false, field: "Email" }),
    ]);
    const twice = (await search(`twice.${RUN}@`)).filter((f) => f.attio_record_id === linked);
    expect(twice).toHaveLength(1);
    // A domain shared by several records finds each of them.
    const shared = (await search(`${RUN}@northwind.example`)).map((f) => f.attio_record_id);
    expect(shared).toContain(linked);
  });

  it("answers 400 naming the field for a query too short", async () => {
    const response = await exports.default.fetch("https://worker.test/api/v1/records?q=a", {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain("q");
  });
});
