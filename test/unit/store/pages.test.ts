import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SyncError } from "../../../src/lib/errors.ts";
import { insertAudit, listAudit } from "../../../src/store/audit.ts";
import { openDb } from "../../../src/store/db.ts";
import { listFailures, recordFailure } from "../../../src/store/failures.ts";
import type { Page, PageRequest } from "../../../src/store/pages.ts";

const db = openDb(env.DB);

/** Every page of a list, following the cursors. */
async function allPages<T>(list: (page: PageRequest) => Promise<Page<T>>, limit: number): Promise<T[][]> {
  const pages: T[][] = [];
  let cursor: string | undefined;
  do {
    const page = await list({ limit, cursor });
    pages.push(page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined && pages.length < 10);
  return pages;
}

describe("listPage", () => {
  it("pages through a list in id order, each item once, the last page without a cursor", async () => {
    for (const id of ["f-3", "f-1", "f-5", "f-2", "f-4"]) {
      await recordFailure(db, {
        id,
        messageKind: "attio.record",
        message: {},
        error: new SyncError("mapping_failed", "no"),
        attempts: 1,
        correlationId: id,
      });
    }
    const pages = await allPages((page) => listFailures(db, { status: "open", errorCode: "mapping_failed" }, page), 2);
    expect(pages.map((items) => items.map((f) => f.id))).toEqual([["f-1", "f-2"], ["f-3", "f-4"], ["f-5"]]);

    const exact = await listFailures(db, { status: "open", errorCode: "mapping_failed" }, { limit: 5 });
    expect(exact.nextCursor).toBeNull();
  });

  it("pages newest first when asked (the audit trail), its filters applied on every page", async () => {
    for (const n of [1, 2, 3, 4]) {
      await insertAudit(db, {
        correlationId: `c-${n}`,
        direction: "attio_to_sf",
        operation: n === 3 ? "delete" : "update",
        attioObject: "paged",
        attioRecordId: `a-${n}`,
        changes: {},
        sourceEvent: {},
      });
    }
    const pages = await allPages(
      (page) =>
        listAudit(db, { object: "paged", operation: "update" }, { ...page, cursor: Number(page.cursor) || undefined }),
      2,
    );
    expect(pages.map((items) => items.map((a) => a.correlationId))).toEqual([["c-4", "c-2"], ["c-1"]]);
  });
});
