import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeAvro, encodeAvro, parseAvroSchema, recordFields } from "../../../scripts/relay/avro.ts";
import { EventConversionError, toContractEvent } from "../../../scripts/relay/convert.ts";
import { decodeFieldBitmaps } from "../../../scripts/relay/field-bitmap.ts";
import { RelayBodySchema } from "../../../src/salesforce/cdc-schema.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../fixtures/relay/${name}`, import.meta.url), "utf8")) as {
    schemaId: string;
    replayId: number;
    payload: Record<string, unknown>;
  };
const channel = "/data/AccountChangeEvent";
const convert = (name: string) => {
  const { schemaId, replayId, payload } = fixture(name);
  return toContractEvent({ channel, schemaId, replayId, payload });
};

describe("toContractEvent: Pub/Sub decoded form -> the Worker's CometD JSON form", () => {
  it("UPDATE keeps changed values, nulls the user cleared, compound parts that changed, and enrichment values", () => {
    expect(convert("pubsub-account-update.json")).toEqual(fixture("cometd-account-update.json"));
  });

  it("CREATE keeps every populated field and drops the empty ones (as CometD does)", () => {
    expect(convert("pubsub-account-create.json")).toEqual(fixture("cometd-account-create.json"));
  });

  it("DELETE carries the header only", () => {
    expect(convert("pubsub-account-delete.json")).toEqual(fixture("cometd-account-delete.json"));
  });

  it("GAP events are forwarded with their header and record ids, no fields", () => {
    const event = convert("pubsub-account-gap-update.json");
    expect(Object.keys(event.payload)).toEqual(["ChangeEventHeader"]);
    expect(event.payload.ChangeEventHeader).toMatchObject({
      changeType: "GAP_UPDATE",
      recordIds: ["001Hs00003AbCdEIAV", "001Hs00003AbCdFIAV"],
    });
  });

  it("produces bodies the Worker's own schema accepts", () => {
    const events = ["update", "create", "delete", "gap-update"].map((kind) => convert(`pubsub-account-${kind}.json`));
    const parsed = RelayBodySchema.safeParse(JSON.parse(JSON.stringify({ events })));
    expect(parsed.success, parsed.success ? "" : JSON.stringify(parsed.error.issues)).toBe(true);
  });

  it("turns a commitNumber beyond 2^53 into an exact decimal string, and keeps commitTimestamp epoch ms", () => {
    const { schemaId, payload } = fixture("pubsub-account-update.json");
    const header = {
      ...(payload["ChangeEventHeader"] as object),
      commitNumber: 2n ** 60n + 7n,
      commitTimestamp: 1733486400000,
    };
    const event = toContractEvent({
      channel,
      schemaId,
      replayId: "9007199254740993",
      payload: { ...payload, ChangeEventHeader: header },
    });
    expect(event.payload.ChangeEventHeader.commitNumber).toBe("1152921504606846983");
    expect(event.payload.ChangeEventHeader.commitTimestamp).toBe(1733486400000);
    expect(event.event.replayId).toBe("9007199254740993");
  });

  it("refuses an event whose header is unusable instead of passing garbage on", () => {
    expect(() =>
      toContractEvent({ channel, schemaId: "s", replayId: 1, payload: { ChangeEventHeader: { entityName: "" } } }),
    ).toThrow(EventConversionError);
  });
});

describe("Avro + bitmaps: the wire form decodes to the same event", () => {
  const schemaJson = readFileSync(
    new URL("../../../fixtures/relay/account-change-event.avsc.json", import.meta.url),
    "utf8",
  );
  const type = parseAvroSchema(schemaJson);
  const fields = recordFields(type);

  it("decodes hand-computed bitmaps to names, compound parts as Parent.Child", () => {
    expect(decodeFieldBitmaps(fields, ["0x8040", "4-0x6"])).toEqual([
      "Fax",
      "LastModifiedDate",
      "BillingAddress.City",
      "BillingAddress.State",
    ]);
    expect(decodeFieldBitmaps(fields, ["0x40"])).toEqual(["Fax"]);
    expect(decodeFieldBitmaps(fields, [])).toEqual([]);
  });

  it("accepts lower-case hex and rejects bitmaps that point past the schema", () => {
    expect(
      decodeFieldBitmaps(
        fields,
        ["0x8040", "4-0x6"].map((b) => b.toLowerCase()),
      ),
    ).toHaveLength(4);
    expect(() => decodeFieldBitmaps(fields, ["0x80000000"])).toThrow(/beyond the 18 fields/);
    expect(() => decodeFieldBitmaps(fields, ["99-0x1"])).toThrow(/does not have/);
  });

  it("Avro bytes of the wire fixture -> decoded -> converted equals the expected CometD event", () => {
    const wire = fixture("pubsub-account-update.wire.json");
    const bytes = encodeAvro(type, wire.payload);
    const decoded = decodeAvro(type, bytes);
    const header = decoded["ChangeEventHeader"] as Record<string, string[]>;
    for (const key of ["changedFields", "nulledFields", "diffFields"])
      header[key] = decodeFieldBitmaps(fields, header[key] ?? []);
    const event = toContractEvent({ channel, schemaId: wire.schemaId, replayId: wire.replayId, payload: decoded });
    expect(event).toEqual(fixture("cometd-account-update.json"));
  });
});
