import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSampleDataset } from "../../../scripts/sandbox/shared/dataset.ts";
import { type Stack, seedSample, startStack } from "../../../scripts/sandbox/stack.ts";
import {
  type AttioRecordJson,
  api,
  attioRecords,
  control,
  eventually,
  type SfRecord,
  salesforceRecords,
} from "./helpers.ts";

/**
 * The default configuration against a NEW Attio workspace and a NEW Salesforce org (no custom
 * attribute or field anywhere: deals have only name, stage, owner, value, associated_people and
 * associated_company), seeded with the sample dataset on both sides. Companies, people, deals and
 * owners must link, and then follow edits both ways, with nothing but the standard objects.
 */

let stack: Stack;
const dataset = loadSampleDataset();

interface Status {
  healthy: boolean;
  problems: { code: string; message: string }[];
  mapped_records: Record<string, number>;
  open_failures: number;
  open_warnings: number;
  mapping_issues: { mapping: string; code: string; effect: string; salesforce?: string }[];
}

interface Warning {
  field: string;
  code: string;
  direction: string;
  value: unknown;
  attio_record_id: string | null;
  sf_record_id: string | null;
}

const users = async () => salesforceRecords(stack, "User");
const userId = async (email: string) => (await users()).find((u) => u["Email"] === email)?.Id;
const members = async () =>
  (await (
    await fetch(`${stack.attio.url}/v2/workspace_members`, {
      headers: { authorization: `Bearer ${stack.attio.apiKey}` },
    })
  ).json()) as {
    data: { id: { workspace_member_id: string }; email_address: string }[];
  };
const memberId = async (email: string) =>
  (await members()).data.find((m) => m.email_address === email)?.id.workspace_member_id;
const dealNamed = async (name: string) =>
  (await attioRecords(stack, "deals")).find((d) => d.values["name"]?.[0]?.["value"] === name);
const opportunityNamed = async (name: string) =>
  (await salesforceRecords(stack, "Opportunity")).find((o) => o["Name"] === name);
const ownerOf = (deal: AttioRecordJson | undefined) => deal?.values["owner"]?.[0]?.["referenced_actor_id"];
const stageOf = (deal: AttioRecordJson | undefined) =>
  (deal?.values["stage"]?.[0]?.["status"] as { title?: string } | undefined)?.title;

beforeAll(async () => {
  stack = await startStack({ seed: 21 });
  await seedSample(stack);
  const targets = {
    "companies:Account": dataset.companies.length,
    "people:Contact": dataset.people.length,
    "deals:Opportunity": dataset.deals.length,
  };
  await eventually(
    "every sample company, person and deal linked",
    async () => {
      const status = await api<Status>(stack, "/status");
      return Object.entries(targets).every(([key, n]) => status.mapped_records[key] === n) ? status : undefined;
    },
    60_000,
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

describe("the default mappings on a new workspace and a new org", () => {
  it("run every mapping: deals are on, with CloseDate derived and the optional fields left out", async () => {
    const status = await api<Status>(stack, "/status");
    expect(status.healthy).toBe(true);
    expect(status.problems).toEqual([]);
    expect(status.open_failures).toBe(0);
    // Nothing switched off; only the attributes a new workspace lacks are reported, as warnings.
    expect(status.mapping_issues.filter((i) => i.effect === "mapping_off")).toEqual([]);
    expect(
      status.mapping_issues
        .filter((i) => i.code === "optional_attribute_missing")
        .map((i) => i.salesforce)
        .sort(),
    ).toEqual(["CloseDate", "LeadSource", "Probability"]);
    // Both sides hold exactly the linked records: nothing was duplicated.
    expect((await attioRecords(stack, "deals")).length).toBe(dataset.deals.length);
    expect((await salesforceRecords(stack, "Opportunity")).length).toBe(dataset.deals.length);
    expect((await salesforceRecords(stack, "Account")).length).toBe(dataset.companies.length);
    expect((await salesforceRecords(stack, "Contact")).length).toBe(dataset.people.length);
  });

  it("creates an Attio-only won deal in Salesforce as Closed Won with its amount, account and owner", async () => {
    const opportunity = await opportunityNamed("Bluefin annual licence");
    const account = (await salesforceRecords(stack, "Account")).find((a) => a["Name"] === "Bluefin Analytics");
    expect(opportunity).toMatchObject({ StageName: "Closed Won", Amount: 36000, AccountId: account?.Id });
    // No close date in a new workspace: the deal's creation day + 90 days.
    const deal = await dealNamed("Bluefin annual licence");
    const created = Date.parse(String(deal?.values["created_at"]?.[0]?.["value"]));
    expect(opportunity?.["CloseDate"]).toBe(new Date(created + 90 * 86_400_000).toISOString().slice(0, 10));
    // Chiara is a workspace member with no Salesforce user: Salesforce keeps its default owner
    // (the integration user), and the warning says why.
    const integration = (await users()).find((u) => u["Email"] === "integration@harborlight-sandbox.example");
    expect(opportunity?.["OwnerId"]).toBe(integration?.Id);
    const warnings = await api<{ items: Warning[] }>(
      stack,
      `/failures?severity=warning&record_id=${deal?.id.record_id}`,
    );
    expect(warnings.items).toEqual([
      expect.objectContaining({
        field: "OwnerId",
        code: "unmatched_user",
        direction: "attio_to_sf",
        value: "chiara@harborlight.example",
      }),
    ]);
  });

  it("creates a Salesforce-only Opportunity in Attio with its stage, value, company and owner", async () => {
    const deal = await dealNamed("Solaria storage controllers");
    const company = (await attioRecords(stack, "companies")).find(
      (c) => c.values["name"]?.[0]?.["value"] === "Solaria Grid Systems",
    );
    // Qualification comes back as "In Progress"; Rosa has no workspace member, so the first admin
    // (Ada) owns it, with a warning.
    expect(stageOf(deal)).toBe("In Progress");
    expect(deal?.values["value"]?.[0]?.["currency_value"]).toBe(250000);
    expect(deal?.values["associated_company"]?.[0]?.["target_record_id"]).toBe(company?.id.record_id);
    expect(ownerOf(deal)).toBe(await memberId("ada@harborlight.example"));
    const opportunity = await opportunityNamed("Solaria storage controllers");
    const warnings = await api<{ items: Warning[] }>(stack, `/failures?severity=warning&record_id=${opportunity?.Id}`);
    expect(warnings.items).toEqual([
      expect.objectContaining({
        field: "OwnerId",
        code: "default_owner_used",
        value: "rosa.delgado@harborlight.example",
      }),
    ]);
    // Salesforce keeps its own owner: the Attio default is never written back over it.
    expect(opportunity?.["OwnerId"]).toBe(await userId("rosa.delgado@harborlight.example"));
  });

  it("links the deals present on both sides, owners matched by email", async () => {
    const northwind = await opportunityNamed("Northwind pick-cell pilot");
    expect(northwind?.["OwnerId"]).toBe(await userId("ada@harborlight.example"));
    expect(ownerOf(await dealNamed("Northwind pick-cell pilot"))).toBe(await memberId("ada@harborlight.example"));
    const marigold = await opportunityNamed("Marigold district rollout");
    expect(marigold?.["OwnerId"]).toBe(await userId("bruno@harborlight.example"));
    expect(ownerOf(await dealNamed("Marigold district rollout"))).toBe(await memberId("bruno@harborlight.example"));
  });

  it("carries deal edits both ways: stage, value and owner", async () => {
    const opportunity = (await opportunityNamed("Northwind pick-cell pilot")) as SfRecord;
    await control(stack.salesforce.url, "edit", {
      object: "Opportunity",
      id: opportunity.Id,
      fields: { StageName: "Closed Won", Amount: 91000 },
    });
    const won = await eventually("the Attio deal won", async () => {
      const deal = await dealNamed("Northwind pick-cell pilot");
      return stageOf(deal) === "Won 🎉" && deal?.values["value"]?.[0]?.["currency_value"] === 91000 ? deal : undefined;
    });

    const bruno = await memberId("bruno@harborlight.example");
    await control(stack.attio.url, "edit", {
      object: "deals",
      record_id: won.id.record_id,
      values: { owner: "bruno@harborlight.example" },
    });
    const brunoUser = await userId("bruno@harborlight.example");
    await eventually("the Opportunity owned by Bruno", async () =>
      (await opportunityNamed("Northwind pick-cell pilot"))?.["OwnerId"] === brunoUser ? true : undefined,
    );
    expect(ownerOf(await dealNamed("Northwind pick-cell pilot"))).toBe(bruno);
  });

  it("carries company and person edits both ways", async () => {
    const account = (await salesforceRecords(stack, "Account")).find(
      (a) => a["Name"] === "Northwind Robotics",
    ) as SfRecord;
    await control(stack.salesforce.url, "edit", {
      object: "Account",
      id: account.Id,
      // Shipping has no category among the workspace's options: a warning; the description syncs.
      fields: { Description: "Picking robots, now with a service arm.", Industry: "Shipping" },
    });
    await eventually("the Attio company's description", async () =>
      (await attioRecords(stack, "companies")).find(
        (c) => c.values["description"]?.[0]?.["value"] === "Picking robots, now with a service arm.",
      ),
    );
    const warnings = await eventually("the Industry warning", async () => {
      const page = await api<{ items: Warning[] }>(stack, `/failures?severity=warning&record_id=${account.Id}`);
      return page.items.length > 0 ? page.items : undefined;
    });
    expect(warnings).toEqual([
      expect.objectContaining({
        field: "Industry",
        code: "unmapped_value",
        direction: "sf_to_attio",
        value: "Shipping",
      }),
    ]);
    const person = (await attioRecords(stack, "people")).find((p) =>
      p.values["email_addresses"]?.some((e) => e["email_address"] === "tomas.brandt@northwind-robotics.example"),
    ) as AttioRecordJson;
    await control(stack.attio.url, "edit", {
      object: "people",
      record_id: person.id.record_id,
      values: { job_title: "Chief Operating Officer" },
    });
    await eventually("the Contact's title", async () =>
      (await salesforceRecords(stack, "Contact")).find(
        (c) => c["Email"] === "tomas.brandt@northwind-robotics.example" && c["Title"] === "Chief Operating Officer",
      ),
    );
  });

  it("turns a new Opportunity into an Attio deal, and a new won Attio deal into a Closed Won Opportunity", async () => {
    const account = (await salesforceRecords(stack, "Account")).find(
      (a) => a["Name"] === "Marigold Learning",
    ) as SfRecord;
    await control(stack.salesforce.url, "edit", {
      object: "Opportunity",
      user: 1,
      fields: {
        Name: "Marigold summer pilot",
        StageName: "Prospecting",
        CloseDate: "2027-06-30",
        Amount: 4200,
        AccountId: account.Id,
        OwnerId: await userId("bruno@harborlight.example"),
      },
    });
    const company = (await attioRecords(stack, "companies")).find(
      (c) => c.values["name"]?.[0]?.["value"] === "Marigold Learning",
    );
    const deal = await eventually("the Attio deal", () => dealNamed("Marigold summer pilot"));
    expect(stageOf(deal)).toBe("Lead");
    expect(deal.values["value"]?.[0]?.["currency_value"]).toBe(4200);
    expect(deal.values["associated_company"]?.[0]?.["target_record_id"]).toBe(company?.id.record_id);
    expect(ownerOf(deal)).toBe(await memberId("bruno@harborlight.example"));

    await control(stack.attio.url, "edit", {
      object: "deals",
      member_email: "ada@harborlight.example",
      values: {
        name: "Bluefin renewal",
        stage: "Won 🎉",
        owner: "ada@harborlight.example",
        value: 48000,
        associated_company: {
          target_object: "companies",
          target_record_id: (await attioRecords(stack, "companies")).find(
            (c) => c.values["name"]?.[0]?.["value"] === "Bluefin Analytics",
          )?.id.record_id,
        },
      },
    });
    const bluefin = (await salesforceRecords(stack, "Account")).find((a) => a["Name"] === "Bluefin Analytics");
    const opportunity = await eventually("the Closed Won Opportunity", () => opportunityNamed("Bluefin renewal"));
    expect(opportunity).toMatchObject({
      StageName: "Closed Won",
      Amount: 48000,
      AccountId: bluefin?.Id,
      OwnerId: await userId("ada@harborlight.example"),
    });
    const status = await api<Status>(stack, "/status");
    expect(status.healthy).toBe(true);
    expect(status.open_failures).toBe(0);
  });
});
