import type { Dataset } from "../shared/dataset.ts";
import type { Change, SalesforceStore, WriteContext } from "./store.ts";

/** Loads the Salesforce side of a dataset, owned and written by the org's first sales user. */
export function seedSalesforce(store: SalesforceStore, dataset: Dataset, ctx: WriteContext): Change[] {
  const changes: Change[] = [];
  const accountIds = new Map<string, string>();
  const contactIds = new Map<string, string>();
  const owner = store.humanUserIds[0] ?? ctx.userId;
  for (const company of dataset.companies) {
    if (!company.on.includes("salesforce")) continue;
    const prepared = store.prepareCreate(
      "Account",
      {
        Name: company.name,
        Website: `https://${company.domain}`,
        Industry: company.industry,
        NumberOfEmployees: company.employees,
        Phone: company.phone,
        Description: company.description,
        BillingCity: company.city,
        BillingCountry: company.country,
        OwnerId: owner,
      },
      ctx,
    );
    changes.push(prepared.commit());
    accountIds.set(company.key, prepared.id);
  }
  for (const person of dataset.people) {
    if (!person.on.includes("salesforce")) continue;
    const accountId = accountIds.get(person.company);
    const prepared = store.prepareCreate(
      "Contact",
      {
        FirstName: person.first_name,
        LastName: person.last_name,
        Email: person.email,
        Title: person.job_title,
        Phone: person.phone,
        OwnerId: owner,
        ...(accountId ? { AccountId: accountId } : {}),
      },
      ctx,
    );
    changes.push(prepared.commit());
    contactIds.set(person.email, prepared.id);
  }
  for (const deal of dataset.deals) {
    if (!deal.on.includes("salesforce")) continue;
    const accountId = accountIds.get(deal.company);
    const contactId = contactIds.get(deal.contact);
    const prepared = store.prepareCreate(
      "Opportunity",
      {
        Name: deal.name,
        StageName: deal.salesforce_stage,
        CloseDate: deal.close_date,
        Amount: deal.amount,
        OwnerId: userByEmail(store, deal.owner) ?? owner,
        ...(accountId ? { AccountId: accountId } : {}),
        ...(contactId ? { ContactId: contactId } : {}),
      },
      ctx,
    );
    changes.push(prepared.commit());
  }
  return changes;
}

/** The active User with this email, if any. */
function userByEmail(store: SalesforceStore, email: string | undefined): string | undefined {
  if (!email) return undefined;
  return store
    .all("User")
    .find(
      (user) => String(user.fields["Email"]).toLowerCase() === email.toLowerCase() && user.fields["IsActive"] === true,
    )?.id;
}
