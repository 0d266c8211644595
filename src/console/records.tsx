/** @jsxImportSource hono/jsx */
import { apiError, routeMissing } from "./api-client.ts";
import type { Session } from "./context.ts";
import { Page, show, Unavailable } from "./layout.tsx";

interface Found {
  attio_object: string | null;
  attio_record_id: string | null;
  sf_object: string | null;
  sf_record_id: string | null;
  linked: boolean;
  matched: "id" | "value";
  last_seen: string | null;
}

export async function searchPage(s: Session): Promise<Response> {
  const q = (s.c.req.query("q") ?? "").trim();
  const found =
    q.length >= 2 ? await s.api<{ items: Found[] }>("GET", `/records?q=${encodeURIComponent(q)}`) : undefined;
  return s.c.html(
    <Page title="Records" section="records" csrf={s.csrf} flash={s.flash}>
      <search>
        <form method="get" action="/console/records" class="card">
          <div class="field">
            <label for="q">Attio record id, Salesforce Id, email, domain or name</label>
            <input id="q" name="q" type="search" value={q} minlength={2} maxlength={200} required />
          </div>
          <button type="submit">Find</button>
        </form>
      </search>
      {found === undefined ? null : found.status !== 200 ? (
        <p class="notice error">{apiError(found)}</p>
      ) : found.body.items.length === 0 ? (
        <p data-testid="no-results">
          No record the sync knows matches “{q}”. Only records the sync has linked, written or read can be found.
        </p>
      ) : (
        <div class="table-wrap">
          <table data-testid="results">
            <caption class="muted">
              {found.body.items.length} record(s) for “{q}”
            </caption>
            <thead>
              <tr>
                <th scope="col">Attio</th>
                <th scope="col">Salesforce</th>
                <th scope="col">Linked</th>
                <th scope="col">Last seen</th>
              </tr>
            </thead>
            <tbody>
              {found.body.items.map((r) => (
                <tr>
                  <td>
                    {r.attio_object && r.attio_record_id ? (
                      <a
                        href={`/console/records/attio/${encodeURIComponent(r.attio_object)}/${encodeURIComponent(r.attio_record_id)}`}
                      >
                        {r.attio_object} <code>{r.attio_record_id}</code>
                      </a>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>
                    {r.sf_object && r.sf_record_id ? (
                      <a
                        href={`/console/records/salesforce/${encodeURIComponent(r.sf_object)}/${encodeURIComponent(r.sf_record_id)}`}
                      >
                        {r.sf_object} <code>{r.sf_record_id}</code>
                      </a>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>{r.linked ? "yes" : "no"}</td>
                  <td>{show(r.last_seen)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>,
  );
}

type Json = Record<string, unknown>;

export async function recordPage(s: Session, side: string, object: string, id: string): Promise<Response> {
  const path = `${encodeURIComponent(side)}/${encodeURIComponent(object)}/${encodeURIComponent(id)}`;
  const [explain, timeline, history] = await Promise.all([
    s.api<Json>("GET", `/explain/${path}`),
    s.api<{ items: Json[]; next_cursor?: string | null }>("GET", `/records/${path}/timeline`),
    s.api<{ items: Json[] }>("GET", `/history?record_id=${encodeURIComponent(id)}&limit=50`),
  ]);
  return s.c.html(
    <Page title={`${side} ${object} ${id}`} section="records" csrf={s.csrf} flash={s.flash}>
      <p>
        <a href="/console/records">Find another record</a>
      </p>
      <section aria-labelledby="explain">
        <h2 id="explain">Explain: in sync, or why not</h2>
        {routeMissing(explain) ? (
          <Unavailable what="Explain" route="GET /api/v1/explain/{side}/{object}/{record_id}" />
        ) : explain.status !== 200 ? (
          <p class="notice error">{apiError(explain)}</p>
        ) : (
          <Explain body={explain.body} />
        )}
      </section>
      <section aria-labelledby="timeline">
        <h2 id="timeline">Timeline across both systems</h2>
        {routeMissing(timeline) ? (
          <>
            <Unavailable what="The record timeline" route="GET /api/v1/records/{side}/{object}/{record_id}/timeline" />
            <p>The audit trail of the record (GET /api/v1/history), newest first:</p>
            {history.status === 200 ? <AuditTrail rows={history.body.items} /> : <p>{apiError(history)}</p>}
          </>
        ) : timeline.status !== 200 ? (
          <p class="notice error">{apiError(timeline)}</p>
        ) : (
          <Rows rows={timeline.body.items} testid="timeline" />
        )}
      </section>
    </Page>,
  );
}

function Explain(props: { body: Json }) {
  const b = props.body;
  const inSync = b["in_sync"] === true;
  const fields = Array.isArray(b["fields"]) ? (b["fields"] as Json[]) : undefined;
  const rest = Object.entries(b).filter(([key]) => !["in_sync", "reason", "fields"].includes(key));
  return (
    <div>
      <p class={`notice ${inSync ? "ok" : "error"}`} data-testid="explain-verdict">
        {inSync ? "In sync" : "Not in sync"}: <strong>{show(b["reason"])}</strong>
      </p>
      {fields ? <Rows rows={fields} testid="explain-fields" /> : null}
      <dl>
        {rest.map(([key, value]) => (
          <>
            <dt>
              <strong>{key}</strong>
            </dt>
            <dd>
              {typeof value === "object" && value !== null ? <pre>{JSON.stringify(value, null, 2)}</pre> : show(value)}
            </dd>
          </>
        ))}
      </dl>
    </div>
  );
}

/** A table of uniform-ish objects: one column per key seen, nested values as compact JSON. */
function Rows(props: { rows: Json[]; testid: string }) {
  if (props.rows.length === 0) return <p class="muted">Nothing yet.</p>;
  const columns = [...new Set(props.rows.flatMap((row) => Object.keys(row)))];
  return (
    <div class="table-wrap">
      <table data-testid={props.testid}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col">{column}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              {columns.map((column) => (
                <td>
                  {typeof row[column] === "object" && row[column] !== null ? (
                    <code>{JSON.stringify(row[column])}</code>
                  ) : (
                    show(row[column])
                  )}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Audit rows as a person reads them: when, what, which way, each field's before and after, who. */
function AuditTrail(props: { rows: Json[] }) {
  if (props.rows.length === 0) return <p class="muted">Nothing recorded yet.</p>;
  return (
    <div class="table-wrap">
      <table data-testid="history">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Fields (before → after)</th>
            <th scope="col">Cause</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => {
            const changes = (row["changes"] ?? {}) as Record<string, { before?: unknown; after?: unknown }>;
            const source = (row["source_event"] ?? {}) as Json;
            return (
              <tr>
                <td>{show(row["at"])}</td>
                <td>
                  {show(row["operation"])}
                  <div class="muted">
                    {row["direction"] === "attio_to_sf" ? "Attio → Salesforce" : "Salesforce → Attio"}
                  </div>
                </td>
                <td>
                  <ul style="margin:0;padding-left:16px">
                    {Object.entries(changes).map(([field, change]) => (
                      <li>
                        <code>{field}</code>: {show(change?.before)} → {show(change?.after)}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  {show(source["kind"])}
                  <div class="muted">{show(row["actor"])}</div>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
