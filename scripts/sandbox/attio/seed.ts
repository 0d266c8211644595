import type { Dataset } from "../shared/dataset.ts";
import type { Actor, AttioStore, RecordEvent } from "./store.ts";

export interface SeedSummary {
  companies: number;
  people: number;
  deals: number;
  events: RecordEvent[];
}

/** Loads the Attio side of a dataset, written by the first workspace member as a person would. */
export function seedAttio(store: AttioStore, dataset: Dataset): SeedSummary {
  const member = store.members[0];
  const actor: Actor = member ? { type: "workspace-member", id: member.id } : store.apiActor;
  const companyIds = new Map<string, string>();
  const personIds = new Map<string, string>();
  const events: RecordEvent[] = [];
  const summary = { companies: 0, people: 0, deals: 0 };
  for (const company of dataset.companies) {
    if (!company.on.includes("attio")) continue;
    const result = store.create(
      "companies",
      {
        name: company.name,
        domains: [company.domain],
        description: company.description,
        categories: [company.category],
        primary_location: {
          line_1: null,
          line_2: null,
          line_3: null,
          line_4: null,
          locality: company.city,
          region: null,
          postcode: null,
          country_code: company.country,
          latitude: null,
          longitude: null,
        },
      },
      actor,
    );
    companyIds.set(company.key, result.record.id);
    events.push(...result.events);
    summary.companies++;
  }
  for (const person of dataset.people) {
    if (!person.on.includes("attio")) continue;
    const companyId = companyIds.get(person.company);
    const result = store.create(
      "people",
      {
        name: {
          first_name: person.first_name,
          last_name: person.last_name,
          full_name: `${person.first_name} ${person.last_name}`,
        },
        email_addresses: [person.email],
        job_title: person.job_title,
        phone_numbers: [person.phone],
        ...(companyId ? { company: { target_object: "companies", target_record_id: companyId } } : {}),
      },
      actor,
    );
    personIds.set(person.email, result.record.id);
    events.push(...result.events);
    summary.people++;
  }
  // A close date is not a standard deal attribute: written only where the workspace added one.
  const deals = store.object("deals");
  const closeDate = ["expected_close_date", "close_date"].find((slug) => store.attribute(deals, slug));
  for (const deal of dataset.deals) {
    if (!deal.on.includes("attio")) continue;
    const companyId = companyIds.get(deal.company);
    const personId = personIds.get(deal.contact);
    const owner = store.members.find((m) => m.email === deal.owner) ?? member;
    const result = store.create(
      "deals",
      {
        name: deal.name,
        stage: deal.attio_stage,
        owner: owner?.email ?? null,
        value: deal.amount,
        ...(closeDate ? { [closeDate]: deal.close_date } : {}),
        ...(companyId ? { associated_company: { target_object: "companies", target_record_id: companyId } } : {}),
        ...(personId ? { associated_people: [{ target_object: "people", target_record_id: personId }] } : {}),
      },
      actor,
    );
    events.push(...result.events);
    summary.deals++;
  }
  return { ...summary, events };
}
