import { z } from "zod";
import { type ChangeType, ChangeTypeSchema } from "../../src/salesforce/cdc-schema.ts";

/**
 * A change event as the Pub/Sub API delivers it once Avro-decoded and its bitmaps turned into names:
 * every field of the object is present, unchanged and empty ones are null, dates are epoch ms.
 * (This is also the shape salesforce-pubsub-api-client hands to its callback.)
 */
export interface PubSubChangeEvent {
  channel: string;
  schemaId: string;
  /** Display form of the replay id (see replay-id.ts). */
  replayId: number | string;
  payload: Record<string, unknown>;
}

const Long = z.union([z.number(), z.bigint()]);

/** The decoded header, checked before it is trusted: Avro guarantees types, this guarantees meaning. */
const DecodedHeaderSchema = z.object({
  entityName: z.string().min(1),
  recordIds: z.array(z.string()),
  changeType: ChangeTypeSchema,
  changeOrigin: z.string().nullish(),
  transactionKey: z.string().min(1),
  sequenceNumber: z.number().int(),
  commitTimestamp: Long,
  commitNumber: Long.nullish(),
  commitUser: z.string().nullish(),
  changedFields: z.array(z.string()).default([]),
  nulledFields: z.array(z.string()).default([]),
  diffFields: z.array(z.string()).default([]),
});

/** The header of the Worker's relay contract (CometD form; commitTimestamp stays epoch ms). */
export interface ContractHeader {
  entityName: string;
  recordIds: string[];
  changeType: ChangeType;
  changeOrigin: string;
  transactionKey: string;
  sequenceNumber: number;
  commitTimestamp: number;
  commitNumber?: number | string;
  commitUser?: string;
  changedFields: string[];
  nulledFields: string[];
  diffFields: string[];
}

/** One element of `events` in the relay's POST body: Salesforce's CometD `data` object plus the channel. */
export interface ContractEvent {
  schema: string;
  channel: string;
  payload: { ChangeEventHeader: ContractHeader } & Record<string, unknown>;
  event: { replayId: number | string };
}

export class EventConversionError extends Error {
  override readonly name = "EventConversionError";
}

/**
 * Pub/Sub form -> the CometD JSON form the Worker accepts.
 *
 * CometD leaves out null and unchanged fields; Pub/Sub sends every field and nulls the unchanged
 * ones. So a null is kept only when the header says the field was changed or nulled (that null is
 * information: the user cleared the field), inside compound fields too. Non-null values are kept even
 * when not listed as changed: those are enrichment fields a custom channel adds on purpose.
 * Dates stay epoch milliseconds, as the contract asks; longs beyond 2^53 become decimal strings.
 */
export function toContractEvent(input: PubSubChangeEvent): ContractEvent {
  const { ChangeEventHeader: rawHeader, ...fields } = input.payload;
  const parsed = DecodedHeaderSchema.safeParse(rawHeader);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EventConversionError(
      `event ${String(input.replayId)} on ${input.channel} has an unusable ChangeEventHeader` +
        (issue ? ` (${issue.path.join(".") || "header"}: ${issue.message})` : ""),
    );
  }
  const decoded = parsed.data;
  const header: ContractHeader = {
    entityName: decoded.entityName,
    recordIds: decoded.recordIds,
    changeType: decoded.changeType,
    changeOrigin: decoded.changeOrigin ?? "",
    transactionKey: decoded.transactionKey,
    sequenceNumber: decoded.sequenceNumber,
    commitTimestamp: Number(decoded.commitTimestamp),
    changedFields: decoded.changedFields,
    nulledFields: decoded.nulledFields,
    diffFields: decoded.diffFields,
  };
  if (decoded.commitNumber !== undefined && decoded.commitNumber !== null) {
    header.commitNumber = exactNumberOrString(decoded.commitNumber);
  }
  if (decoded.commitUser) header.commitUser = decoded.commitUser;

  const meaningfulNulls = new Set([...decoded.changedFields, ...decoded.nulledFields, ...decoded.diffFields]);
  const payload: ContractEvent["payload"] = { ChangeEventHeader: header };
  for (const [name, value] of Object.entries(fields)) {
    const kept = keepValue(name, value, meaningfulNulls);
    if (kept !== DROP) payload[name] = kept;
  }
  return { schema: input.schemaId, channel: input.channel, payload, event: { replayId: input.replayId } };
}

const DROP = Symbol("drop");

function keepValue(path: string, value: unknown, meaningfulNulls: ReadonlySet<string>): unknown {
  if (value === null || value === undefined) return meaningfulNulls.has(path) ? null : DROP;
  if (typeof value === "bigint") return exactNumberOrString(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map((item) => jsonSafe(item));
  if (typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [name, inner] of Object.entries(value)) {
      const kept = keepValue(`${path}.${name}`, inner, meaningfulNulls);
      if (kept !== DROP) out[name] = kept;
    }
    // A compound field whose parts are all unchanged says nothing; one the user cleared is in nulledFields.
    if (Object.keys(out).length === 0) return meaningfulNulls.has(path) ? out : DROP;
    return out;
  }
  return value;
}

function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return exactNumberOrString(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonSafe(inner)]));
  }
  return value;
}

function exactNumberOrString(value: number | bigint): number | string {
  if (typeof value === "number") return value;
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}
