import type { IndustryEntry, StageEntry } from "./types.ts";

/**
 * The editable tables of the default mappings. Order matters: the first row that matches wins, in
 * both directions, so identity rows come first and aliases after them.
 */

/**
 * Attio deal statuses -> Salesforce StageName. Attio's default statuses first ("Lead", "In Progress",
 * "Won 🎉", "Lost"), then the spec's keys (open/in_progress/won/lost) and config.example's
 * (new/qualified/proposal/negotiation/won/lost). Keys are compared normalised (stageKey), so "won"
 * matches "Won 🎉". Salesforce -> Attio takes the first row for the StageName: "Closed Won" -> "Won 🎉".
 */
export const DEFAULT_STAGES: readonly StageEntry[] = [
  { attio: "Lead", salesforce: "Prospecting" },
  { attio: "In Progress", salesforce: "Qualification" },
  { attio: "Won 🎉", salesforce: "Closed Won" },
  { attio: "Lost", salesforce: "Closed Lost" },
  { attio: "open", salesforce: "Prospecting" },
  { attio: "in_progress", salesforce: "Qualification" },
  { attio: "won", salesforce: "Closed Won" },
  { attio: "lost", salesforce: "Closed Lost" },
  { attio: "new", salesforce: "Prospecting" },
  { attio: "qualified", salesforce: "Qualification" },
  { attio: "proposal", salesforce: "Proposal/Price Quote" },
  { attio: "negotiation", salesforce: "Negotiation/Review" },
  // The rest of a new org's open stages come back to Attio as "In Progress" (Salesforce -> Attio only:
  // "In Progress" itself goes to Qualification, the first row for it). A deal needs a stage in Attio.
  { attio: "In Progress", salesforce: "Needs Analysis" },
  { attio: "In Progress", salesforce: "Value Proposition" },
  { attio: "In Progress", salesforce: "Id. Decision Makers" },
  { attio: "In Progress", salesforce: "Perception Analysis" },
  { attio: "In Progress", salesforce: "Proposal/Price Quote" },
  { attio: "In Progress", salesforce: "Negotiation/Review" },
];

/** "Won 🎉" -> "won", "In Progress" -> "in_progress", "in-progress" -> "in_progress". */
export function stageKey(title: string): string {
  return title
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** Salesforce's standard Industry picklist (a new org's values). */
export const SALESFORCE_INDUSTRIES: readonly string[] = [
  "Agriculture",
  "Apparel",
  "Banking",
  "Biotechnology",
  "Chemicals",
  "Communications",
  "Construction",
  "Consulting",
  "Education",
  "Electronics",
  "Energy",
  "Engineering",
  "Entertainment",
  "Environmental",
  "Finance",
  "Food & Beverage",
  "Government",
  "Healthcare",
  "Hospitality",
  "Insurance",
  "Machinery",
  "Manufacturing",
  "Media",
  "Not For Profit",
  "Recreation",
  "Retail",
  "Shipping",
  "Technology",
  "Telecommunications",
  "Transportation",
  "Utilities",
  "Other",
];

/** Attio category titles (Attio's enrichment vocabulary) that are not Salesforce values themselves. */
const INDUSTRY_ALIASES: ReadonlyArray<readonly [string, string]> = [
  ["Information Technology & Services", "Technology"],
  ["SAAS", "Technology"],
  ["Software", "Technology"],
  ["Internet", "Technology"],
  ["Computer Hardware", "Electronics"],
  ["Semiconductors", "Electronics"],
  ["Financial Services", "Finance"],
  ["Fintech", "Finance"],
  ["Investment Management", "Finance"],
  ["Venture Capital & Private Equity", "Finance"],
  ["Health Care", "Healthcare"],
  ["Hospital & Health Care", "Healthcare"],
  ["Medical Devices", "Healthcare"],
  ["Pharmaceuticals", "Biotechnology"],
  ["E-commerce", "Retail"],
  ["Consumer Goods", "Retail"],
  ["Marketing & Advertising", "Media"],
  ["Publishing", "Media"],
  ["Broadcast Media", "Media"],
  ["Telecom", "Telecommunications"],
  ["Wireless", "Telecommunications"],
  ["Logistics & Supply Chain", "Transportation"],
  ["Logistics", "Transportation"],
  ["Airlines/Aviation", "Transportation"],
  ["Automotive", "Manufacturing"],
  ["Industrial Automation", "Machinery"],
  ["Oil & Energy", "Energy"],
  ["Renewables & Environment", "Environmental"],
  ["Non-Profit", "Not For Profit"],
  ["Nonprofit Organization Management", "Not For Profit"],
  ["Government Administration", "Government"],
  ["Higher Education", "Education"],
  ["E-Learning", "Education"],
  ["Management Consulting", "Consulting"],
  ["Professional Services", "Consulting"],
  ["Restaurants", "Food & Beverage"],
  ["Hospitality & Leisure", "Hospitality"],
  ["Leisure, Travel & Tourism", "Hospitality"],
  ["Entertainment & Leisure", "Entertainment"],
  ["Gaming", "Entertainment"],
  ["Sports", "Recreation"],
  ["Farming", "Agriculture"],
  ["Fashion", "Apparel"],
  ["Real Estate", "Construction"],
  ["Maritime", "Shipping"],
];

/** Identity rows first (Attio "Technology" <-> Salesforce "Technology"), then the aliases. */
export const DEFAULT_INDUSTRIES: readonly IndustryEntry[] = [
  ...SALESFORCE_INDUSTRIES.map((value) => ({ attio: value, salesforce: value })),
  ...INDUSTRY_ALIASES.map(([attio, salesforce]) => ({ attio, salesforce })),
];
