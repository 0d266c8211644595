import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { openDb } from "../store/db.ts";
import { countOpenFailures } from "../store/failures.ts";
import { countMappings } from "../store/mappings.ts";
import { VERSION } from "../version.ts";
import { requireAdmin } from "./auth.ts";
import type { AppEnv } from "./types.ts";

/** The management API. Every route needs the admin bearer token. */
export const apiV1 = new Hono<AppEnv>().use(requireAdmin).get("/status", async (c) => {
  const db = openDb(c.env.DB);
  const [d1, kv] = await Promise.all([
    probe(async () => {
      await db.run(sql`select 1`);
    }),
    probe(async () => {
      await c.env.CURSORS.get("status-probe");
    }),
  ]);
  const [mapped, failures] = d1.ok ? await Promise.all([countMappings(db), countOpenFailures(db)]) : [{}, null];
  return c.json({
    version: VERSION,
    direction: c.var.config.SYNC_DIRECTION,
    bindings: {
      d1,
      kv,
      queue: { ok: typeof c.env.SYNC_QUEUE?.send === "function" },
      record_lock: { ok: typeof c.env.RECORD_LOCK?.getByName === "function" },
      rate_limiter: { ok: typeof c.env.RATE_LIMITER?.getByName === "function" },
    },
    mapped_records: mapped,
    open_failures: failures,
  });
});

async function probe(check: () => Promise<void>): Promise<{ ok: boolean; error?: string }> {
  try {
    await check();
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
