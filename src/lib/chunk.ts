/**
 * `items` in consecutive parts of at most `size` (the last may be shorter), e.g. the rows of one
 * statement (D1 binds at most 100 parameters per statement, and a JSON parameter is best kept far
 * below its 2 MB value limit), the records of one message, one Salesforce collection call.
 *
 * @example chunk([1, 2, 3, 4, 5], 2) // [[1, 2], [3, 4], [5]]
 */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
