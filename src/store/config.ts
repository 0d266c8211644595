import { desc, eq } from "drizzle-orm";
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
