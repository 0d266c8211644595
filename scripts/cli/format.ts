/**
 * Plain-text layout for the CLI: aligned columns and `key  value` blocks. Hand-written rather
 * than a dependency: a few dozen lines cover what the commands print.
 */

/** A cell as the table shows it: absent values as `-`, objects as compact JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "string") return value.replace(/\s+/g, " ");
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** Cells longer than this are cut with `…`, so one long message does not push every column away. */
const MAX_CELL = 80;

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * Rows under upper-case headers, each column as wide as its widest cell; the last column is not
 * padded (no trailing spaces). No rows: one line saying so.
 */
export function table(
  headers: readonly string[],
  rows: readonly (readonly unknown[])[],
  empty = "(none)",
  maxCell = MAX_CELL,
): string[] {
  if (rows.length === 0) return [empty];
  const text = rows.map((row) => headers.map((_, i) => clip(cell(row[i]), maxCell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...text.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((value, i) => (i === cells.length - 1 ? value : value.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...text.map(line)];
}

/** `key  value` lines, the values aligned. */
export function fields(pairs: readonly (readonly [string, unknown])[]): string[] {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${key.padEnd(width)}  ${cell(value)}`.trimEnd());
}
