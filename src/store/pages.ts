import { and, asc, desc, gt, lt, type SQL } from "drizzle-orm";
import type { SQLiteColumn } from "drizzle-orm/sqlite-core";

/** Which page of a list: at most `limit` items after `cursor`, the last id of the previous page. */
export interface PageRequest {
  limit: number;
  cursor?: string | number | undefined;
}

export interface Page<T> {
  items: T[];
  /** The cursor of the next page; null on the last one. */
  nextCursor: string | null;
}

/** A dynamic select (`.$dynamic()`) whose rows have an id. */
interface ListQuery<T extends { id: string | number }> {
  where(where: SQL | undefined): { orderBy(order: SQL): { limit(limit: number): PromiseLike<T[]> } };
}

/**
 * One page of a list in `id` order (ascending, or `newestFirst`), continued after the cursor:
 * `query` is a dynamic select (`db.select().from(table).$dynamic()`), `filters` its conditions.
 * One row more than the limit is read, to know whether another page follows.
 */
export async function listPage<T extends { id: string | number }>(
  query: ListQuery<T>,
  id: SQLiteColumn,
  filters: readonly (SQL | undefined)[],
  page: PageRequest & { newestFirst?: boolean },
): Promise<Page<T>> {
  const { cursor } = page;
  const after = cursor === undefined || cursor === "" ? undefined : page.newestFirst ? lt(id, cursor) : gt(id, cursor);
  const rows: T[] = await query
    .where(and(...filters, after))
    .orderBy(page.newestFirst ? desc(id) : asc(id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const items = more ? rows.slice(0, page.limit) : rows;
  return { items, nextCursor: more ? String(items.at(-1)?.id ?? "") : null };
}
