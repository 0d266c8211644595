import { type CompiledMapping, mapsOwners } from "../mapping/engine.ts";
import type { UserLookup } from "../mapping/transforms.ts";
import { type DecideContext, decideContext } from "../plan/decide.ts";
import type { RecordFacts, Side } from "../plan/decision.ts";
import type { Touch } from "../plan/touch.ts";
import type { SyncDeps } from "../sync/deps.ts";
import { findCandidates } from "./match.ts";
import type { EngineOptions } from "./options.ts";
import { loadPairs, readFacts } from "./read.ts";
import { loadReferences, mapOptionsOf, withFieldTimes } from "./run.ts";

/** No lease: reading one record to explain it must never hold back the consumer syncing it. */
const NO_LEASES = { take: async () => new Map<string, number>() };

/**
 * The facts of one record as the engine reads them for a sync (read.ts, match.ts), and the
 * context to decide it in, without a lease and without writing anything: for explain. Both sides
 * are read live, one call each (the counterpart by id, or the candidates by match key).
 */
export async function readOneRecord(
  deps: SyncDeps,
  compiled: CompiledMapping,
  options: Pick<EngineOptions, "strategy" | "direction" | "deletePolicy" | "attioTitles"> & {
    users?: (() => Promise<UserLookup>) | undefined;
  },
  side: Side,
  recordId: string,
): Promise<{ facts: RecordFacts; ctx: DecideContext }> {
  const touch: Touch = {
    side,
    recordId,
    deleted: false,
    correlationId: `explain:${crypto.randomUUID()}`,
    origin: { kind: "internal", reason: "explain" },
  };
  const pairs = await loadPairs(deps, compiled, [touch]);
  const { facts, unread } = await readFacts(deps, compiled, [touch], pairs, {
    attio: new Map(),
    salesforce: new Map(),
  });
  const error = unread.get(touch);
  if (error) throw error;
  const ids = await loadReferences(deps, compiled, facts);
  const users = mapsOwners(compiled) && options.users ? await options.users() : undefined;
  await findCandidates(deps, compiled, {}, NO_LEASES, facts);
  const [fact] = await withFieldTimes(deps, compiled, options.strategy, facts);
  if (!fact) throw new Error("the record was not read");
  return { facts: fact, ctx: decideContext(compiled, options, mapOptionsOf(ids, options, users)) };
}
