import type { Db } from "./db.ts";

/**
 * Counts over the audit trail and the failures for charts: grouped by the leading characters of
 * the stored ISO times (`YYYY-MM-DDTHH:MM` is a minute, `YYYY-MM-DDTHH` an hour), so one indexed
 * range scan per question, no per-row work in the Worker.
 */

/** Writes to a CRM: what the charts and the per-mapping counts call a write. */
const WRITES = "('create', 'update', 'delete', 'link')";

export type Bucket = "minute" | "hour";
const PREFIX: Record<Bucket, number> = { minute: 16, hour: 13 };

export interface WriteBucket {
  bucket: string;
  direction: "attio_to_sf" | "sf_to_attio";
  n: number;
}

/** Writes per bucket and direction since `since` (ISO time). */
export async function writesPerBucket(db: Db, since: string, bucket: Bucket): Promise<WriteBucket[]> {
  const { results } = await db.$client
    .prepare(
      `select substr(at, 1, ?1) as bucket, direction, count(*) as n from audit_log
        where at >= ?2 and operation in ${WRITES} group by bucket, direction order by bucket`,
    )
    .bind(PREFIX[bucket], since)
    .all<WriteBucket>();
  return results;
}

/** Failures first recorded per bucket since `since`, whatever their status now. */
export async function failuresPerBucket(
  db: Db,
  since: string,
  bucket: Bucket,
): Promise<{ bucket: string; n: number }[]> {
  const { results } = await db.$client
    .prepare(
      `select substr(first_failed_at, 1, ?1) as bucket, count(*) as n from failures
        where first_failed_at >= ?2 group by bucket order by bucket`,
    )
    .bind(PREFIX[bucket], since)
    .all<{ bucket: string; n: number }>();
  return results;
}

/** Writes per Attio object and direction since `since`. */
export async function writesPerObject(
  db: Db,
  since: string,
): Promise<{ object: string | null; direction: "attio_to_sf" | "sf_to_attio"; n: number }[]> {
  const { results } = await db.$client
    .prepare(
      `select attio_object as object, direction, count(*) as n from audit_log
        where at >= ?1 and operation in ${WRITES} group by attio_object, direction`,
    )
    .bind(since)
    .all<{ object: string | null; direction: "attio_to_sf" | "sf_to_attio"; n: number }>();
  return results;
}
