import { createHmac } from "node:crypto";
import type { Deliverer } from "../shared/delivery.ts";
import type { Faults } from "../shared/faults.ts";
import type { SeededRandom } from "../shared/random.ts";
import type { OrgSchema, SObjectDef } from "./schema.ts";
import { type Change, type Fields, parseSfDateTime } from "./store.ts";

/** A change event in the CometD JSON form (`data` of the Bayeux message). */
export interface ChangeEvent {
  schema: string;
  payload: Record<string, unknown> & { ChangeEventHeader: Record<string, unknown> };
  event: { replayId: number };
}

export interface RelayTarget {
  url: string;
  secret: string;
}

/**
 * Turns committed changes into change events (one transaction per API request) and POSTs them to
 * the relay target in the relay contract: `{"events": [...]}`, signed over `timestamp + "." + body`.
 */
export class ChangeDataCapture {
  readonly events: ChangeEvent[] = [];
  target: RelayTarget | null = null;
  private replayId = 0;
  private commitNumber = 10_832_042_834_000;

  /** `schema`: the org's objects, custom ones included (events of a custom object carry its fields). */
  constructor(
    private random: SeededRandom,
    private deliverer: Deliverer,
    private faults: Faults,
    private schema: OrgSchema,
    private clock: () => number = Date.now,
  ) {}

  /** Publishes the changes of one transaction; returns the events. */
  publish(changes: Change[], commitUser: string, changeOrigin: string): ChangeEvent[] {
    if (changes.length === 0) return [];
    const transactionKey = this.transactionKey();
    const commitTimestamp = Math.floor(this.clock() / 1000) * 1000;
    this.commitNumber += 1 + this.random.int(1000);
    const published = changes.map((change, index): ChangeEvent => {
      const def = this.schema.sobject(change.entity);
      const { values, changedFields } = def ? shape(def, change) : { values: {}, changedFields: [] };
      this.replayId += 1;
      return {
        schema: schemaId(change.entity, def?.fields.length ?? 0),
        payload: {
          ...values,
          ChangeEventHeader: {
            commitNumber: this.commitNumber,
            commitUser,
            sequenceNumber: index + 1,
            entityName: change.entity,
            changeType: change.type,
            changedFields,
            changeOrigin,
            transactionKey,
            commitTimestamp,
            recordIds: [change.id],
          },
        },
        event: { replayId: this.replayId },
      };
    });
    this.events.push(...published);
    if (this.events.length > 50_000) this.events.splice(0, this.events.length - 50_000);
    this.relay(published);
    return published;
  }

  since(replayId: number): ChangeEvent[] {
    return this.events.filter((event) => event.event.replayId > replayId);
  }

  private relay(events: ChangeEvent[]): void {
    const target = this.target;
    if (!target) return;
    const body = JSON.stringify({ events });
    this.deliverer.send(
      this.random.uuid(),
      target.url,
      body,
      (raw) => {
        // Each attempt is signed afresh: the receiver rejects timestamps more than 5 minutes old.
        const timestamp = String(Math.floor(this.clock() / 1000));
        const signature = createHmac("sha256", target.secret).update(`${timestamp}.${raw}`, "utf8").digest("hex");
        return { "x-relay-timestamp": timestamp, "x-relay-signature": `v1=${signature}` };
      },
      this.faults.forDelivery(),
    );
  }

  private transactionKey(): string {
    const hex = this.random.hex(32);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  }
}

/**
 * The body of a CometD change event: compound fields (Contact Name, addresses) are nested and named
 * `Compound.Component` in changedFields; datetimes are ISO UTC strings; only changed fields on UPDATE.
 */
function shape(def: SObjectDef, change: Change): { values: Fields; changedFields: string[] } {
  const values: Fields = {};
  const changedFields: string[] = [];
  if (change.type === "DELETE") return { values, changedFields };
  for (const [name, value] of Object.entries(change.values)) {
    const f = def.fields.find((candidate) => candidate.name === name);
    if (!f || f.type === "address" || (def.name === "Contact" && name === "Name")) continue;
    const shown =
      f.type === "datetime" && typeof value === "string" ? new Date(parseSfDateTime(value)).toISOString() : value;
    if (f.compound) {
      const compound = (values[f.compound.name] as Fields | undefined) ?? {};
      values[f.compound.name] = compound;
      compound[f.compound.component] = shown;
      if (change.type === "UPDATE") changedFields.push(`${f.compound.name}.${f.compound.component}`);
    } else {
      values[name] = shown;
      if (change.type === "UPDATE") changedFields.push(name);
    }
  }
  return { values, changedFields };
}

/**
 * A schema-id-looking string per entity and shape: like a real schema id, it changes when the
 * object's metadata does (a custom field added), and is stable otherwise.
 */
function schemaId(entity: string, fieldCount: number): string {
  return createHmac("sha256", "schema").update(`${entity}:${fieldCount}`).digest("base64url").slice(0, 22);
}

/**
 * `com/salesforce/api/<api>/<ver>[;client=<X>]`, from `Sforce-Call-Options: client=<X>`: `rest` for
 * REST writes, `bulkapi` for records written by a Bulk API 2.0 job.
 */
export function originOf(version: string, callOptions: string | undefined, api: "rest" | "bulkapi" = "rest"): string {
  const client = callOptions?.match(/(?:^|[,;]\s*)client=([^,;]+)/)?.[1]?.trim();
  return `com/salesforce/api/${api}/${version}${client ? `;client=${client}` : ""}`;
}
