import type { MatchKey } from "../mapping/types.ts";

/**
 * The stored Salesforce values a normalised match key can hide behind, for an exact `IN (...)`
 * query. Pure.
 *
 * SOQL compares strings case-insensitively but cannot normalise: an Account whose Website is
 * `https://www.acme.example/` never equals the domain `acme.example`. A domain is therefore looked
 * up in the forms people type into Website (bare, `www.`, http/https, with or without a trailing
 * slash); the candidates found are then compared by their normalised key like any other.
 *
 * @example matchQueryValues("email", "ada@acme.example") // ["ada@acme.example"]
 */
export function matchQueryValues(normalize: MatchKey["normalize"], value: string): string[] {
  if (normalize !== "domain") return [value];
  const hosts = value.startsWith("www.") ? [value] : [value, `www.${value}`];
  const out: string[] = [];
  for (const host of hosts) {
    for (const prefix of ["", "http://", "https://"]) out.push(`${prefix}${host}`, `${prefix}${host}/`);
  }
  return out;
}
