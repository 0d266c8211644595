/**
 * Each answer of the management API as text. The fields a view reads are checked with zod first,
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

function read<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
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

const Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });

function paged(rows: string[], cursor: string | null, command: string): string[] {
  return cursor ? [...rows, `more: attio-sfdc ${command} --cursor ${cursor}`] : rows;
}

export function renderConflicts(body: unknown): Output {
  const p = read(
    Page(
      z.object({
        id: z.string(),
        mapping_id: z.string(),
        field: z.string(),
        base_value: z.unknown(),
        attio_value: z.unknown(),
        salesforce_value: z.unknown(),
        status: z.string(),
        created_at: z.string(),
      }),
    ),
    body,
    "GET /conflicts",
  );
  const rows = table(
    ["id", "field", "attio", "salesforce", "base", "status", "created"],
    p.items.map((c) => [c.id, c.field, c.attio_value, c.salesforce_value, c.base_value, c.status, c.created_at]),
    "(no conflicts)",
  );
  return { lines: paged(rows, p.next_cursor, "conflicts") };
}

const Ref = z.object({ object: z.string().nullable(), record_id: z.string().nullable() }).nullable();

export function renderDeletes(body: unknown): Output {
  const p = read(
    Page(
      z.object({
        id: z.string(),
        deleted_on: z.string(),
        status: z.string(),
        reason: z.string().nullable(),
        batch_id: z.string().nullable(),
        detected_at: z.string(),
        attio: Ref,
        salesforce: Ref,
      }),
    ),
    body,
    "GET /deletes",
  );
  const ref = (r: z.infer<typeof Ref>) => (r ? `${r.object}/${r.record_id}` : null);
  const rows = table(
    ["id", "deleted on", "attio", "salesforce", "status", "batch", "detected", "reason"],
    p.items.map((d) => [
      d.id,
      d.deleted_on,
      ref(d.attio),
      ref(d.salesforce),
      d.status,
      d.batch_id,
      d.detected_at,
      d.reason,
    ]),
    "(no deletes)",
  );
  return { lines: paged(rows, p.next_cursor, "deletes") };
}

export function renderMatches(body: unknown): Output {
  const p = read(
    Page(
      z.object({
        id: z.string(),
        side: z.string(),
        object: z.string(),
        record_id: z.string(),
        candidates: z.array(z.string()),
        status: z.string(),
        created_at: z.string(),
      }),
    ),
    body,
    "GET /matches",
  );
  const rows = table(
    ["id", "side", "object", "record", "candidates", "status", "created"],
    p.items.map((m) => [m.id, m.side, m.object, m.record_id, m.candidates.join(" "), m.status, m.created_at]),
    "(no ambiguous matches)",
  );
  return { lines: paged(rows, p.next_cursor, "matches") };
}

const ActionResult = z.object({
  action: z.string(),
  acted: z.number(),
  items: z.array(z.object({ kind: z.string(), id: z.string(), reason: z.string(), outcome: z.string() })),
  refused: z.array(z.object({ kind: z.string(), id: z.string(), code: z.string(), message: z.string() })),
  remaining: z.number().nullable(),
});

/** POST /issues/retry and /dismiss; exit code 1 when an item was refused. */
export function renderIssueAction(body: unknown): Output {
  const r = read(ActionResult, body, "the issue action");
  const lines = [
    `${r.action}: ${r.acted} acted, ${r.refused.length} refused${r.remaining === null ? "" : `, ${r.remaining} left in the group`}`,
    ...table(
      ["kind", "id", "reason", "outcome"],
      r.items.map((i) => [i.kind, i.id, i.reason, i.outcome]),
      "(nothing acted on)",
    ),
  ];
  if (r.refused.length > 0) {
    lines.push(
      "",
      "Refused",
      ...table(
        ["kind", "id", "code", "why"],
        r.refused.map((i) => [i.kind, i.id, i.code, i.message]),
      ),
    );
  }
  return r.refused.length > 0 ? { lines, exitCode: 1 } : { lines };
}

export function renderResolved(body: unknown): Output {
  const r = read(z.object({ id: z.string(), field: z.string(), value: Scalar }), body, "POST /conflicts/{id}");
  return { lines: [`conflict ${r.id} resolved: ${r.field} = ${cell(r.value)}, written to both sides`] };
}

export function renderDecided(body: unknown): Output {
  const d = read(z.object({ id: z.string(), status: z.string() }), body, "POST /deletes/{id}");
  return { lines: [`delete ${d.id} ${d.status}`] };
}

export function renderBatchDecided(body: unknown): Output {
  const b = read(
    z.object({
      batch_id: z.string(),
      decision: z.string(),
      decided: z.number(),
      refused: z.array(z.object({ id: z.string(), code: z.string(), message: z.string() })),
      remaining: z.number(),
    }),
    body,
    "POST /deletes/batches/{id}",
  );
  const lines = [
    `batch ${b.batch_id}: ${b.decided} ${b.decision === "approve" ? "approved" : "rejected"}, ${b.remaining} still pending`,
  ];
  if (b.refused.length > 0) {
    lines.push(
      "",
      "Refused",
      ...table(
        ["id", "code", "why"],
        b.refused.map((r) => [r.id, r.code, r.message]),
      ),
    );
  }
  return b.refused.length > 0 ? { lines, exitCode: 1 } : { lines };
}

export function renderLinked(body: unknown): Output {
  const l = read(
    z.object({ id: z.string(), attio_record_id: z.string(), salesforce_record_id: z.string() }),
    body,
    "POST /matches/{id}",
  );
  return { lines: [`match ${l.id}: attio ${l.attio_record_id} linked to salesforce ${l.salesforce_record_id}`] };
}

/** The document itself, so that `config get > config.toml` round-trips through `config put`. */
export function renderConfig(body: unknown): Output {
  const c = read(z.object({ version: z.number(), toml: z.string() }), body, "GET /config");
  if (c.version === 0) return { lines: ["# no configuration stored: the defaults are in force"] };
  return { lines: [`# configuration version ${c.version}`, c.toml.replace(/\n$/, "")] };
}

const Problem = z.object({ path: z.string(), line: z.number().optional(), message: z.string() });
const Report = z.object({ ok: z.boolean(), problems: z.array(Problem) });

function problems(list: z.infer<typeof Problem>[]): string[] {
  return table(
    ["path", "line", "problem"],
    list.map((p) => [p.path, p.line, p.message]),
  );
}

export function renderValidation(body: unknown): Output {
  const r = read(Report, body, "POST /validate");
  if (r.ok) return { lines: ["valid: both CRMs have every field the document maps"] };
  return { lines: [`invalid: ${r.problems.length} problem(s)`, ...problems(r.problems)], exitCode: 1 };
}

export function renderConfigStored(body: unknown): Output {
  const s = read(z.object({ version: z.number() }), body, "PUT /config");
  return { lines: [`stored as version ${s.version}; in force from the next change (no redeploy)`] };
}

const DoctorBody = z.object({
  status: z.enum(["pass", "warn", "fail"]),
  worker_url: z.string(),
  checks: z.array(z.object({ id: z.string(), status: z.string(), message: z.string(), fix: z.string().optional() })),
});

/** Exit code 1 when a check fails (warnings pass), as `npm run doctor` does. */
export function renderDoctor(body: unknown): Output {
  const d = read(DoctorBody, body, "GET /doctor");
  const lines = [`${d.status.toUpperCase()}  ${d.worker_url}`, ""];
  // Not cut: what a check found is the point of running it.
  const rows = d.checks.map((c) => [c.status.toUpperCase(), c.id, c.message]);
  lines.push(...table(["status", "check", "found"], rows, "(no checks)", Number.POSITIVE_INFINITY));
  const fixes = d.checks.filter((c) => c.fix && c.status !== "pass");
  if (fixes.length > 0) lines.push("", "To fix", ...fixes.map((c) => `  ${c.id}: ${c.fix}`));
  return d.status === "fail" ? { lines, exitCode: 1 } : { lines };
}
