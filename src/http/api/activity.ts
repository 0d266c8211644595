import { type OpenAPIHono, z } from "@hono/zod-openapi";
import { failuresPerBucket, writesPerBucket, writesPerObject } from "../../store/activity.ts";
import { openDb } from "../../store/db.ts";
import { searchRecords } from "../../store/record-search.ts";
import type { AppEnv } from "../types.ts";
import { define, json } from "./common.ts";

const ActivityQuery = z.strictObject({
  hours: z.coerce.number().int().min(1).max(168).default(24).openapi({ description: "How far back (1-168 hours)" }),
  bucket: z.enum(["minute", "hour"]).default("hour").openapi({ description: "Width of each count" }),
});
const Direction = z.enum(["attio_to_sf", "sf_to_attio"]);
const ActivitySchema = z
  .object({
    since: z.string(),
    bucket: z.enum(["minute", "hour"]),
    writes: z.array(z.object({ bucket: z.string(), direction: Direction, n: z.number() })),
    failures: z.array(z.object({ bucket: z.string(), n: z.number() })),
    per_object: z.object({
      hour: z.array(z.object({ object: z.string().nullable(), direction: Direction, n: z.number() })),
      day: z.array(z.object({ object: z.string().nullable(), direction: Direction, n: z.number() })),
    }),
  })
  .openapi("Activity");

const SearchQuery = z.strictObject({
  q: z
    .string()
    .trim()
    .min(2)
    .max(200)
    .openapi({ description: "An Attio record id, a Salesforce Id, an email, a domain or a name" }),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
const FoundSchema = z.object({
  attio_object: z.string().nullable(),
  attio_record_id: z.string().nullable(),
  sf_object: z.string().nullable(),
  sf_record_id: z.string().nullable(),
  linked: z.boolean(),
  matched: z.enum(["id", "value"]),
  field: z.string().nullable().openapi({
    description:
      "For `value`: the field whose value matched (the Salesforce field, as the base and the audit trail key it)",
  }),
  last_seen: z.string().nullable(),
});

/** What the sync did over time, and finding a record it knows: the console's charts and search read these. */
export function activityRoutes(app: OpenAPIHono<AppEnv>) {
  define(
    app,
    {
      method: "get",
      path: "/activity",
      summary: "Writes each way and failures per minute or hour, and writes per object over the last hour and day",
      query: ActivityQuery,
      responses: { 200: json(ActivitySchema, "Counts from the audit trail and the failures") },
    },
    async (c, { query }) => {
      const db = openDb(c.env.DB);
      const now = Date.now();
      const since = new Date(now - query.hours * 3_600_000).toISOString();
      const [writes, failures, hour, day] = await Promise.all([
        writesPerBucket(db, since, query.bucket),
        failuresPerBucket(db, since, query.bucket),
        writesPerObject(db, new Date(now - 3_600_000).toISOString()),
        writesPerObject(db, new Date(now - 86_400_000).toISOString()),
      ]);
      return c.json({ since, bucket: query.bucket, writes, failures, per_object: { hour, day } }, 200);
    },
  );

  define(
    app,
    {
      method: "get",
      path: "/records",
      summary: "Find records the sync knows by an id on either side, an email, a domain or a name",
      description:
        "Ids are looked up in the linked pairs and the audit trail. Any other text (an email, a domain, a name: a case-insensitive substring) is searched in the values each linked pair last synced (its base), then in the values the audit trail holds (records the sync wrote or read but never linked, and earlier values). Values only, never field names. The CRMs are not queried.",
      query: SearchQuery,
      responses: { 200: json(z.object({ items: z.array(FoundSchema) }), "Matching records, newest first") },
    },
    async (c, { query }) => c.json({ items: await searchRecords(openDb(c.env.DB), query.q, query.limit) }, 200),
  );
}
