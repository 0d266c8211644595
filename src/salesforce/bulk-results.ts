import { type BulkRowError, parseBulkErrors } from "./bulk-csv.ts";

/**
 * Matching the rows of a Bulk API 2.0 job's result CSVs (successfulResults, failedResults,
 * unprocessedrecords) to the rows we uploaded. Salesforce does not keep the upload order in the
 * results, but every result row repeats the uploaded fields of its row, so a row is found by its
 * content. Pure: no I/O.
 *
 * A result row goes, in this order of preference, to the first still unmatched upload row with:
 * 1. the same value in every uploaded column (an exact copy of what we sent);
 * 2. the same key (`Id` for update, the external id for upsert: unique per record);
 * 3. the same values once trimmed, with CRLF as LF and case ignored (in case Salesforce normalised
 *    a value on the way back), then the same key compared that way.
 * Identical upload rows are indistinguishable, and interchangeable: their results are handed out in
 * upload order. A result row that matches nothing is counted in `unmatched`.
 */

export type RowResult =
  | { kind: "success"; id: string; created: boolean }
  | { kind: "failure"; id: string; errors: BulkRowError[] }
  | { kind: "unprocessed" };

export type ResultKind = "successful" | "failed" | "unprocessed";

interface Bucket {
  rows: number[];
  /** Entries before it are matched already. */
  next: number;
}

type Strategy = "full" | "key" | "full~" | "key~";

export class ResultMatcher {
  private readonly results: (RowResult | undefined)[];
  /** Lazily built lookups per strategy and set of columns present in a result CSV. */
  private readonly indexes = new Map<string, Map<string, Bucket>>();
  private matched = 0;
  /** Result rows that matched no upload row. */
  unmatched = 0;

  /**
   * @param header the uploaded header
   * @param rows the uploaded rows, as sent
   * @param keyColumn the column identifying a record (`Id` for update, the external id field for upsert)
   */
  constructor(
    private readonly header: readonly string[],
    private readonly rows: readonly (readonly string[])[],
    private readonly keyColumn?: string,
  ) {
    this.results = new Array(rows.length).fill(undefined);
  }

  /** Upload rows that have no result yet. */
  get pending(): number {
    return this.rows.length - this.matched;
  }

  result(index: number): RowResult | undefined {
    return this.results[index];
  }

  /** Takes in one result CSV, parsed (header row first). */
  add(kind: ResultKind, csv: readonly (readonly string[])[]): void {
    const [resultHeader, ...data] = csv;
    if (!resultHeader) return;
    const position = (name: string) => {
      const exact = resultHeader.indexOf(name);
      if (exact >= 0) return exact;
      const lower = name.toLowerCase();
      return resultHeader.findIndex((column) => column.toLowerCase() === lower);
    };
    const sfId = position("sf__Id");
    const sfCreated = position("sf__Created");
    const sfError = position("sf__Error");
    // Our columns as found in this result CSV (upload column index -> result column index).
    const present: Array<[number, number]> = [];
    this.header.forEach((name, index) => {
      const at = position(name);
      if (at >= 0 && !name.startsWith("sf__")) present.push([index, at]);
    });
    if (present.length === 0) {
      this.unmatched += data.filter((row) => !(row.length === 1 && row[0] === "")).length;
      return;
    }
    const keyIndex = this.keyColumn === undefined ? -1 : this.header.indexOf(this.keyColumn);
    const keyAt = present.find(([index]) => index === keyIndex)?.[1];
    const strategies: Strategy[] = keyAt === undefined ? ["full", "full~"] : ["full", "key", "full~", "key~"];
    const signature = present.map(([index]) => index).join(",");

    for (const row of data) {
      const fromResult = (strategy: Strategy) => {
        if (strategy === "key") return row[keyAt ?? -1] ?? "";
        if (strategy === "key~") return loose(row[keyAt ?? -1] ?? "");
        const values = present.map(([, at]) => row[at] ?? "");
        return JSON.stringify(strategy === "full" ? values : values.map(loose));
      };
      let found: number | undefined;
      for (const strategy of strategies) {
        found = this.take(strategy, signature, present, keyIndex, fromResult(strategy));
        if (found !== undefined) break;
      }
      if (found === undefined) {
        this.unmatched++;
        continue;
      }
      this.matched++;
      if (kind === "successful") {
        this.results[found] = {
          kind: "success",
          id: row[sfId] ?? "",
          created: (row[sfCreated] ?? "").toLowerCase() === "true",
        };
      } else if (kind === "failed") {
        this.results[found] = { kind: "failure", id: row[sfId] ?? "", errors: parseBulkErrors(row[sfError] ?? "") };
      } else {
        this.results[found] = { kind: "unprocessed" };
      }
    }
  }

  /** The first unmatched upload row with this key under `strategy`, now marked as matched. */
  private take(
    strategy: Strategy,
    signature: string,
    present: Array<[number, number]>,
    keyIndex: number,
    key: string,
  ): number | undefined {
    const name = `${strategy}|${signature}`;
    let index = this.indexes.get(name);
    if (!index) {
      index = new Map();
      for (const [rowIndex, row] of this.rows.entries()) {
        const rowKey =
          strategy === "key"
            ? (row[keyIndex] ?? "")
            : strategy === "key~"
              ? loose(row[keyIndex] ?? "")
              : JSON.stringify(present.map(([at]) => (strategy === "full" ? (row[at] ?? "") : loose(row[at] ?? ""))));
        const bucket = index.get(rowKey);
        if (bucket) bucket.rows.push(rowIndex);
        else index.set(rowKey, { rows: [rowIndex], next: 0 });
      }
      this.indexes.set(name, index);
    }
    const bucket = index.get(key);
    if (!bucket) return undefined;
    while (bucket.next < bucket.rows.length) {
      const candidate = bucket.rows[bucket.next] as number;
      bucket.next++;
      if (this.results[candidate] === undefined) {
        // Marked here; the caller fills in the real result.
        this.results[candidate] = { kind: "unprocessed" };
        return candidate;
      }
    }
    return undefined;
  }
}

/** A value compared loosely: trimmed, CRLF as LF, case ignored. */
function loose(value: string): string {
  return value.replace(/\r\n/g, "\n").trim().toLowerCase();
}
