import type { Dirent } from "node:fs";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/**
 * A D1 failure window for the sandbox, with no code in the Worker: under wrangler dev, D1 is a
 * SQLite file in the stack's state directory. Holding an exclusive transaction on it from this
 * process makes the Worker's D1 writes (and the reads that meet the lock) fail with
 * `SQLITE_BUSY` / "database is locked" until the window closes, as a D1 outage would. Nothing of it
 * exists in production: it is a lock taken from outside on a local file.
 */
export interface D1Window {
  /** Ends the window (commits the empty transaction and closes the connection). Safe to call twice. */
  close(): void;
}

export async function openD1FailureWindow(stateDir: string): Promise<D1Window> {
  const file = await workerDatabase(stateDir);
  const db = new DatabaseSync(file);
  db.exec("PRAGMA busy_timeout = 5000");
  db.exec("BEGIN EXCLUSIVE");
  let open = true;
  return {
    close() {
      if (!open) return;
      open = false;
      db.exec("COMMIT");
      db.close();
    },
  };
}

/** The Worker's D1 file: the SQLite file under `v3/d1` that holds the migrated `id_mappings` table. */
async function workerDatabase(stateDir: string): Promise<string> {
  for (const file of await sqliteFiles(join(stateDir, "v3", "d1"))) {
    const db = new DatabaseSync(file, { readOnly: true });
    try {
      db.prepare("select 1 from id_mappings limit 1").get();
      return file;
    } catch {
      // another miniflare store (metadata), or not migrated yet
    } finally {
      db.close();
    }
  }
  throw new Error(`no migrated D1 database under ${stateDir}`);
}

/** Every `.sqlite` file under `dir` (wrangler dev keeps local D1 databases there); none when it is absent. */
export async function sqliteFiles(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sqliteFiles(path)));
    else if (entry.name.endsWith(".sqlite")) out.push(path);
  }
  return out;
}
