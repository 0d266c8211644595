import { sameValue } from "./diff.ts";

/**
 * Finding what an earlier attempt of a create made, when nothing but the values written can tell
 * (no External ID, no unique attribute, no match key). Pure.
 */

/** A record of the target side that an earlier attempt may have created. */
export interface IntentCandidate {
  id: string;
  /** When the target side says it was created (ISO time). */
  createdAt: string;
  /** Its values, keyed by Salesforce field, in the form the intent's marker holds. */
  values: Readonly<Record<string, unknown>>;
}

/**
 * How long before the intent's time a record may say it was created and still be the intent's:
 * the difference between the target side's clock and ours.
 */
export const CLOCK_SKEW_MS = 60_000;

/**
 * The candidate an open intent created: created by us (the caller only passes such candidates)
 * no earlier than the intent (less the clock skew), not already paired (`taken`), and holding every
 * non-empty value the intent wrote. The earliest wins, so that intents with equal values each find
 * one record of their own (the caller adds each one found to `taken`). An intent that wrote no
 * value finds nothing: any record would match it.
 *
 * @example createdByIntent({ Name: "Acme" }, "2026-01-01T00:00:00Z", [{ id: "001A", createdAt: "2026-01-01T00:00:01Z", values: { Name: "Acme" } }], new Set()) // "001A"
 */
export function createdByIntent(
  marker: Readonly<Record<string, unknown>>,
  intentAt: string,
  candidates: readonly IntentCandidate[],
  taken: ReadonlySet<string>,
): string | undefined {
  const written = Object.entries(marker).filter(([, value]) => !isEmpty(value));
  if (written.length === 0) return undefined;
  const earliest = Date.parse(intentAt) - CLOCK_SKEW_MS;
  return [...candidates]
    .filter((c) => !taken.has(c.id) && Date.parse(c.createdAt) >= earliest)
    .filter((c) => written.every(([field, value]) => sameWritten(value, c.values[field])))
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt))[0]?.id;
}

function isEmpty(value: unknown): boolean {
  return value === null || value === undefined || value === "";
}

/**
 * A value as written and as read back, which a side may store in another form: numbers as their
 * text, times with another offset notation, text with other spacing, case or punctuation (a phone
 * number normalised, a URL's scheme dropped). Every written field must still be equal so.
 */
function sameWritten(written: unknown, read: unknown): boolean {
  if (sameValue(written, read)) return true;
  if (read === null || read === undefined) return false;
  if (typeof written === "number" || typeof read === "number") return Number(written) === Number(read);
  if (typeof written !== "string" || typeof read !== "string") return false;
  const [a, b] = [instant(written), instant(read)];
  if (a !== undefined && b !== undefined) return a === b;
  return looseText(written) === looseText(read);
}

/** An ISO date-time's instant (Salesforce writes offsets as +0000), or undefined for other text. */
function instant(text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(text)) return undefined;
  const time = Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, "$1:$2"));
  return Number.isNaN(time) ? undefined : time;
}

function looseText(text: string): string {
  return text
    .toLowerCase()
    .replace(/^https?:\/\//, "")
    .replace(/^www\./, "")
    .replace(/[^\p{L}\p{N}]/gu, "");
}
