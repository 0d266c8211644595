import type { Logger } from "../lib/log.ts";
import type { Db } from "../store/db.ts";
import { type EraseCounts, eraseSubject, findSubject } from "../store/erase.ts";

/** Who an erasure request names: exactly one key. */
export type EraseKey =
  | { kind: "email"; email: string }
  | { kind: "attio_record_id"; id: string }
  | { kind: "salesforce_id"; id: string };

export interface EraseReport {
  /** This erase's id; its audit row's correlation id is `erase:<id>`. Keep it with the request. */
  erase_id: string;
  key: EraseKey["kind"];
  /** The records found (the one asked for, or those holding the email, and their counterparts). */
  record_ids: string[];
  /** `kept`: the pairs stay (ids only), their bases are gone; `forgotten`: the pairs went too. */
  link: "kept" | "forgotten";
  removed: EraseCounts;
  /** All rows (and job error entries) removed. */
  total: number;
}

/**
 * Removes what the sync stores about a person (docs/OPERATIONS.md "Erasing a person's data"),
 * audited by one `operator` row saying who erased, by which kind of key, how many records and
 * pairs: never the email or the record ids. A row naming the person would re-store what the erase
 * removed, and a hash of an email is no protection (emails are guessed and hashed in moments). The
 * request itself (who asked, for which email) belongs in the ticket that asked for it, which
 * quotes the `erase_id` this answers. A second call finds nothing left and removes nothing.
 */
export async function erasePerson(
  db: Db,
  log: Logger,
  key: EraseKey,
  options: { actor: string; forgetLink: boolean },
): Promise<EraseReport> {
  const subject = await findSubject(db, key.kind === "email" ? { email: key.email } : { recordId: key.id });
  const eraseId = crypto.randomUUID();
  const link = options.forgetLink ? "forgotten" : "kept";
  const removed = await eraseSubject(db, subject, {
    email: key.kind === "email" ? key.email : undefined,
    forgetLink: options.forgetLink,
    record: {
      correlationId: `erase:${eraseId}`,
      actor: options.actor,
      // The column wants a direction; an erase writes to neither side. The key's side, for the record.
      direction: key.kind === "salesforce_id" ? "sf_to_attio" : "attio_to_sf",
      event: {
        kind: "person.erased",
        key: key.kind,
        records: subject.recordIds.length,
        pairs: subject.pairIds.length,
        link,
      },
    },
  });
  const total = Object.values(removed).reduce((sum, n) => sum + n, 0);
  log.info("person erased", { erase_id: eraseId, key: key.kind, records: subject.recordIds.length, total, removed });
  return { erase_id: eraseId, key: key.kind, record_ids: subject.recordIds, link, removed, total };
}
