/**
 * Each answer of the management API as text (this file: status, modes, jobs, issues, explain;
 * render-work.ts: the lists and decisions, configuration and doctor). The fields a view reads are checked with zod first,
 * so an answer of another shape (an older Worker) is named rather than printed as `undefined`.
 * Pure: JSON in, lines out.
 */
import { z } from "zod";
import { CliError } from "./client.ts";
import { cell, fields, table } from "./format.ts";

/** Lines to print and, when the answer itself reports a failure (doctor, validate), exit code 1. */
export interface Output {
  lines: string[];
  exitCode?: number;
}

export function read<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const at = issue?.path.length ? issue.path.join(".") : "(answer)";
  throw new CliError(`unexpected answer to ${what}: ${at}: ${issue?.message ?? "invalid"}`, 1);
}

const Mode = z.enum(["setup", "running", "paused"]);
const Nullable = <T extends z.ZodType>(schema: T) => schema.nullable().optional();

const StatusBody = z.object({
  healthy: z.boolean(),
  mode: Mode.nullable(),
  mode_since: z.string().nullable(),
  mode_changed_by: z.string().nullable(),
  held_changes: z.number().nullable(),
  version: z.string(),
  direction: z.string(),
  open_failures: z.number().nullable(),
  open_warnings: z.number().nullable(),
  open_conflicts: z.number().nullable(),
  pending_deletes: z.number().nullable(),
  ambiguous_matches: z.number().nullable(),
  problems: z.array(z.object({ code: z.string(), affects: z.string(), message: z.string(), action: z.string() })),
  mappings: z
    .array(
      z.object({
        name: z.string(),
        attio_object: z.string(),
        salesforce_object: z.string(),
        linked: z.number(),
        open_conflicts: z.number(),
        open_warnings: z.number(),
        pending_deletes: z.number(),
        ambiguous_matches: z.number(),
        last_write: z.object({ attio_to_sf: z.string().nullable(), sf_to_attio: z.string().nullable() }),
      }),
    )
    .nullable(),
});

export function renderStatus(body: unknown): Output {
  const s = read(StatusBody, body, "GET /status");
  const since = s.mode_since ? ` since ${s.mode_since}${s.mode_changed_by ? ` (${s.mode_changed_by})` : ""}` : "";
  return {
    lines: [
      ...fields([
        ["mode", `${s.mode ?? "unknown"}${since}`],
        ["healthy", s.healthy ? "yes" : `no (${s.problems.length} problem${s.problems.length === 1 ? "" : "s"})`],
        ["version", s.version],
        ["direction", s.direction],
        ["held changes", s.held_changes],
        ["open failures", s.open_failures],
        ["open warnings", s.open_warnings],
        ["open conflicts", s.open_conflicts],
        ["pending deletes", s.pending_deletes],
        ["ambiguous matches", s.ambiguous_matches],
      ]),
      "",
      "Problems",
      ...(s.problems.length === 0
        ? ["(none)"]
        : s.problems.flatMap((p) => [`- ${p.code} (${p.affects}): ${p.message}`, `  To do: ${p.action}`])),
      "",
      "Mappings",
      ...table(
        ["name", "attio", "salesforce", "linked", "conflicts", "warnings", "deletes", "matches", "last write"],
        (s.mappings ?? []).map((m) => [
          m.name,
          m.attio_object,
          m.salesforce_object,
          m.linked,
          m.open_conflicts,
          m.open_warnings,
          m.pending_deletes,
          m.ambiguous_matches,
          latest(m.last_write.attio_to_sf, m.last_write.sf_to_attio),
        ]),
        s.mappings === null ? "(unknown: the configuration could not be read)" : "(none enabled)",
      ),
    ],
  };
}

function latest(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  return a > b ? a : b;
}

const Delivery = z.object({ state: z.string(), sent: z.number(), left: z.number(), error: z.string().optional() });
const ModeBody = z.object({
  mode: Mode,
  previous_mode: Mode,
  changed: z.boolean(),
  since: z.string(),
  changed_by: z.string(),
  delivery: Nullable(Delivery),
  first_catch_up: Nullable(
    z.array(
      z.object({
        mapping: z.string(),
        salesforce: z.union([
          z.object({ ok: z.literal(true), object: z.string(), records: z.number(), changed_since: z.string() }),
          z.object({ ok: z.literal(false), error: z.string() }),
        ]),
        attio: z.union([
          z.object({ ok: z.literal(true), object: z.string(), records: z.number(), exact: z.boolean() }),
          z.object({ ok: z.literal(false), error: z.string() }),
        ]),
      }),
    ),
  ),
});

/** POST /start, /pause, /resume. */
export function renderMode(body: unknown): Output {
  const m = read(ModeBody, body, "the mode change");
  const pairs: [string, unknown][] = [
    ["since", m.since],
    ["changed by", m.changed_by],
  ];
  if (m.delivery) {
    const d = m.delivery;
    const text =
      d.state === "nothing_held"
        ? "nothing was held"
        : d.state === "sent"
          ? `${d.sent} held change(s) sent, ${d.left} left`
          : `waiting: ${d.left} held (${d.error ?? "an API does not answer"})`;
    pairs.push(["held changes", text]);
  }
  const lines = [
    m.changed ? `${m.previous_mode} -> ${m.mode}` : `already ${m.mode} (nothing changed)`,
    ...fields(pairs),
  ];
  if (m.first_catch_up) {
    lines.push(
      "",
      "First catch-up",
      ...table(
        ["mapping", "salesforce", "attio"],
        m.first_catch_up.map((p) => [
          p.mapping,
          p.salesforce.ok
            ? `${p.salesforce.records} ${p.salesforce.object} changed since ${p.salesforce.changed_since}`
            : `unknown: ${p.salesforce.error}`,
          p.attio.ok
            ? `${p.attio.exact ? "" : ">= "}${p.attio.records} ${p.attio.object} to compare`
            : `unknown: ${p.attio.error}`,
        ]),
      ),
    );
  }
  return { lines };
}

export function renderJobCreated(body: unknown): Output {
  const j = read(z.object({ id: z.string(), state: z.string(), mode: Mode }), body, "POST /sync");
  const waits = j.mode === "paused" ? " (the deployment is paused: the job waits until resume)" : "";
  return { lines: [`job ${j.id} ${j.state}${waits}`, `follow it: attio-sfdc jobs show ${j.id}`] };
}

const Job = z.object({
  id: z.string(),
  state: z.string(),
  mode: z.string(),
  dry_run: z.boolean(),
  enqueued: z.number(),
  counts: z.record(z.string(), z.number()),
  errors: z.array(z.unknown()),
  plan: z.array(z.unknown()).optional(),
});

/** Non-zero counts as `synced=3 skipped=1`. */
function counts(c: Record<string, number>): string {
  return (
    Object.entries(c)
      .filter(([, n]) => n !== 0)
      .map(([k, n]) => `${k}=${n}`)
      .join(" ") || "-"
  );
}

export function renderJobs(body: unknown): Output {
  const { items } = read(z.object({ items: z.array(Job) }), body, "GET /sync");
  return {
    lines: table(
      ["id", "state", "mode", "dry run", "enqueued", "counts"],
      items.map((j) => [j.id, j.state, j.mode, j.dry_run ? "yes" : "no", j.enqueued, counts(j.counts)]),
      "(no jobs yet)",
    ),
  };
}

const PlanItem = z.object({
  mapping: z.string(),
  side: z.string(),
  record_id: z.string(),
  action: z.string(),
  attio_record_id: z.string().nullable().optional(),
  salesforce_record_id: z.string().nullable().optional(),
  to_salesforce: z.record(z.string(), z.unknown()).optional(),
  to_attio: z.record(z.string(), z.unknown()).optional(),
  conflicts: z.array(z.unknown()).optional(),
});

/** A plan row: the record, what it would be linked to (or `new`) and which fields would be written. */
function planRow(item: z.infer<typeof PlanItem>): unknown[] {
  const counterpart = item.side === "attio" ? item.salesforce_record_id : item.attio_record_id;
  const written = (values: Record<string, unknown> | undefined, side: string) =>
    values && Object.keys(values).length > 0 ? `${side}: ${Object.keys(values).join(", ")}` : "";
  const writes = [
    written(item.to_salesforce, "salesforce"),
    written(item.to_attio, "attio"),
    item.conflicts?.length ? `${item.conflicts.length} conflict(s)` : "",
  ].filter(Boolean);
  // Only a write's plan names both records; other actions (skip, wait) carry no detail.
  const known = item.attio_record_id !== undefined || item.salesforce_record_id !== undefined;
  return [
    item.mapping,
    item.side,
    item.record_id,
    item.action,
    known ? (counterpart ?? "new") : null,
    writes.join("; "),
  ];
}

export function renderJob(body: unknown): Output {
  const j = read(Job, body, "GET /sync/{id}");
  const lines = fields([
    ["job", j.id],
    ["state", j.state],
    ["mode", `${j.mode}${j.dry_run ? " (dry run)" : ""}`],
    ["enqueued", j.enqueued],
    ["counts", counts(j.counts)],
    ["errors", j.errors.length],
  ]);
  for (const error of j.errors.slice(0, 10)) lines.push(`  ${cell(error)}`);
  if (j.plan) {
    const plan = j.plan.map((item) => read(PlanItem, item, "a job's plan"));
    lines.push(
      "",
      "Plan (what each record would get)",
      ...table(
        ["mapping", "side", "record", "action", "counterpart", "would write"],
        plan.map(planRow),
        "(nothing planned yet)",
      ),
    );
  }
  return { lines };
}

export function renderCancelled(body: unknown): Output {
  const j = read(z.object({ id: z.string(), state: z.string() }), body, "DELETE /sync/{id}");
  return { lines: [`job ${j.id} ${j.state}`] };
}

const IssuesBody = z.object({
  total: z.number(),
  groups: z.array(
    z.object({
      reason: z.string(),
      kind: z.string(),
      count: z.number(),
      explanation: z.string(),
      action: z.string(),
      items: z.array(
        z.object({
          kind: z.string(),
          id: z.string(),
          summary: z.string(),
          since: z.string(),
          records: z.array(z.object({ side: z.string(), object: z.string().nullable(), record_id: z.string() })),
        }),
      ),
      next_cursor: z.string().nullable(),
    }),
  ),
});

export function renderIssues(body: unknown): Output {
  const i = read(IssuesBody, body, "GET /issues");
  const lines = [`${i.total} open issue${i.total === 1 ? "" : "s"}`];
  for (const g of i.groups) {
    lines.push("", `${g.reason} (${g.count} ${g.kind})`, `  ${g.explanation}`, `  To do: ${g.action}`);
    lines.push(
      ...table(
        ["kind", "id", "records", "since", "summary"],
        g.items.map((item) => [
          item.kind,
          item.id,
          item.records.map((r) => `${r.side}:${r.object ?? "?"}/${r.record_id}`).join(" "),
          item.since,
          item.summary,
        ]),
      ).map((line) => `  ${line}`),
    );
    if (g.next_cursor) lines.push(`  more: attio-sfdc issues --reason ${g.reason} --cursor ${g.next_cursor}`);
  }
  return { lines };
}

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]).optional();
const ExplainBody = z.object({
  in_sync: z.boolean(),
  reason: z.string(),
  meaning: z.string(),
  next_step: z.string(),
  mode: z.string(),
  mapping: z.string().nullable(),
  record: z.object({ side: z.string(), object: z.string(), record_id: z.string(), exists: z.boolean() }),
  counterpart: z
    .object({ side: z.string(), object: z.string(), record_id: z.string(), linked: z.boolean(), exists: z.boolean() })
    .nullable(),
  fields: z.array(
    z.object({
      field: z.string(),
      attribute: z.string(),
      attio: Scalar,
      salesforce: Scalar,
      in_sync: z.boolean(),
      would: z.string(),
    }),
  ),
  open_items: z.record(z.string(), z.array(z.unknown())),
});

export function renderExplain(body: unknown): Output {
  const e = read(ExplainBody, body, "GET /explain");
  const record = (r: { side: string; object: string; record_id: string; exists: boolean }) =>
    `${r.side} ${r.object} ${r.record_id}${r.exists ? "" : " (does not exist)"}`;
  const open = Object.entries(e.open_items)
    .filter(([, items]) => items.length > 0)
    .map(([kind, items]) => `${kind}=${items.length}`);
  return {
    lines: [
      ...fields([
        ["in sync", e.in_sync ? "yes" : "no"],
        ["reason", e.reason],
        ["meaning", e.meaning],
        ["next step", e.next_step],
        ["mode", e.mode],
        ["mapping", e.mapping],
        ["record", record(e.record)],
        [
          "counterpart",
          e.counterpart ? `${record(e.counterpart)}${e.counterpart.linked ? "" : " (would be linked)"}` : null,
        ],
        ["open items", open.join(" ") || "none"],
      ]),
      "",
      ...table(
        ["field", "attribute", "attio", "salesforce", "in sync", "would"],
        e.fields.map((f) => [f.field, f.attribute, f.attio, f.salesforce, f.in_sync ? "yes" : "no", f.would]),
        "(no mapped fields)",
      ),
    ],
  };
}
