import type { Db } from "./db.ts";

/** A record the sync knows: its ids on each side where known, and what matched. */
export interface FoundRecord {
  attio_object: string | null;
  attio_record_id: string | null;
  sf_object: string | null;
  sf_record_id: string | null;
  linked: boolean;
  matched: "id" | "value";
  last_seen: string | null;
}

/**
 * Finds records by an id on either side (linked pairs, then the audit trail for records never
 * linked) or by a value the sync wrote or read (an email, a domain, a name), searched in the audit
 * trail's field changes. Only records the sync has touched can be found: the CRMs are not queried.
 * The value search scans the audit trail kept (AUDIT_RETENTION_DAYS), newest first, bounded by `limit`.
 */
export async function searchRecords(db: Db, query: string, limit: number): Promise<FoundRecord[]> {
  const byId = await db.$client
    .prepare(
      `select attio_object, attio_record_id, sf_object, sf_record_id, 1 as linked, 'id' as matched, updated_at as last_seen
         from id_mappings where attio_record_id = ?1 or sf_record_id = ?1
       union all
       select attio_object, attio_record_id, sf_object, sf_record_id, 0, 'id', max(at)
         from audit_log where (attio_record_id = ?1 or sf_record_id = ?1) and mapping_id is null
         group by attio_object, attio_record_id, sf_object, sf_record_id
       limit ?2`,
    )
    .bind(query, limit)
    .all<FoundRecord>();
  if (byId.results.length > 0) return byId.results.map(normalize);
  // LIKE's wildcards in the query are matched literally.
  const pattern = `%${query.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
  const byValue = await db.$client
    .prepare(
      `select a.attio_object, a.attio_record_id, a.sf_object, a.sf_record_id,
              (m.id is not null) as linked, 'value' as matched, max(a.at) as last_seen
         from audit_log a left join id_mappings m on m.attio_record_id = a.attio_record_id
        where a.changes like ?1 escape '\\' and (a.attio_record_id is not null or a.sf_record_id is not null)
        group by a.attio_object, a.attio_record_id, a.sf_object, a.sf_record_id
        order by last_seen desc limit ?2`,
    )
    .bind(pattern, limit)
    .all<FoundRecord>();
  return byValue.results.map(normalize);
}

function normalize(row: FoundRecord): FoundRecord {
  return { ...row, linked: Boolean(row.linked) };
}
