import { type AttioValues, firstString, firstValue } from "./attio-values.ts";

/** The Contact fields the People -> Contact slice writes. */
export interface ContactFields {
  FirstName: string | null;
  LastName: string;
  Email: string | null;
  Phone: string | null;
  Title: string | null;
}

/** Salesforce requires LastName; a person with no name at all is written under this placeholder. */
export const LAST_NAME_FALLBACK = "[not provided]";

/**
 * Maps an Attio person (its `values`) to Salesforce Contact fields: name first/last, primary email,
 * primary phone, job title. When the last name is empty, the full name's last word is used, then the
 * email's local part, then LAST_NAME_FALLBACK, so the required field is never empty.
 */
export function personToContact(values: AttioValues): ContactFields {
  const name = firstValue(values, "name");
  const first = str(name?.first_name);
  const last = str(name?.last_name);
  const full = str(name?.full_name);
  const email = firstString(values, "email_addresses", "email_address");
  const fromFull = full?.split(/\s+/).filter(Boolean).at(-1) ?? null;
  const fromEmail = email ? (email.split("@")[0] ?? null) : null;
  return {
    FirstName: first,
    LastName: last ?? (fromFull && fromFull !== first ? fromFull : null) ?? fromEmail ?? LAST_NAME_FALLBACK,
    Email: email,
    Phone: firstString(values, "phone_numbers", "phone_number") ?? firstString(values, "phone_numbers", "original_phone_number"),
    Title: firstString(values, "job_title", "value"),
  };
}

function str(value: unknown): string | null {
  return typeof value === "string" && value.trim().length > 0 ? value.trim() : null;
}
