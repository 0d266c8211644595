import { describe, expect, it } from "vitest";
import {
  BULK_NULL,
  CsvParseError,
  cellOf,
  csvField,
  encodeCsv,
  parseBulkErrors,
  parseCsv,
  uploadRows,
} from "../../../src/salesforce/bulk-csv.ts";

describe("CSV encoding", () => {
  it("quotes only fields with quotes, commas, line breaks or edge spaces", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("")).toBe("");
    expect(csvField("Acme, Inc.")).toBe('"Acme, Inc."');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\r\nlf")).toBe('"cr\r\nlf"');
    expect(csvField(" padded ")).toBe('" padded "');
    expect(
      encodeCsv([
        ["Name", "Description"],
        ["Acme, Inc.", ""],
        ["#N/A", "x"],
      ]),
    ).toBe('Name,Description\n"Acme, Inc.",\n#N/A,x\n');
  });

  it("turns record values into cells: null and '' clear, a missing field stays unchanged", () => {
    expect(cellOf(null)).toBe(BULK_NULL);
    expect(cellOf("")).toBe(BULK_NULL);
    expect(cellOf(undefined)).toBe("");
    expect(cellOf(true)).toBe("true");
    expect(cellOf(false)).toBe("false");
    expect(cellOf(42)).toBe("42");
    expect(cellOf(-0.5)).toBe("-0.5");
    expect(cellOf(1e21)).toBe("1000000000000000000000");
    expect(cellOf(1e-7)).toBe("0.0000001");
    expect(cellOf(Number.NaN)).toBe(BULK_NULL);
    expect(cellOf("2024-10-26")).toBe("2024-10-26");
  });

  it("builds the upload from the union of the records' fields, first seen first", () => {
    const { header, rows } = uploadRows([
      { LastName: "Marsh", Email: "ida@example.com" },
      { LastName: "Lund", Title: null },
      { Email: "", LastName: "Ng", Phone: 5 },
    ]);
    expect(header).toEqual(["LastName", "Email", "Title", "Phone"]);
    expect(rows).toEqual([
      ["Marsh", "ida@example.com", "", ""],
      ["Lund", "", "#N/A", ""],
      ["Ng", "#N/A", "", "5"],
    ]);
  });
});

describe("CSV parsing", () => {
  it("reads quoted fields with quotes, commas and line breaks, LF and CRLF, empty fields", () => {
    const text =
      '"sf__Id","sf__Created",Name,Description\r\n"001A","true","Acme, Inc.","said ""hi""\ntwice"\r\n"001B","false",Plain,\r\n';
    expect(parseCsv(text)).toEqual([
      ["sf__Id", "sf__Created", "Name", "Description"],
      ["001A", "true", "Acme, Inc.", 'said "hi"\ntwice'],
      ["001B", "false", "Plain", ""],
    ]);
  });

  it("keeps empty fields and rows, drops a byte order mark and needs no final line break", () => {
    expect(parseCsv("")).toEqual([]);
    expect(parseCsv("a")).toEqual([["a"]]);
    expect(parseCsv("a,")).toEqual([["a", ""]]);
    expect(parseCsv(",\n")).toEqual([["", ""]]);
    expect(parseCsv("Name\n\nB\n")).toEqual([["Name"], [""], ["B"]]);
    expect(parseCsv('\uFEFFName\n""\n')).toEqual([["Name"], [""]]);
  });

  it("round-trips what it encodes", () => {
    const rows = [
      ["Id", "Description", "Title"],
      ["003A", 'a "quoted", multi\r\nline value', " lead"],
      ["003B", "", "#N/A"],
      ["003C", "ünïcødé ✓ 🎉", ","],
    ];
    expect(parseCsv(encodeCsv(rows))).toEqual(rows);
  });

  it("refuses malformed quoting", () => {
    expect(() => parseCsv('"open')).toThrow(CsvParseError);
    expect(() => parseCsv('ab"c\n')).toThrow(CsvParseError);
    expect(() => parseCsv('"a"b\n')).toThrow(CsvParseError);
  });
});

describe("sf__Error", () => {
  it("reads status code, message (with colons) and fields", () => {
    expect(parseBulkErrors("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --")).toEqual([
      {
        statusCode: "REQUIRED_FIELD_MISSING",
        message: "Required fields are missing: [LastName]",
        fields: ["LastName"],
      },
    ]);
    expect(parseBulkErrors("DUPLICATE_VALUE:duplicate value found: Attio_Id__c:Attio_Id__c,Name --")).toEqual([
      { statusCode: "DUPLICATE_VALUE", message: "duplicate value found: Attio_Id__c", fields: ["Attio_Id__c", "Name"] },
    ]);
  });

  it("reads errors without fields, several errors, and anything else as UNKNOWN", () => {
    expect(parseBulkErrors("ENTITY_IS_DELETED:entity is deleted: --")).toEqual([
      { statusCode: "ENTITY_IS_DELETED", message: "entity is deleted", fields: [] },
    ]);
    expect(parseBulkErrors("A_B:first:X -- C_D:second: --").map((e) => e.statusCode)).toEqual(["A_B", "C_D"]);
    expect(
      parseBulkErrors("INVALID_FIELD:Foreign key external ID: acc-404 not found for field x in entity y:"),
    ).toEqual([
      {
        statusCode: "INVALID_FIELD",
        message: "Foreign key external ID: acc-404 not found for field x in entity y",
        fields: [],
      },
    ]);
    // Text after the last colon that is no field list belongs to the message.
    expect(parseBulkErrors("FIELD_CUSTOM_VALIDATION_EXCEPTION:Check: amount too high --")[0]).toEqual({
      statusCode: "FIELD_CUSTOM_VALIDATION_EXCEPTION",
      message: "Check: amount too high",
      fields: [],
    });
    expect(parseBulkErrors("something went wrong")).toEqual([
      { statusCode: "UNKNOWN", message: "something went wrong", fields: [] },
    ]);
  });
});
