import { type AttioValues, firstString, firstValue } from "./attio-values.ts";

/** Salesforce requires Contact.LastName; a person with no usable name at all is written under this. */
export const LAST_NAME_FALLBACK = "[not provided]";

function clean(value: unknown): string | null {
  return typeof value === "string" && value.trim().length > 0 ? value.trim() : null;
}

/**
 * The LastName to write for a person. The last name when there is one; else the full name's last word
 * (when it is not just the first name again); else the email's local part; else LAST_NAME_FALLBACK.
 * Never empty, because Salesforce rejects a Contact without LastName (REQUIRED_FIELD_MISSING).
 */
export function lastNameWithFallback(values: AttioValues): { value: string; fallback: boolean } {
  const name = firstValue(values, "name");
  const last = clean(name?.["last_name"]);
  if (last) return { value: last, fallback: false };
  const first = clean(name?.["first_name"]);
  const fromFull = clean(name?.["full_name"])?.split(/\s+/).at(-1) ?? null;
  if (fromFull && fromFull !== first) return { value: fromFull, fallback: true };
  const email = firstString(values, "email_addresses", "email_address");
  const fromEmail = email ? clean(email.split("@")[0]) : null;
  return { value: fromEmail ?? LAST_NAME_FALLBACK, fallback: true };
}
