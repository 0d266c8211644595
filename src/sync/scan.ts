import type { CompiledMapping } from "../mapping/engine.ts";
import { mapsOwners } from "../mapping/engine.ts";
import type { UserLookup } from "../mapping/transforms.ts";
import { attioSide } from "../plan/canon.ts";
import { sameValue } from "../plan/plan-fields.ts";
import { loadIdLookup, pairsByAttio } from "../store/pairs.ts";
import type { SyncDeps } from "./deps.ts";

/** Catch-up and jobs both page through each side and keep only the records that differ from their base. */
export const SF_PAGE = 2_000;
export const ATTIO_PAGE = 500;

/** Records with no pair yet, or whose mapped values differ from the Attio side of their base. */
export async function differingRecords(
  deps: SyncDeps,
  compiled: CompiledMapping,
  records: Awaited<ReturnType<SyncDeps["attio"]["scanRecords"]>>,
  loadUsers?: () => Promise<UserLookup>,
): Promise<string[]> {
  const users = loadUsers && mapsOwners(compiled) ? await loadUsers() : undefined;
  const pairs = await pairsByAttio(
    deps.db,
    compiled.mapping.attio_object,
    records.map((r) => r.id.record_id),
  );
  const ids = await loadIdLookup(deps.db, [], []);
  return records
    .filter((record) => {
      const base = pairs.get(record.id.record_id)?.base;
      if (!base) return true;
      const now = attioSide(compiled, record.values, { ids, ...(users ? { users } : {}) }).values;
      return Object.entries(now).some(([field, value]) => field in base.attio && !sameValue(value, base.attio[field]));
    })
    .map((r) => r.id.record_id);
}
