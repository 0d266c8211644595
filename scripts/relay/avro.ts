import avro from "avsc";

/**
 * Avro `long` as a JS number while it is exact, and as a bigint beyond 2^53: `commitNumber` (the
 * system change number) can exceed Number.MAX_SAFE_INTEGER, and a silently rounded value would be
 * worse than a bigint the converter turns into a decimal string.
 */
const longType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer): number | bigint => {
    const value = buf.readBigInt64LE();
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  },
  toBuffer: (value: number | bigint): Buffer => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(value));
    return buf;
  },
  fromJSON: (value: number | string): number | bigint => (typeof value === "number" ? value : BigInt(value)),
  toJSON: (value: number | bigint): number => Number(value),
  isValid: (value: unknown): boolean =>
    (typeof value === "number" && Number.isInteger(value)) || typeof value === "bigint",
  compare: (a: number | bigint, b: number | bigint): number => (a === b ? 0 : a < b ? -1 : 1),
});

export type AvroType = avro.Type;

/**
 * Parses the schema JSON that GetSchema returns. Unions are unwrapped (`["null","string"]` decodes
 * to `null` or a plain string), which is the shape the converter and the Worker expect.
 */
export function parseAvroSchema(schemaJson: string): AvroType {
  return avro.Type.forSchema(JSON.parse(schemaJson) as avro.Schema, {
    registry: { long: longType },
    wrapUnions: false,
  });
}

/** The top-level fields of a record schema, in declaration order (the order the bitmaps index). */
export interface SchemaField {
  name: string;
  /** Child field names when the field is a record, or a union of null and a record (compound fields). */
  children: string[];
}

export function recordFields(type: AvroType): SchemaField[] {
  if (!(type instanceof avro.types.RecordType)) throw new Error(`expected an Avro record schema, got ${type.typeName}`);
  return type.fields.map((field) => ({ name: field.name, children: childFieldNames(field.type) }));
}

function childFieldNames(type: AvroType): string[] {
  if (type instanceof avro.types.RecordType) return type.fields.map((field) => field.name);
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    for (const branch of type.types) {
      if (branch instanceof avro.types.RecordType) return branch.fields.map((field) => field.name);
    }
  }
  return [];
}

/** Decodes an event payload; the result is a plain object (record class instances are copied away). */
export function decodeAvro(type: AvroType, payload: Buffer): Record<string, unknown> {
  const value: unknown = type.fromBuffer(payload);
  return toPlain(value) as Record<string, unknown>;
}

/** Encodes a value (used by tests and the local fake Pub/Sub server to produce real Avro bytes). */
export function encodeAvro(type: AvroType, value: unknown): Buffer {
  return type.toBuffer(value);
}

function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(toPlain);
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) out[key] = toPlain(inner);
  return out;
}
