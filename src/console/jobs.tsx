/** @jsxImportSource hono/jsx */

import { COUNT_KEYS } from "../plan/outcome.ts";
import { apiError } from "./api-client.ts";
import type { Session } from "./context.ts";
import { ActionButton, Bar, Csrf, Page, show } from "./layout.tsx";
import { behind, type Status } from "./overview.tsx";

export interface JobReport {
  id: string;
  state: "queued" | "running" | "done" | "failed" | "cancelled";
  mode: string;
  dry_run: boolean;
  params?: { objects?: string[]; direction?: string };
  progress: Record<string, unknown>;
  enqueued: number;
  counts: Record<string, number>;
  errors: unknown[];
  created_at?: string;
  updated_at?: string;
  plan?: PlanEntry[];
}
type PlanEntry = Record<string, unknown> & { mapping: string; side: string; record_id: string; action: string };

/** Seconds left at the rate so far, or undefined while there is nothing to go by. */
export function etaSeconds(job: JobReport, now: number): number | undefined {
  const done = job.counts["processed"] ?? 0;
  const started = job.created_at ? Date.parse(job.created_at) : Number.NaN;
  if (job.state !== "running" || done === 0 || !(job.enqueued > done) || Number.isNaN(started)) return undefined;
  const rate = done / Math.max(1, now - started);
  return Math.round((job.enqueued - done) / rate / 1000);
}

function JobProgress(props: { job: JobReport; now: number }) {
  const { job } = props;
  const processed = job.counts["processed"] ?? 0;
  const eta = etaSeconds(job, props.now);
  return (
    <div>
      <Bar value={processed} max={Math.max(job.enqueued, 1)} label={`Job ${job.id.slice(0, 8)} progress`} />
      <div class="muted">
        {processed} of {job.enqueued} records
        {job.progress["enumerated"] === false ? " (still listing)" : ""}
        {eta !== undefined ? `; about ${behind(eta * 1000)} left` : ""}
      </div>
    </div>
  );
}

export async function jobsPage(s: Session): Promise<Response> {
  const [jobs, status] = await Promise.all([
    s.api<{ items: JobReport[] }>("GET", "/sync?limit=20"),
    s.api<Status>("GET", "/status"),
  ]);
  const mappings = status.status === 200 ? (status.body.mappings ?? []).map((m) => m.name) : [];
  const now = Date.now();
  const running = jobs.body?.items?.some((j) => j.state === "running" || j.state === "queued") ?? false;
  return s.c.html(
    <Page title="Jobs" section="jobs" csrf={s.csrf} flash={s.flash} refresh={running ? 5 : undefined}>
      <section aria-labelledby="start-job">
        <h2 id="start-job">Start a job</h2>
        <form method="post" action="/console/jobs" class="card">
          <Csrf token={s.csrf} />
          <fieldset>
            <legend>Objects (none checked: every enabled mapping)</legend>
            {mappings.map((name) => (
              <label style="font-weight:400;margin-right:14px">
                <input type="checkbox" name="objects" value={name} /> {name}
              </label>
            ))}
          </fieldset>
          <div class="grid">
            <div class="field">
              <label for="job-mode">Mode</label>
              <select id="job-mode" name="mode">
                <option value="full">full: every record</option>
                <option value="incremental">incremental: Salesforce records changed in the last 24 hours</option>
              </select>
            </div>
            <div class="field">
              <label for="job-direction">Records listed from</label>
              <select id="job-direction" name="direction">
                <option value="both">both sides</option>
                <option value="attio_to_sf">Attio</option>
                <option value="sf_to_attio">Salesforce</option>
              </select>
            </div>
          </div>
          <p>
            <label style="font-weight:400">
              <input type="checkbox" name="dry_run" value="true" checked /> Dry run: plan only, write nothing
            </label>
          </p>
          <button type="submit">Start job</button>
        </form>
      </section>
      <section aria-labelledby="job-list">
        <h2 id="job-list">Recent jobs</h2>
        {jobs.status !== 200 ? (
          <p class="notice error">{apiError(jobs)}</p>
        ) : jobs.body.items.length === 0 ? (
          <p>No job has run yet.</p>
        ) : (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">State</th>
                  <th scope="col">Progress</th>
                  <th scope="col">Counts</th>
                  <th scope="col">Action</th>
                </tr>
              </thead>
              <tbody>
                {jobs.body.items.map((job) => (
                  <tr data-job={job.id}>
                    <td>
                      <a href={`/console/jobs/${job.id}`}>{job.id.slice(0, 8)}</a>
                      <div class="muted">
                        {job.mode}
                        {job.dry_run ? ", dry run" : ""} · {show(job.params?.objects?.join(", ") ?? "all")} ·{" "}
                        {show(job.created_at)}
                      </div>
                    </td>
                    <td data-testid="job-state">{job.state}</td>
                    <td>
                      <JobProgress job={job} now={now} />
                    </td>
                    <td>
                      {COUNT_KEYS.filter((k) => (job.counts[k] ?? 0) > 0)
                        .map((k) => `${k} ${job.counts[k]}`)
                        .join(", ") || "—"}
                    </td>
                    <td>
                      {job.state === "running" || job.state === "queued" ? (
                        <ActionButton
                          action={`/console/jobs/${job.id}/cancel`}
                          csrf={s.csrf}
                          label="Cancel"
                          kind="danger"
                          ariaLabel={`Cancel job ${job.id.slice(0, 8)}`}
                        />
                      ) : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </Page>,
  );
}

export async function jobPage(s: Session, id: string): Promise<Response> {
  const job = await s.api<JobReport>("GET", `/sync/${encodeURIComponent(id)}`);
  if (job.status !== 200) {
    return s.c.html(
      <Page title="Job" section="jobs" csrf={s.csrf} flash={{ error: apiError(job) }}>
        <p>
          <a href="/console/jobs">All jobs</a>
        </p>
      </Page>,
      job.status === 404 || job.status === 400 ? 404 : 502,
    );
  }
  const j = job.body;
  const live = j.state === "running" || j.state === "queued";
  const plan = j.plan ?? [];
  const byAction = new Map<string, number>();
  for (const entry of plan) byAction.set(entry.action, (byAction.get(entry.action) ?? 0) + 1);
  return s.c.html(
    <Page title={`Job ${j.id.slice(0, 8)}`} section="jobs" csrf={s.csrf} flash={s.flash} refresh={live ? 3 : undefined}>
      <p>
        <a href="/console/jobs">All jobs</a>
      </p>
      <div class="card">
        <p>
          State: <strong data-testid="job-state">{j.state}</strong> · {j.mode}
          {j.dry_run ? " · dry run" : ""}
        </p>
        <JobProgress job={j} now={Date.now()} />
        <PerObject progress={j.progress} />
        <p>
          {COUNT_KEYS.map((k) => (
            <>
              <span style="margin-right:12px">
                {k}: <strong>{j.counts[k] ?? 0}</strong>
              </span>{" "}
            </>
          ))}
        </p>
        {live ? (
          <ActionButton action={`/console/jobs/${j.id}/cancel`} csrf={s.csrf} label="Cancel job" kind="danger" />
        ) : null}
      </div>
      {j.errors.length ? (
        <section aria-labelledby="job-errors">
          <h2 id="job-errors">Errors</h2>
          <pre>{JSON.stringify(j.errors, null, 2)}</pre>
        </section>
      ) : null}
      {j.dry_run ? (
        <section aria-labelledby="job-plan">
          <h2 id="job-plan">Dry-run report</h2>
          <p>
            {[...byAction].map(([action, n]) => `${action}: ${n}`).join(" · ") || "Nothing planned yet."}{" "}
            <span class="muted">(the first 200 records)</span>
          </p>
          <div class="table-wrap">
            <table data-testid="plan">
              <thead>
                <tr>
                  <th scope="col">Record</th>
                  <th scope="col">Would</th>
                  <th scope="col">To Salesforce</th>
                  <th scope="col">To Attio</th>
                  <th scope="col">Notes</th>
                </tr>
              </thead>
              <tbody>
                {plan.map((entry) => (
                  <tr>
                    <td>
                      {entry.mapping} · {entry.side}
                      <div>
                        <a href={`/console/records?q=${encodeURIComponent(entry.record_id)}`}>
                          <code>{entry.record_id}</code>
                        </a>
                      </div>
                    </td>
                    <td>{entry.action}</td>
                    <td>
                      <Fields values={entry["to_salesforce"]} />
                    </td>
                    <td>
                      <Fields values={entry["to_attio"]} />
                    </td>
                    <td>
                      <Notes entry={entry} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      ) : null}
    </Page>,
  );
}

/** Progress per object and side (`people:attio`): listed, synced, and whether its listing is finished. */
function PerObject(props: { progress: Record<string, unknown> }) {
  const rows = Object.entries(props.progress).flatMap(([key, value]) => {
    const entry = value as { enqueued?: unknown; processed?: unknown; complete?: unknown } | null;
    return key.includes(":") && entry && typeof entry.enqueued === "number"
      ? [{ key, enqueued: entry.enqueued, processed: Number(entry.processed ?? 0), complete: entry.complete === true }]
      : [];
  });
  if (rows.length === 0) return null;
  return (
    <ul class="muted" style="margin:6px 0;padding-left:18px">
      {rows.map((row) => (
        <li>
          {row.key}: {row.processed} of {row.enqueued} synced
          {row.complete ? "" : ", still listing"}
        </li>
      ))}
    </ul>
  );
}

function Fields(props: { values: unknown }) {
  if (!props.values || typeof props.values !== "object") return <span class="muted">—</span>;
  const all = Object.entries(props.values as Record<string, unknown>);
  if (all.length === 0) return <span class="muted">nothing</span>;
  // Fields a create leaves empty are counted, not listed: the values are what matters.
  const entries = all.filter(([, value]) => value !== null && value !== undefined);
  const empty = all.length - entries.length;
  return (
    <ul style="margin:0;padding-left:16px">
      {entries.map(([field, value]) => (
        <li>
          <code>{field}</code> = {show(value)}
        </li>
      ))}
      {empty ? <li class="muted">{empty} field(s) left empty</li> : null}
    </ul>
  );
}

/** What else a plan entry says: conflicts, values not written, candidates, deletes, references left. */
function Notes(props: { entry: PlanEntry }) {
  const skip = new Set(["mapping", "side", "record_id", "action", "to_salesforce", "to_attio", "resolved"]);
  const rest = Object.entries(props.entry).filter(
    ([key, value]) =>
      !skip.has(key) &&
      value !== null &&
      value !== undefined &&
      !(Array.isArray(value) && value.length === 0) &&
      !(key.endsWith("_record_id") && typeof value === "string"),
  );
  if (rest.length === 0) return <span class="muted">—</span>;
  return (
    <ul style="margin:0;padding-left:16px">
      {rest.map(([key, value]) => (
        <li>
          {key}: {show(value)}
        </li>
      ))}
    </ul>
  );
}
