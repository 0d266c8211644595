import type { Db } from "./db.ts";

/**
 * A person's data, found and removed for an erasure request (POST /api/v1/erase). Everything the
 * sync stores about a record is found by the record's id (and its pair's id); a person asked for
 * by email is first turned into the records whose stored values hold that email.
 *
 * SQL parameters, numbered so every statement reads the ones it needs: ?1 the record ids (JSON
 * array), ?2 the pair ids (JSON array), ?3 the email in lower case (null when erasing by id), ?4
 * the email as a LIKE pattern (null too).
 */

/** The records and pairs a request names. Ids are unique across objects, so ids alone find rows. */
export interface Subject {
  recordIds: string[];
  pairIds: string[];
}

/** What one erase removed, per table (rows; `job_errors`: entries of jobs' error samples). */
export interface EraseCounts {
  audit_log: number;
  failures: number;
  parked_changes: number;
  conflicts: number;
  pending_deletes: number;
  ambiguous_matches: number;
  mapping_warnings: number;
  issue_dismissals: number;
  sf_field_times: number;
  create_intents: number;
  job_records: number;
  job_match_keys: number;
  job_errors: number;
  deferred_refs: number;
  recent_updates: number;
  held_updates: number;
  sync_state: number;
  id_mappings: number;
}

const IDS = "(select value from json_each(?1))";
const PAIRS = "(select value from json_each(?2))";

/**
 * Whether a JSON column holds the email as a whole value, at any depth, compared without regard to
 * case. LIKE (case-insensitive for ASCII) rules rows out cheaply; json_tree then wants the exact
 * value, so `ann@x.example` does not match `joann@x.example`. Give the column with its table, as
 * for keyNames.
 */
const holds = (column: string) =>
  `(${column} like ?4 escape '\\' and exists (select 1 from json_tree(${column}) t
    where t.type = 'text' and lower(t.atom) = ?3))`;

/**
 * A message key naming one of the ids (`side:object:id1,id2`, see record-items.ts keyNames). Give
 * the column with its table: inside json_each, a bare `key` or `value` is json_each's own.
 */
const keyNames = (column: string) => `exists (select 1 from json_each(?1) j where ${column} like '%:' || j.value
  or ${column} like '%:' || j.value || ',%' or ${column} like '%,' || j.value or ${column} like '%,' || j.value || ',%')`;

/**
 * `(object, id) in` every object the table holds, crossed with the ids: the table's `(object, id)`
 * index is then searched, where `id in (...)` alone would read every row (the id is the index's
 * second column). The objects are found by a loose index scan: one seek per distinct object.
 */
const seek = (table: string, object: string, id: string) =>
  `(${object}, ${id}) in (select o.v, j.value from (with recursive o(v) as (
    select min(${object}) from ${table}
    union all select (select min(${object}) from ${table} where ${object} > o.v) from o where o.v is not null
  ) select v from o where v is not null) o, json_each(?1) j)`;

/** Rows found by value: a pair id, up to three record ids, a message key (any of them null). */
interface Found {
  pair: string | null;
  a: string | null;
  b: string | null;
  c: string | null;
  k: string | null;
}

/** Where an email can be stored as a value, and which ids each such row leads to. */
const BY_EMAIL = [
  `select m.id as pair, m.attio_record_id as a, m.sf_record_id as b, null as c, null as k
     from sync_state s join id_mappings m on m.id = s.mapping_id where ${holds("s.base_values")}`,
  `select mapping_id as pair, attio_record_id as a, sf_record_id as b, null as c, null as k
     from audit_log where ${holds("audit_log.changes")} or ${holds("audit_log.source_event")}`,
  `select null as pair, record_id as a, null as b, null as c, null as k from sf_field_times where ${holds("sf_field_times.value")}`,
  `select mapping_id as pair, null as a, null as b, null as c, null as k from conflicts
     where ${holds("conflicts.base_value")} or ${holds("conflicts.attio_value")} or ${holds("conflicts.sf_value")}`,
  `select null as pair, source_record_id as a, attio_record_id as b, sf_record_id as c, null as k
     from mapping_warnings where ${holds("mapping_warnings.value")}`,
  `select null as pair, source_record_id as a, null as b, null as c, null as k from create_intents
     where ${holds("create_intents.marker")}`,
  `select null as pair, record_id as a, null as b, null as c, null as k from job_records where ${holds("job_records.detail")}`,
  // Match keys are stored normalised (an email in lower case), as plain text.
  `select null as pair, sf_id as a, null as b, null as c, null as k from job_match_keys where lower(key) = ?3`,
  `select null as pair, null as a, null as b, null as c, record_key as k from failures
     where ${holds("failures.message")} or ${holds("failures.attempted")}`,
  `select null as pair, null as a, null as b, null as c, key as k from parked_changes where ${holds("parked_changes.message")}`,
];

/** The pairs and audited writes linking ids: a record's counterpart, a record a merge replaced. */
const LINKED = `select id as pair, attio_record_id as a, sf_record_id as b, null as c, null as k from id_mappings
    where ${seek("id_mappings", "attio_object", "attio_record_id")} or ${seek("id_mappings", "sf_object", "sf_record_id")}
      or id in ${PAIRS}
  union
  select mapping_id, attio_record_id, sf_record_id, null, null from audit_log
    where ${seek("audit_log", "attio_object", "attio_record_id")} or ${seek("audit_log", "sf_object", "sf_record_id")}`;

/** Rounds of following links: a pair, its counterpart's older pair after a merge, and so on. */
const LINK_ROUNDS = 4;

/**
 * The records (and pairs) a request names: the record asked for, or every record whose stored
 * values hold the email, then their counterparts through pairs and the audit trail. An email
 * nothing holds finds nothing; an id is always in its own list.
 */
export async function findSubject(db: Db, key: { email: string } | { recordId: string }): Promise<Subject> {
  const subject: Subject = { recordIds: [], pairIds: [] };
  if ("recordId" in key) add(subject, [{ pair: null, a: key.recordId, b: null, c: null, k: null }]);
  else {
    const params = emailParams(key.email);
    const results = await db.$client.batch<Found>(
      BY_EMAIL.map((query) => db.$client.prepare(query).bind(...paramsFor(query, ["[]", "[]", ...params]))),
    );
    for (const result of results) add(subject, result.results);
  }
  for (let round = 0; round < LINK_ROUNDS && subject.recordIds.length > 0; round++) {
    const before = subject.recordIds.length + subject.pairIds.length;
    const { results } = await db.$client
      .prepare(LINKED)
      .bind(JSON.stringify(subject.recordIds), JSON.stringify(subject.pairIds))
      .all<Found>();
    add(subject, results);
    if (subject.recordIds.length + subject.pairIds.length === before) break;
  }
  return subject;
}

function add(subject: Subject, rows: readonly Found[]): void {
  const ids = new Set(subject.recordIds);
  const pairs = new Set(subject.pairIds);
  for (const row of rows) {
    if (row.pair) pairs.add(row.pair);
    for (const id of [row.a, row.b, row.c, ...idsOfKey(row.k)]) if (id) ids.add(id);
  }
  subject.recordIds = [...ids].sort();
  subject.pairIds = [...pairs].sort();
}

/** The record ids a stored message key names (`attio:people:id`, `salesforce:Contact:id1,id2`). */
function idsOfKey(key: string | null): string[] {
  const ids = key?.split(":")[2];
  if (!ids || ids === "*") return [];
  return ids.split(",").filter((id) => id !== "");
}

/** ?3 and ?4 for an email: lower case, and a LIKE pattern with LIKE's wildcards matched literally. */
function emailParams(email: string): [string, string] {
  const lower = email.toLowerCase();
  return [lower, `%${lower.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`];
}

/** The parameters a statement reads: up to the highest ?N it names (SQLite counts up to it). */
function paramsFor(query: string, params: readonly unknown[]): unknown[] {
  const highest = Math.max(0, ...[...query.matchAll(/\?(\d)/g)].map((m) => Number(m[1])));
  return params.slice(0, highest);
}

/**
 * A job's error sample entry about the person: it names one of the records, or its text holds the
 * email. Never null (an entry without a record would make `not` of it null, and drop the entry).
 */
const ENTRY_OF = `coalesce((e.value ->> '$.record') in ${IDS} or (?3 is not null and e.value like ?4 escape '\\'), 0)`;

/** The erasing statements, in order: what points at an item goes before the item. */
/**
 * One erasing statement: the table whose count it gives, and how: the rows it changed, the count it
 * selects (a job's error entries are counted before they are taken out), or none.
 */
interface EraseStep {
  table: keyof EraseCounts;
  query: string;
  counts: "changed" | "selected" | "none";
}

const step = (table: keyof EraseCounts, query: string, counts: EraseStep["counts"] = "changed"): EraseStep => ({
  table,
  query,
  counts,
});

const ERASE: readonly EraseStep[] = [
  step(
    "issue_dismissals",
    `delete from issue_dismissals where
      (kind = 'failure' and item_id in (select id from failures where ${keyNames("failures.record_key")}
        or ${holds("failures.message")} or ${holds("failures.attempted")}))
      or (kind = 'warning' and item_id in (select id from mapping_warnings
        where source_record_id in ${IDS} or attio_record_id in ${IDS} or sf_record_id in ${IDS}))
      or (kind = 'conflict' and item_id in (select id from conflicts where mapping_id in ${PAIRS}))
      or (kind = 'ambiguous_match' and item_id in (select id from ambiguous_matches where record_id in ${IDS}))`,
  ),
  step(
    "audit_log",
    `delete from audit_log
      where ${seek("audit_log", "attio_object", "attio_record_id")} or ${seek("audit_log", "sf_object", "sf_record_id")}`,
  ),
  step(
    "failures",
    `delete from failures where ${keyNames("failures.record_key")} or ${holds("failures.message")} or ${holds("failures.attempted")}`,
  ),
  step(
    "parked_changes",
    `delete from parked_changes where ${keyNames("parked_changes.key")} or ${holds("parked_changes.message")}`,
  ),
  step("conflicts", `delete from conflicts where mapping_id in ${PAIRS}`),
  step("pending_deletes", `delete from pending_deletes where mapping_id in ${PAIRS}`),
  step("ambiguous_matches", `delete from ambiguous_matches where record_id in ${IDS}`),
  step(
    "mapping_warnings",
    `delete from mapping_warnings
      where source_record_id in ${IDS} or attio_record_id in ${IDS} or sf_record_id in ${IDS}`,
  ),
  step("sf_field_times", `delete from sf_field_times where ${seek("sf_field_times", "entity", "record_id")}`),
  step("create_intents", `delete from create_intents where source_record_id in ${IDS}`),
  // Through the primary key (job, side, record): the jobs are few, their records many.
  step(
    "job_records",
    `delete from job_records where (job_id, side, record_id) in (select sj.id, sd.side, j.value
      from sync_jobs sj, (select 'attio' as side union all select 'salesforce') sd, json_each(?1) j)`,
  ),
  step("job_match_keys", `delete from job_match_keys where sf_id in ${IDS} or lower(key) = ?3`),
  step(
    "job_errors",
    `select count(*) as n from sync_jobs j, json_each(j.error_sample) e where ${ENTRY_OF}`,
    "selected",
  ),
  step(
    "job_errors",
    `update sync_jobs set error_sample = (select json_group_array(json(e.value))
        from json_each(sync_jobs.error_sample) e where not ${ENTRY_OF})
      where exists (select 1 from json_each(sync_jobs.error_sample) e where ${ENTRY_OF})`,
    "none",
  ),
  step("deferred_refs", `delete from deferred_refs where record_id in ${IDS}`),
  step("recent_updates", `delete from recent_updates where record_id in ${IDS}`),
  step("held_updates", `delete from held_updates where record_id in ${IDS}`),
  step("sync_state", `delete from sync_state where mapping_id in ${PAIRS}`),
];

const FORGET_LINK = `delete from id_mappings where id in ${PAIRS}`;

/** The erase's own audit row: who asked, by which kind of key; never the key itself. */
export interface EraseRecord {
  correlationId: string;
  actor: string;
  direction: "attio_to_sf" | "sf_to_attio";
  event: Record<string, unknown>;
}

const RECORD_ERASE = `insert into audit_log (correlation_id, direction, operation, changes, source_event, actor)
  values (?1, ?2, 'operator', '{}', ?3, ?4)`;

/**
 * Removes everything stored about the subject's records and appends the erase's audit row, in one
 * D1 batch (one transaction): all of it or, if a statement fails, none. Their pairs are kept (ids
 * only) unless `forgetLink`: docs/OPERATIONS.md "Erasing a person's data" says what each choice
 * does to the next sync. `email`: also what holds it with no record id (a job's error message, a
 * failure stored without a record key).
 */
export async function eraseSubject(
  db: Db,
  subject: Subject,
  options: { email: string | undefined; forgetLink: boolean; record: EraseRecord },
): Promise<EraseCounts> {
  const params = [
    JSON.stringify(subject.recordIds),
    JSON.stringify(subject.pairIds),
    ...(options.email ? emailParams(options.email) : [null, null]),
  ];
  const steps = options.forgetLink ? [...ERASE, step("id_mappings", FORGET_LINK)] : ERASE;
  const { record } = options;
  const results = await db.$client.batch<{ n: number }>([
    ...steps.map(({ query }) => db.$client.prepare(query).bind(...paramsFor(query, params))),
    db.$client
      .prepare(RECORD_ERASE)
      .bind(record.correlationId, record.direction, JSON.stringify(record.event), record.actor),
  ]);
  const counts = noneErased();
  steps.forEach(({ table, counts: how }, i) => {
    const result = results[i];
    if (how === "changed") counts[table] = result?.meta.changes ?? 0;
    else if (how === "selected") counts[table] = result?.results[0]?.n ?? 0;
  });
  return counts;
}

/** Zero rows of every table: what a request that names nothing stored removes. */
export function noneErased(): EraseCounts {
  return {
    audit_log: 0,
    failures: 0,
    parked_changes: 0,
    conflicts: 0,
    pending_deletes: 0,
    ambiguous_matches: 0,
    mapping_warnings: 0,
    issue_dismissals: 0,
    sf_field_times: 0,
    create_intents: 0,
    job_records: 0,
    job_match_keys: 0,
    job_errors: 0,
    deferred_refs: 0,
    recent_updates: 0,
    held_updates: 0,
    sync_state: 0,
    id_mappings: 0,
  };
}
