/**
 * Attio's enriched `employee_range` and `estimated_arr_usd` are selects whose titles are ranges
 * ("11-50", "1K-5K", "$1M-$10M", "$10B+"). Salesforce wants a number.
 *
 * Decision: a range becomes its LOWER bound, and a number becomes the range with the largest lower
 * bound not above it. The lower bound never overstates, and range -> number -> range is exact, so a
 * round trip gives back the same option. Titles are parsed, not looked up, so a workspace's own range
 * options work as long as they follow the same notation.
 */

/** Clearbit-style options Attio uses for `employee_range`. */
export const EMPLOYEE_RANGES: readonly string[] = [
  "1-10",
  "11-50",
  "51-250",
  "251-1K",
  "1K-5K",
  "5K-10K",
  "10K-50K",
  "50K-100K",
  "100K+",
];

/** Clearbit-style options Attio uses for `estimated_arr_usd`. */
export const ARR_USD_RANGES: readonly string[] = [
  "$0-$1M",
  "$1M-$10M",
  "$10M-$50M",
  "$50M-$100M",
  "$100M-$250M",
  "$250M-$500M",
  "$500M-$1B",
  "$1B-$10B",
  "$10B+",
];

export interface ParsedRange {
  lower: number;
  /** null for open-ended ranges such as "100K+". */
  upper: number | null;
}

const SUFFIX: Record<string, number> = { "": 1, K: 1e3, M: 1e6, B: 1e9, T: 1e12 };
const AMOUNT = String.raw`\$?\s*(\d+(?:[.,]\d+)?)\s*([KMBT]?)`;
const BOUNDED = new RegExp(String.raw`^${AMOUNT}\s*[-–]\s*${AMOUNT}$`, "i");
const OPEN = new RegExp(String.raw`^${AMOUNT}\s*\+$`, "i");

function amount(digits: string, suffix: string): number {
  return Math.round(Number(digits.replace(",", ".")) * (SUFFIX[suffix.toUpperCase()] ?? 1));
}

// Workspaces have a handful of range titles: parse each once. Bounded in case of odd input.
const parsed = new Map<string, ParsedRange | null>();

/** "1K-5K" -> {lower: 1000, upper: 5000}; "$10B+" -> {lower: 1e10, upper: null}; anything else null. */
export function parseRange(title: string): ParsedRange | null {
  const cached = parsed.get(title);
  if (cached !== undefined) return cached;
  const result = parseUncached(title);
  if (parsed.size < 1000) parsed.set(title, result);
  return result;
}

function parseUncached(title: string): ParsedRange | null {
  const text = title.trim();
  const bounded = BOUNDED.exec(text);
  if (bounded) {
    const [, a = "", sa = "", b = "", sb = ""] = bounded;
    return { lower: amount(a, sa), upper: amount(b, sb) };
  }
  const open = OPEN.exec(text);
  if (open) {
    const [, a = "", sa = ""] = open;
    return { lower: amount(a, sa), upper: null };
  }
  return null;
}

/** The number a range title stands for (its lower bound), or null when the title is not a range. */
export function rangeToNumber(title: string): number | null {
  return parseRange(title)?.lower ?? null;
}

/**
 * The option whose range holds `value`: the one with the largest lower bound <= value. Below the
 * smallest lower bound (e.g. 0 employees) there is no honest answer, so null.
 */
export function numberToRange(value: number, options: readonly string[]): string | null {
  if (!Number.isFinite(value)) return null;
  let best: { title: string; lower: number } | null = null;
  for (const title of options) {
    const range = parseRange(title);
    if (range && range.lower <= value && (best === null || range.lower > best.lower))
      best = { title, lower: range.lower };
  }
  return best?.title ?? null;
}
