/**
 * RFC 4180 CSV, as Bulk API 2.0 reads and writes it: fields separated by the job's delimiter,
 * records by LF or CRLF, fields optionally enclosed in double quotes, a quote inside a quoted field
 * doubled. Quoted fields may hold delimiters and line breaks.
 */

/** Bulk API 2.0 `columnDelimiter` values and the character each stands for. */
export const DELIMITERS: Record<string, string> = {
  BACKQUOTE: "`",
  CARET: "^",
  COMMA: ",",
  PIPE: "|",
  SEMICOLON: ";",
  TAB: "\t",
};

export class CsvError extends Error {}

/** Parses CSV text into rows of fields. A trailing line break does not make an empty row. */
export function parseCsv(text: string, delimiter = ","): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let fieldText = "";
  let quoted = false;
  let fieldStarted = false;
  let i = 0;
  const endField = () => {
    row.push(fieldText);
    fieldText = "";
    fieldStarted = false;
  };
  const endRow = () => {
    endField();
    rows.push(row);
    row = [];
  };
  // One pass over the characters: every iteration consumes at least one.
  while (i < text.length) {
    const ch = text.charAt(i);
    if (quoted) {
      if (ch === '"') {
        if (text.charAt(i + 1) === '"') {
          fieldText += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        const after = text.charAt(i);
        if (i < text.length && after !== delimiter && after !== "\n" && after !== "\r") {
          throw new CsvError(`unexpected character after a closing quote at offset ${i}`);
        }
        continue;
      }
      fieldText += ch;
      i++;
      continue;
    }
    if (ch === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
      i++;
      continue;
    }
    if (ch === delimiter) {
      endField();
      i++;
      continue;
    }
    if (ch === "\r" && text.charAt(i + 1) === "\n") {
      endRow();
      i += 2;
      continue;
    }
    if (ch === "\n") {
      endRow();
      i++;
      continue;
    }
    if (ch === '"') throw new CsvError(`unexpected quote inside an unquoted field at offset ${i}`);
    fieldText += ch;
    fieldStarted = true;
    i++;
  }
  if (quoted) throw new CsvError("unterminated quoted field");
  if (fieldStarted || row.length > 0) endRow();
  return rows;
}

/** One CSV field: quoted when asked to or when it holds a quote, the delimiter or a line break. */
export function csvField(value: string, delimiter = ",", quote = false): string {
  if (quote || value.includes('"') || value.includes(delimiter) || /[\r\n]/.test(value)) {
    return `"${value.replace(/"/g, '""')}"`;
  }
  return value;
}

/**
 * Writes rows; each cell is a string (written quoted, as Salesforce writes values), a raw header
 * name (`{ raw }`, quoted only when needed) or null (an empty, unquoted field).
 */
export function writeCsv(
  rows: Array<Array<string | null | { raw: string }>>,
  delimiter = ",",
  lineEnding: "LF" | "CRLF" = "LF",
): string {
  const eol = lineEnding === "CRLF" ? "\r\n" : "\n";
  return rows
    .map((row) =>
      row
        .map((cell) => {
          if (cell === null) return "";
          if (typeof cell === "object") return csvField(cell.raw, delimiter, false);
          return csvField(cell, delimiter, true);
        })
        .join(delimiter),
    )
    .map((line) => line + eol)
    .join("");
}
