import { readFileSync } from "node:fs";
import { z } from "zod";
import { deriveSeed, SeededRandom } from "./random.ts";

const Side = z.enum(["attio", "salesforce"]);

const CompanySchema = z.object({
  key: z.string(),
  name: z.string(),
  domain: z.string(),
  industry: z.string(),
  category: z.string(),
  employees: z.number().int(),
  city: z.string(),
  country: z.string().length(2),
  phone: z.string(),
  description: z.string(),
  on: z.array(Side),
});

const PersonSchema = z.object({
  first_name: z.string(),
  last_name: z.string(),
  email: z.string(),
  job_title: z.string(),
  phone: z.string(),
  company: z.string(),
  on: z.array(Side),
});

const DealSchema = z.object({
  name: z.string(),
  attio_stage: z.string(),
  salesforce_stage: z.string(),
  amount: z.number(),
  close_date: z.string(),
  company: z.string(),
  contact: z.string(),
  /** The owner's email: a workspace member in Attio, a User in Salesforce (the first one when absent). */
  owner: z.string().optional(),
  on: z.array(Side),
});

export const DatasetSchema = z.object({
  companies: z.array(CompanySchema),
  people: z.array(PersonSchema),
  deals: z.array(DealSchema),
});
export type Dataset = z.infer<typeof DatasetSchema>;
export type SampleCompany = z.infer<typeof CompanySchema>;
export type SamplePerson = z.infer<typeof PersonSchema>;
export type SampleDeal = z.infer<typeof DealSchema>;
export type SandboxSide = z.infer<typeof Side>;

const SAMPLE_PATH = new URL("../../../fixtures/sandbox/sample-dataset.json", import.meta.url);

/** The hand-written sample dataset in fixtures/sandbox (made-up companies, people and deals). */
export function loadSampleDataset(): Dataset {
  return DatasetSchema.parse(JSON.parse(readFileSync(SAMPLE_PATH, "utf8")));
}

const FIRST = [
  "Alva",
  "Bram",
  "Cleo",
  "Dario",
  "Elin",
  "Farah",
  "Goran",
  "Hana",
  "Ivo",
  "Jade",
  "Kofi",
  "Lena",
  "Milo",
  "Nia",
];
const LAST = [
  "Achebe",
  "Berg",
  "Costa",
  "Dahl",
  "Evans",
  "Fischer",
  "Garcia",
  "Horvat",
  "Ito",
  "Jensen",
  "Kowal",
  "Laine",
];
const WORDS = [
  "Amber",
  "Birch",
  "Cobalt",
  "Delta",
  "Ember",
  "Fjord",
  "Granite",
  "Harbor",
  "Iris",
  "Juniper",
  "Kestrel",
];
const SUFFIX = ["Labs", "Works", "Systems", "Partners", "Foods", "Logistics", "Health", "Studio"];
const INDUSTRIES: Array<[string, string]> = [
  ["Technology", "SAAS"],
  ["Manufacturing", "Manufacturing"],
  ["Finance", "Finance"],
  ["Healthcare", "Healthcare"],
  ["Retail", "Retail"],
  ["Energy", "Energy"],
];
const CITIES: Array<[string, string]> = [
  ["Utrecht", "NL"],
  ["Porto", "PT"],
  ["Leeds", "GB"],
  ["Lyon", "FR"],
  ["Denver", "US"],
  ["Malmo", "SE"],
];
const STAGES: Array<[string, string]> = [
  ["Lead", "Prospecting"],
  ["In Progress", "Negotiation/Review"],
  ["Won 🎉", "Closed Won"],
  ["Lost", "Closed Lost"],
];

/** The kinds of records a dataset holds; `POST /__control/seed` can load a subset of them. */
export const DATASET_KINDS = ["companies", "people", "deals"] as const;
export type DatasetKind = (typeof DATASET_KINDS)[number];

/**
 * What `POST /__control/seed` takes, the same on both emulators. `objects` loads only those kinds
 * (e.g. `["companies"]`); records of a kind left out are not created, and references to them are
 * left empty (a Contact seeded without companies has no AccountId).
 */
export const SeedRequestSchema = z.object({
  dataset: z.enum(["sample", "generated"]).default("sample"),
  count: z.number().int().min(1).max(200_000).default(10),
  seed: z.number().int().optional(),
  objects: z.array(z.enum(DATASET_KINDS)).min(1).optional(),
  /** Send webhooks / publish change events for the seeded records (off: seeding is the starting state). */
  notify: z.boolean().default(false),
});
export type SeedRequest = z.infer<typeof SeedRequestSchema>;

/** The dataset a seed request asks for, for one side. */
export function seedDataset(input: SeedRequest, emulatorSeed: number, side: SandboxSide): Dataset {
  const kinds = input.objects ?? DATASET_KINDS;
  if (input.dataset === "generated") return generateDataset(input.seed ?? emulatorSeed, input.count, [side], kinds);
  const sample = loadSampleDataset();
  return {
    companies: kinds.includes("companies") ? sample.companies : [],
    people: kinds.includes("people") ? sample.people : [],
    deals: kinds.includes("deals") ? sample.deals : [],
  };
}

/**
 * `count` companies, people and deals, the same for the same seed. Domains and emails carry their
 * index, so every company domain and every person email is unique (the sync never sees an
 * ambiguous match among generated records). `kinds` keeps only those lists; what is left out is
 * not generated unless a kept kind refers to it (people use companies' domains, deals both), and
 * a kept list is the same as in the full dataset of that seed.
 */
export function generateDataset(
  seed: number,
  count: number,
  on: SandboxSide[],
  kinds: readonly DatasetKind[] = DATASET_KINDS,
): Dataset {
  const want = new Set(kinds);
  const random = new SeededRandom(deriveSeed(seed, "dataset"));
  const companies: SampleCompany[] = [];
  const people: SamplePerson[] = [];
  const deals: SampleDeal[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${random.pick(WORDS)} ${random.pick(SUFFIX)} ${i + 1}`;
    const domain = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}.example`;
    const [industry, category] = random.pick(INDUSTRIES);
    const [city, country] = random.pick(CITIES);
    companies.push({
      key: `gen-${i}`,
      name,
      domain,
      industry,
      category,
      employees: 5 + random.int(2000),
      city,
      country,
      phone: `+1555${String(1_000_000 + i).slice(-7)}`,
      description: `Generated company ${i + 1}.`,
      on,
    });
  }
  const needPeople = want.has("people") || want.has("deals");
  for (let i = 0; needPeople && i < count; i++) {
    const first = random.pick(FIRST);
    const last = random.pick(LAST);
    const company = companies[random.int(companies.length)];
    if (!company) break;
    people.push({
      first_name: first,
      last_name: last,
      email: `${first}.${last}.${i}@${company.domain}`.toLowerCase(),
      job_title: random.pick(["Engineer", "Buyer", "Director", "Analyst", "CFO"]),
      phone: `+1555${String(2_000_000 + i).slice(-7)}`,
      company: company.key,
      on,
    });
  }
  for (let i = 0; want.has("deals") && i < count; i++) {
    const company = companies[random.int(companies.length)];
    const contact = people[random.int(people.length)];
    if (!company || !contact) break;
    const [attioStage, salesforceStage] = random.pick(STAGES);
    deals.push({
      name: `${company.name} deal ${i + 1}`,
      attio_stage: attioStage,
      salesforce_stage: salesforceStage,
      amount: 1000 * (1 + random.int(200)),
      close_date: `2026-${String(1 + random.int(12)).padStart(2, "0")}-15`,
      company: company.key,
      contact: contact.email,
      on,
    });
  }
  return {
    companies: want.has("companies") ? companies : [],
    people: want.has("people") ? people : [],
    deals,
  };
}
