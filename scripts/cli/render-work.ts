/**
 * The answers of the operator's lists (conflicts, deletes, matches), decisions, configuration
 * and doctor as text; render.ts has the rest and the shared reading. Pure: JSON in, lines out.
 */
import { z } from "zod";
import { cell, table } from "./format.ts";
import { type Output, read } from "./render.ts";

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]).optional();

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
