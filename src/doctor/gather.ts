import type { AttioClient } from "../attio/client.ts";
import { parseSyncConfig } from "../config/config-toml.ts";
import { resolveMappings } from "../config/effective.ts";
import { toSyncError } from "../lib/errors.ts";
import { orgCapabilities, type SObjectDescribe, SObjectDescribeSchema } from "../mapping/schema-salesforce.ts";
import type { ObjectMapping } from "../mapping/types.ts";
import type { SalesforceClient } from "../salesforce/client.ts";
import { getToken, invalidateToken } from "../salesforce/token.ts";
import type { DoctorFacts, MappedObject, Read } from "./checks.ts";

/**
 * Reads what the doctor's rules (checks.ts) judge, from Attio and Salesforce: the same for the
 * deployed route and `npm run doctor`. Every read that fails becomes a fact (its error), never a
 * thrown error, so one broken dependency still leaves the other checks answering.
 */
export interface DoctorSources {
  attio: AttioClient;
  salesforce: SalesforceClient;
  /** SALESFORCE_API_VERSION. */
  apiVersion: string;
  /** SYNC_DIRECTION: with `sf_to_attio`, nothing is written to Salesforce. */
  direction: string;
  /** The stored config.toml (empty: the defaults). */
  configToml: string;
  /** The Worker's base URL (e.g. https://attio-sfdc.example.workers.dev), when known. */
  workerUrl: string | null;
}

async function read<T>(work: () => Promise<T>): Promise<Read<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    const error = toSyncError(err);
    return { ok: false, error: { code: error.code, message: error.message } };
  }
}

/**
 * The entities selected for Change Data Capture, by the Tooling API ("Get the Number of Selected
 * Entities", Change Data Capture Developer Guide). Members of the standard channel, the one Setup →
 * Change Data Capture edits and the relay subscribes to, are named `ChangeEvents_<event name>`.
 */
const CDC_SELECTION_SOQL = "SELECT DeveloperName, SelectedEntity FROM PlatformEventChannelMember";
const STANDARD_CHANNEL_PREFIX = "ChangeEvents_";

export async function gatherRemoteFacts(sources: DoctorSources, now: Date): Promise<Omit<DoctorFacts, "worker">> {
  const { attio, salesforce } = sources;
  const self = await read(async () => {
    const answer = await attio.self();
    return { active: answer.active, scope: answer.scope ?? null };
  });
  const webhooks =
    self.ok && self.value.active
      ? await read(async () =>
          (await attio.listWebhooks()).map((w) => ({
            target: w.target_url,
            status: w.status,
            events: w.subscriptions.map((s) => s.event_type),
          })),
        )
      : null;
  const token = await read(async () => {
    // A token cached by this isolate proves nothing about the credentials now: ask for a new one.
    invalidateToken(salesforce.tokenSettings());
    await getToken(salesforce.tokenSettings());
    return null;
  });
  const salesforceFacts: DoctorFacts["salesforce"] = {
    token,
    apiVersion: { wanted: sources.apiVersion, available: null },
    objects: [],
    cdc: null,
  };
  if (token.ok) {
    salesforceFacts.apiVersion.available = await read(() => salesforce.apiVersions());
    salesforceFacts.objects = await mappedObjects(sources);
    salesforceFacts.cdc = await read(async () =>
      (await salesforce.toolingQuery(CDC_SELECTION_SOQL))
        .filter((row) => String(row["DeveloperName"]).startsWith(STANDARD_CHANNEL_PREFIX))
        .map((row) => String(row["SelectedEntity"])),
    );
  }
  return {
    now,
    attio: {
      self,
      webhooks,
      expectedTarget: sources.workerUrl ? `${sources.workerUrl.replace(/\/+$/, "")}/webhooks/attio` : null,
    },
    salesforce: salesforceFacts,
  };
}

/** Each enabled mapping's Salesforce object, described, with the fields it writes and reads. */
async function mappedObjects(sources: DoctorSources): Promise<MappedObject[]> {
  const config = parseSyncConfig(sources.configToml);
  // The objects first (they do not depend on the org), then the mappings as the org's fields shape them.
  const objects = [
    ...new Set(
      resolveMappings(config)
        .filter((m) => m.enabled)
        .map((m) => m.salesforce_object),
    ),
  ];
  const described = new Map<string, Read<SObjectDescribe>>();
  for (const object of objects) {
    described.set(
      object,
      await read(async () => SObjectDescribeSchema.parse(await sources.salesforce.describe(object))),
    );
  }
  const describes = Object.fromEntries(
    [...described].flatMap(([object, r]) => (r.ok ? [[object, r.value] as const] : [])),
  );
  const mappings = resolveMappings(config, orgCapabilities(describes)).filter((m) => m.enabled);
  return mappings.map((mapping) =>
    toMappedObject(mapping, described.get(mapping.salesforce_object), sources.direction),
  );
}

function toMappedObject(
  mapping: ObjectMapping,
  describe: Read<SObjectDescribe> | undefined,
  direction: string,
): MappedObject {
  const writesToSalesforce = !mapping.read_only && direction !== "sf_to_attio";
  const writes: string[] = [];
  const reads: string[] = [];
  for (const field of mapping.fields) {
    const list = writesToSalesforce && field.direction !== "sf_to_attio" ? writes : reads;
    if (!list.includes(field.salesforce)) list.push(field.salesforce);
  }
  const configured = mapping.salesforce_external_id_field;
  return {
    mapping: mapping.name,
    object: mapping.salesforce_object,
    readOnly: !writesToSalesforce,
    writes,
    reads: reads.filter((name) => !writes.includes(name)),
    externalIdField: configured ?? "Attio_Record_Id__c",
    externalIdConfigured: configured !== undefined && configured !== "Attio_Record_Id__c",
    describe: describe?.ok
      ? {
          ok: true,
          value: {
            createable: describe.value.createable ?? true,
            updateable: describe.value.updateable ?? true,
            fields: describe.value.fields.map((f) => ({
              name: f.name,
              createable: f.createable,
              updateable: f.updateable,
              externalId: f.externalId,
            })),
          },
        }
      : (describe ?? { ok: false, error: { code: "internal", message: "not described" } }),
  };
}
