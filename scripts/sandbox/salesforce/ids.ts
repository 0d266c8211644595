const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/**
 * The 3-character case-safe suffix that turns a 15-character Salesforce id into 18 characters:
 * one character per block of 5, encoding which letters of the block are upper case.
 */
export function caseSafeSuffix(id15: string): string {
  let out = "";
  for (let block = 0; block < 3; block++) {
    let flags = 0;
    for (let i = 0; i < 5; i++) {
      const ch = id15.charAt(block * 5 + i);
      if (ch >= "A" && ch <= "Z") flags |= 1 << i;
    }
    out += SUFFIX.charAt(flags);
  }
  return out;
}

/** `prefix` (key prefix, e.g. 001) + pod "Sb" + a base62 counter: 15 characters, then the suffix. */
export function makeId(prefix: string, counter: number): string {
  let n = counter;
  let digits = "";
  for (let i = 0; i < 10; i++) {
    digits = BASE62.charAt(n % 62) + digits;
    n = Math.floor(n / 62);
  }
  const id15 = `${prefix}Sb${digits}`;
  return id15 + caseSafeSuffix(id15);
}

/** The 18-character form of a 15- or 18-character id, or null when `raw` is not an id. */
export function normalizeId(raw: string): string | null {
  if (/^[a-zA-Z0-9]{15}$/.test(raw)) return raw + caseSafeSuffix(raw);
  if (/^[a-zA-Z0-9]{18}$/.test(raw) && caseSafeSuffix(raw.slice(0, 15)) === raw.slice(15)) return raw;
  return null;
}
