import type { Db } from "./db.ts";

/** A record the sync knows: its ids on each side where known, and what matched. */
export interface FoundRecord {
  attio_object: string | null;
  attio_record_id: string | null;
  sf_object: string | null;
  sf_record_id: string | null;
  linked: boolean;
  matched: "id" | "value";
  /** The field whose value matched (its key in the base or the audit trail: the Salesforce field), for `value`. */
  field: string | null;
  last_seen: string | null;
}

/**
 * Finds records by an id on either side (linked pairs, then the audit trail for records never
 * linked) or by a value: an email, a domain, a name. Values are searched in each linked pair's
 * base (each side's field values last synced, `{attio, salesforce}`, kept as long as the pair) and then in the
 * audit trail's field changes (records the sync wrote or read but never linked, and values a
 * record had before), kept AUDIT_RETENTION_DAYS. Only the values are compared, never the field
 * names, so "Email" does not find every record. Only records the sync has touched can be found:
 * the CRMs are not queried.
 */
export async function searchRecords(db: Db, query: string, limit: number): Promise<FoundRecord[]> {
  const byId = await db.$client
    .prepare(
      `select attio_object, attio_record_id, sf_object, sf_record_id, 1 as linked, 'id' as matched, null as field,
              updated_at as last_seen
         from id_mappings where attio_record_id = ?1 or sf_record_id = ?1
       union all
       select attio_object, attio_record_id, sf_object, sf_record_id, 0, 'id', null, max(at)
         from audit_log where (attio_record_id = ?1 or sf_record_id = ?1) and mapping_id is null
         group by attio_object, attio_record_id, sf_object, sf_record_id
       limit ?2`,
    )
    .bind(query, limit)
    .all<FoundRecord>();
  if (byId.results.length > 0) return byId.results.map(normalize);
  // LIKE's wildcards in the query are matched literally. The plain LIKE over the whole JSON is a
  // cheap first filter; json_tree then keeps rows where a value (a leaf: `atom`) matches.
  const pattern = `%${query.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const inBases = await db.$client
    .prepare(
      `select m.attio_object, m.attio_record_id, m.sf_object, m.sf_record_id, 1 as linked, 'value' as matched,
              ${matchingField("s.base_values", ["$.attio", "$.salesforce"])} as field,
              s.last_synced_at as last_seen
         from sync_state s join id_mappings m on m.id = s.mapping_id
        where s.base_values like ?1 escape '\\' and field is not null
        order by last_seen desc limit ?2`,
    )
    .bind(pattern, limit)
    .all<FoundRecord>();
  const found = inBases.results.map(normalize);
  if (found.length >= limit) return found;
  const inAudit = await db.$client
    .prepare(
      `select a.attio_object, a.attio_record_id, a.sf_object, a.sf_record_id,
              (m.id is not null) as linked, 'value' as matched,
              ${matchingField("a.changes", ["$"])} as field,
              max(a.at) as last_seen
         from audit_log a left join id_mappings m on m.attio_record_id = a.attio_record_id
        where a.changes like ?1 escape '\\' and (a.attio_record_id is not null or a.sf_record_id is not null)
          and field is not null
        group by a.attio_object, a.attio_record_id, a.sf_object, a.sf_record_id
        order by last_seen desc limit ?2`,
    )
    .bind(pattern, limit)
    .all<FoundRecord>();
  const seen = new Set(found.map(identity));
  for (const row of inAudit.results) {
    if (found.length >= limit) break;
    if (seen.has(identity(row))) continue;
    seen.add(identity(row));
    found.push(normalize(row));
  }
  return found;
}

/**
 * The field of the JSON column `json` whose value, or a value inside it (an address's part, a
 * change's before or after), is a string matching ?1; null when none does. The fields are the keys
 * of the objects at `roots` (a base: `$.attio` and `$.salesforce`, each side's values by field; a
 * change: `$`, the fields' before and after). Strings only (`atom` of a `text` leaf): keys are
 * never compared. A leaf belongs to the field whose full path prefixes its own (compared exactly:
 * LIKE would read `_` in a field name as a wildcard).
 */
function matchingField(json: string, roots: readonly string[]): string {
  const fields = roots.map((root) => `select key, fullkey from json_each(${json}, '${root}')`).join(" union all ");
  return `(select c.key from (${fields}) c, json_tree(${json}) t
            where t.type = 'text' and t.atom like ?1 escape '\\'
              and (t.fullkey = c.fullkey
                   or substr(t.fullkey, 1, length(c.fullkey) + 1) in (c.fullkey || '.', c.fullkey || '['))
            order by t.id limit 1)`;
}

/** The same record whichever table found it: by its Attio id, else its Salesforce Id. */
function identity(row: FoundRecord): string {
  return row.attio_record_id ? `attio:${row.attio_record_id}` : `salesforce:${row.sf_record_id}`;
}

function normalize(row: FoundRecord): FoundRecord {
  return { ...row, linked: Boolean(row.linked) };
}
