import { and, desc, eq } from "drizzle-orm";
import type { Db } from "./db.ts";
import { configVersions } from "./schema.ts";

/** The newest configuration document stored through `PUT /api/v1/config`, if any. */
export async function latestConfig(db: Db): Promise<{ version: number; toml: string } | undefined> {
  const row = await db
    .select()
    .from(configVersions)
    .where(eq(configVersions.kind, "config"))
    .orderBy(desc(configVersions.version))
    .limit(1)
    .get();
  return row
    ? { version: row.version, toml: typeof row.document["toml"] === "string" ? row.document["toml"] : "" }
    : undefined;
}

/** Stores a configuration document as the newest version; returns its version. */
export async function insertConfig(db: Db, toml: string): Promise<number | undefined> {
  const [row] = await db
    .insert(configVersions)
    .values({ kind: "config", document: { toml } })
    .returning({ version: configVersions.version });
  return row?.version;
}

/** Every stored configuration version, newest first (number and time only). */
export async function listConfigVersions(db: Db, limit: number): Promise<{ version: number; createdAt: string }[]> {
  return db
    .select({ version: configVersions.version, createdAt: configVersions.createdAt })
    .from(configVersions)
    .where(eq(configVersions.kind, "config"))
    .orderBy(desc(configVersions.version))
    .limit(limit);
}

/** One stored configuration version's text, if it exists. */
export async function configVersion(
  db: Db,
  version: number,
): Promise<{ version: number; toml: string; createdAt: string } | undefined> {
  const row = await db
    .select()
    .from(configVersions)
    .where(and(eq(configVersions.kind, "config"), eq(configVersions.version, version)))
    .get();
  return row
    ? {
        version: row.version,
        toml: typeof row.document["toml"] === "string" ? row.document["toml"] : "",
        createdAt: row.createdAt,
      }
    : undefined;
}
