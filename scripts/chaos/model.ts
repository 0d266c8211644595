/**
 * The chaos suite's model of the world: the records it created (entities, each a would-be pair),
 * every edit it made, and what both sides hold at the end. Pure: no I/O, so the invariants are
 * computed the same way by `npm run chaos` and by its test.
 */

export type Side = "attio" | "salesforce";
export type Kind = "person" | "company";
/** The fields the suite edits, by kind. `name` is edited only on companies with a domain. */
export type Field = "first" | "title" | "name" | "description";

export const FIELDS: Record<Kind, readonly Field[]> = {
  person: ["first", "title"],
  company: ["name", "description"],
};

/**
 * One record the suite created on one side, and its counterpart once the Worker made it. Its
 * identity never changes: the email of a person with one, the last name of a person without, the
 * domain of a company with one, the name of a company without (never edited).
 */
export interface Entity {
  identity: string;
  kind: Kind;
  keyed: boolean;
  origin: Side;
  /** Last name of a person (never edited); name of a company without a domain. */
  fixedName: string;
  email?: string;
  domain?: string;
  ids: Partial<Record<Side, string>>;
  deleted: boolean;
}

export interface Edit {
  seq: number;
  at: number;
  side: Side;
  identity: string;
  op: "create" | "update" | "delete";
  field?: Field;
  value?: string;
}

/** A record as read from one side, reduced to what the suite compares. */
export interface Seen {
  side: Side;
  id: string;
  kind: Kind;
  identity: string;
  values: Partial<Record<Field, string | null>>;
}

export interface Evaluation {
  /** Live entities whose record is missing on a side. */
  missing: string[];
  /** Records beyond the first per identity and side (must be 0). */
  duplicates: Record<Side, number>;
  duplicateExamples: string[];
  /** Deleted entities still present on a side. */
  undeleted: string[];
  /** Records on a side that belong to no entity of the run. */
  strangers: string[];
  /** Fields whose values differ between the two sides of a pair. */
  fieldsDiffer: string[];
  /** Fields whose last edit's value is not the final value on both sides. */
  lostUpdates: string[];
  /**
   * Fields edited on both sides less than CONCURRENT_MS apart whose sides agree on the earlier
   * edit's value: not lost, since Salesforce's LastModifiedDate has whole seconds and no order
   * can be known inside one (docs/SYNC_SEMANTICS.md); counted and printed apart.
   */
  concurrent: string[];
  /**
   * Updates whose loss follows from a Salesforce change event that never reached the Worker (every
   * delivery of it dropped): with no event, last_write orders by the record's LastModifiedDate,
   * which a later edit of another field moves (docs/SYNC_SEMANTICS.md). Counted and printed apart;
   * the relay redelivers until the Worker answers, so outside the chaos suite only an event lost
   * beyond Salesforce's 72-hour retention meets this.
   */
  eventNeverDelivered: string[];
}

/** Edits on both sides closer than this are concurrent for last_write (Salesforce's whole seconds). */
export const CONCURRENT_MS = 1_000;

/** A value as both sides store "nothing". */
export function norm(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value);
  return text === "" ? null : text;
}

/** `https://www.Acme.example/path` -> `acme.example`. */
export function domainOf(website: string | null | undefined): string | null {
  if (!website) return null;
  const host = website
    .trim()
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/[/?#].*$/, "")
    .replace(/^www\./i, "")
    .toLowerCase();
  return host === "" ? null : host;
}

export function personIdentity(email: string | null, lastName: string | null): string {
  return email ? `email:${email.toLowerCase()}` : `person:${lastName ?? ""}`;
}

export function companyIdentity(domain: string | null, name: string | null): string {
  return domain ? `domain:${domain}` : `company:${name ?? ""}`;
}

/** The last edit of every field of every entity: what both sides must end with. */
export function lastValues(edits: readonly Edit[]): Map<string, { value: string; seq: number; side: Side }> {
  const out = new Map<string, { value: string; seq: number; side: Side }>();
  for (const edit of edits) {
    if (edit.field === undefined || edit.value === undefined) continue;
    out.set(`${edit.identity}|${edit.field}`, { value: edit.value, seq: edit.seq, side: edit.side });
  }
  return out;
}

/**
 * Compares the final state of both sides with the run's entities and edits: records missing or
 * doubled, deletes not carried out, values that differ, and updates lost (the last edit of a field
 * whose value is not the final one on both sides).
 */
export function evaluate(
  entities: readonly Entity[],
  edits: readonly Edit[],
  seen: readonly Seen[],
  /** Values whose Salesforce change event was dropped on every delivery (none reached the Worker). */
  undelivered: ReadonlySet<string> = new Set(),
): Evaluation {
  const bySide = { attio: new Map<string, Seen[]>(), salesforce: new Map<string, Seen[]>() };
  for (const record of seen) {
    const list = bySide[record.side].get(record.identity) ?? [];
    list.push(record);
    bySide[record.side].set(record.identity, list);
  }
  const known = new Set(entities.map((entity) => entity.identity));
  const last = lastValues(edits);
  const result: Evaluation = {
    missing: [],
    duplicates: { attio: 0, salesforce: 0 },
    duplicateExamples: [],
    undeleted: [],
    strangers: [],
    fieldsDiffer: [],
    lostUpdates: [],
    concurrent: [],
    eventNeverDelivered: [],
  };
  for (const side of ["attio", "salesforce"] as const) {
    for (const [identity, records] of bySide[side]) {
      if (!known.has(identity)) result.strangers.push(`${side} ${identity} (${records.length})`);
      if (records.length > 1) {
        result.duplicates[side] += records.length - 1;
        result.duplicateExamples.push(`${side} ${identity} x${records.length}`);
      }
    }
  }
  for (const entity of entities) {
    const attio = bySide.attio.get(entity.identity) ?? [];
    const salesforce = bySide.salesforce.get(entity.identity) ?? [];
    if (entity.deleted) {
      const removal = edits.find((e) => e.identity === entity.identity && e.op === "delete");
      const how = removal ? ` (deleted in ${removal.side} by edit #${removal.seq})` : "";
      if (attio.length > 0) result.undeleted.push(`${entity.identity} still in attio${how}`);
      if (salesforce.length > 0) result.undeleted.push(`${entity.identity} still in salesforce${how}`);
      continue;
    }
    if (attio.length === 0) result.missing.push(`${entity.identity} missing in attio`);
    if (salesforce.length === 0) result.missing.push(`${entity.identity} missing in salesforce`);
    const [a] = attio;
    const [s] = salesforce;
    for (const field of FIELDS[entity.kind]) {
      if (field === "name" && !entity.keyed) continue;
      const av = a ? norm(a.values[field]) : undefined;
      const sv = s ? norm(s.values[field]) : undefined;
      if (a && s && av !== sv) {
        result.fieldsDiffer.push(`${entity.identity} ${field}: attio=${String(av)} salesforce=${String(sv)}`);
      }
      const expected = last.get(`${entity.identity}|${field}`);
      if (!expected) continue;
      const lostOn = [a && av !== expected.value ? "attio" : null, s && sv !== expected.value ? "salesforce" : null]
        .filter((x) => x !== null)
        .join("+");
      if (lostOn !== "") {
        // How close the other side's last edit of the field came before it: under last_write, edits
        // less than a second apart meet Salesforce's one-second timestamps (SYNC_SEMANTICS.md).
        const other = edits
          .filter(
            (e) =>
              e.identity === entity.identity && e.field === field && e.side !== expected.side && e.seq < expected.seq,
          )
          .at(-1);
        const at = edits.find((e) => e.seq === expected.seq)?.at ?? 0;
        const gap = other ? `; the other side's last edit #${other.seq} came ${at - other.at} ms before` : "";
        const agreeOnOther = other !== undefined && av === other.value && sv === other.value;
        const line = `${entity.identity} ${field}: last edit #${expected.seq} (${expected.side}) "${expected.value}" not final on ${lostOn} (attio=${String(av)} salesforce=${String(sv)}${gap})`;
        if (agreeOnOther && at - other.at < CONCURRENT_MS) result.concurrent.push(line);
        else if (agreeOnOther && other.side === "salesforce" && undelivered.has(String(other.value))) {
          result.eventNeverDelivered.push(line);
        } else result.lostUpdates.push(line);
      }
    }
  }
  return result;
}

/** mulberry32: the run's own seeded stream (the emulators' fault decisions have theirs). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
