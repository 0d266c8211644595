/**
 * CSV as Bulk API 2.0 ingest jobs take and give it (RFC 4180, `columnDelimiter: COMMA`,
 * `lineEnding: LF`): the upload built from our records, and the parsing of the result CSVs.
 *
 * In an upload an empty field leaves the field as it is (not set on insert, unchanged on update),
 * and `#N/A` sets it to null. Pure: no I/O.
 */

/** The value that sets a field to null in a Bulk API 2.0 upload. */
export const BULK_NULL = "#N/A";

export type CellValue = string | number | boolean | null | undefined;

export class CsvParseError extends Error {}

/** One field, quoted when it holds a quote, a comma, a line break or edge whitespace. */
export function csvField(value: string): string {
  if (/[",\r\n]/.test(value) || value !== value.trim()) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** One row as a CSV line, ended by LF. */
export function csvLine(row: readonly string[]): string {
  return `${row.map(csvField).join(",")}\n`;
}

/** Rows as CSV text, every line (the last too) ended by LF. */
export function encodeCsv(rows: readonly (readonly string[])[]): string {
  return rows.map(csvLine).join("");
}

/**
 * Parses CSV text (LF or CRLF line ends, quoted fields with doubled quotes, delimiters and line
 * breaks inside them). A trailing line break does not make an empty row; a leading byte order mark
 * is dropped. Throws CsvParseError on a quote in the wrong place.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  /** Whether the current row has begun, so a trailing line break does not add an empty row. */
  let rowOpen = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const special = /[,\r\n"]/g;
  while (i < text.length) {
    let field: string;
    if (text[i] === '"') {
      // A quoted field: up to the closing quote, "" standing for one quote.
      field = "";
      i++;
      for (;;) {
        const close = text.indexOf('"', i);
        if (close < 0) throw new CsvParseError("unterminated quoted field");
        field += text.slice(i, close);
        i = close + 1;
        if (text[i] !== '"') break;
        field += '"';
        i++;
      }
    } else {
      special.lastIndex = i;
      const match = special.exec(text);
      const end = match ? match.index : text.length;
      if (match?.[0] === '"') throw new CsvParseError(`unexpected quote inside an unquoted field at offset ${end}`);
      field = text.slice(i, end);
      i = end;
    }
    row.push(field);
    rowOpen = true;
    const next = text[i];
    if (next === undefined) break;
    if (next === ",") {
      i++;
      // A delimiter at the very end still opens an (empty) last field.
      if (i === text.length) row.push("");
      continue;
    }
    if (next === "\n" || (next === "\r" && text[i + 1] === "\n")) {
      i += next === "\n" ? 1 : 2;
      rows.push(row);
      row = [];
      rowOpen = false;
      continue;
    }
    throw new CsvParseError(`unexpected character at offset ${i} (after a closing quote, or a lone CR)`);
  }
  if (rowOpen) rows.push(row);
  return rows;
}

/**
 * One record value as an upload field: null, and "" (which Salesforce stores as null anyway), as
 * `#N/A`; undefined (the record does not have the field) as empty, so it is left alone; numbers
 * without exponent notation; non-finite numbers as null, like JSON.
 */
export function cellOf(value: CellValue): string {
  if (value === undefined) return "";
  if (value === null || value === "") return BULK_NULL;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") return Number.isFinite(value) ? plainNumber(value) : BULK_NULL;
  return value;
}

function plainNumber(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  return value.toLocaleString("en-US", { useGrouping: false, maximumFractionDigits: 20 });
}

/** The upload of `records`: a header of every field any record has (first seen first), one row each. */
export function uploadRows(records: readonly Readonly<Record<string, CellValue>>[]): {
  header: string[];
  rows: string[][];
} {
  const seen = new Set<string>();
  for (const record of records) for (const key of Object.keys(record)) seen.add(key);
  const header = [...seen];
  const rows = records.map((record) => header.map((key) => (Object.hasOwn(record, key) ? cellOf(record[key]) : "")));
  return { header, rows };
}

/** One error of an `sf__Error` cell. */
export interface BulkRowError {
  statusCode: string;
  message: string;
  fields: string[];
}

/**
 * `sf__Error` as Bulk API 2.0 writes it: `STATUS_CODE:message:Field1,Field2 --` per error, e.g.
 * `REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --`. The message may hold
 * colons; the fields are after the last one. Text that does not look like that is one UNKNOWN error.
 */
export function parseBulkErrors(text: string): BulkRowError[] {
  const errors: BulkRowError[] = [];
  for (const part of text.split(/\s--(?:\s+|$)/)) {
    const piece = part.trim();
    if (!piece) continue;
    const code = /^([A-Z][A-Z0-9_]*):/.exec(piece);
    if (!code) {
      errors.push({ statusCode: "UNKNOWN", message: piece, fields: [] });
      continue;
    }
    const rest = piece.slice(code[0].length);
    const lastColon = rest.lastIndexOf(":");
    const message = lastColon < 0 ? rest : rest.slice(0, lastColon);
    const fieldText = lastColon < 0 ? "" : rest.slice(lastColon + 1);
    const fields = /^\s*(?:[A-Za-z0-9_.]+\s*(?:,\s*[A-Za-z0-9_.]+\s*)*)?$/.test(fieldText)
      ? fieldText
          .split(",")
          .map((f) => f.trim())
          .filter(Boolean)
      : [];
    // A "field list" that is not one was part of the message.
    errors.push({
      statusCode: code[1] as string,
      message: (fields.length === 0 && fieldText.trim() !== "" ? rest : message).trim(),
      fields,
    });
  }
  return errors.length > 0 ? errors : [{ statusCode: "UNKNOWN", message: text.trim(), fields: [] }];
}
