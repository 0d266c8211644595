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
  field?: string | null;
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
          No record the sync knows matches “{q}”. Only records the sync has linked, written or read can be found: by an
          id, or by a value (an email, a domain, a name) they had when last synced.
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
                <th scope="col">Matched</th>
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
                  <td>{r.matched === "id" ? "id" : r.field ? <code>{r.field}</code> : "a value"}</td>
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
  const [explain, timeline] = await Promise.all([
    s.api<Json>("GET", `/explain/${path}`),
    s.api<{ items: Json[]; next_cursor?: string | null }>("GET", `/records/${path}/timeline?limit=200`),
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
          <Unavailable what="The record timeline" route="GET /api/v1/records/{side}/{object}/{record_id}/timeline" />
        ) : timeline.status !== 200 ? (
          <p class="notice error">{apiError(timeline)}</p>
        ) : (
          <>
            <Timeline rows={timeline.body.items} />
            {timeline.body.next_cursor ? (
              <p class="muted">The first 200 entries, oldest first: GET /api/v1/records/…/timeline pages on.</p>
            ) : null}
          </>
        )}
      </section>
    </Page>,
  );
}

function Explain(props: { body: Json }) {
  const b = props.body;
  const inSync = b["in_sync"] === true;
  const fields = Array.isArray(b["fields"]) ? (b["fields"] as Json[]) : [];
  const counterpart = (b["counterpart"] ?? null) as Json | null;
  const open = (b["open_items"] ?? {}) as Record<string, unknown[]>;
  const openCount = Object.values(open).reduce((n, list) => n + (Array.isArray(list) ? list.length : 0), 0);
  const last = (b["last_decision"] ?? null) as Json | null;
  return (
    <div>
      <p class={`notice ${inSync ? "ok" : "error"}`} data-testid="explain-verdict">
        {inSync ? "In sync" : "Not in sync"}: <strong>{show(b["reason"])}</strong>
        {typeof b["meaning"] === "string" ? <span> — {b["meaning"]}</span> : null}
      </p>
      {typeof b["next_step"] === "string" ? (
        <p>
          <strong>Next step:</strong> {b["next_step"]}
        </p>
      ) : null}
      <p class="muted">
        Mapping {show(b["mapping"])} · mode {show(b["mode"])} · counterpart{" "}
        {counterpart && typeof counterpart["record_id"] === "string" ? (
          <a
            href={`/console/records/${encodeURIComponent(String(counterpart["side"]))}/${encodeURIComponent(String(counterpart["object"]))}/${encodeURIComponent(counterpart["record_id"])}`}
          >
            {show(counterpart["side"])} {show(counterpart["object"])} <code>{counterpart["record_id"]}</code>
          </a>
        ) : (
          "none yet"
        )}
        {counterpart && counterpart["linked"] === false ? " (not linked yet)" : ""}
      </p>
      {fields.length ? (
        <div class="table-wrap">
          <table data-testid="explain-fields">
            <caption class="muted">
              Field by field: both values now, the base (last synced) and what a sync would do now
            </caption>
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">Attio</th>
                <th scope="col">Salesforce</th>
                <th scope="col">Base</th>
                <th scope="col">Newer</th>
                <th scope="col">Would</th>
              </tr>
            </thead>
            <tbody>
              {fields.map((f) => {
                const base = (f["base"] ?? null) as Json | null;
                return (
                  <tr class={f["in_sync"] === false ? "bad" : undefined}>
                    <th scope="row">
                      <code>{show(f["field"])}</code>
                      <div class="muted">{show(f["attribute"])}</div>
                    </th>
                    <td>{show(f["attio"])}</td>
                    <td>{show(f["salesforce"])}</td>
                    <td>
                      {base &&
                      base["attio"] !== undefined &&
                      JSON.stringify(base["attio"]) !== JSON.stringify(base["salesforce"])
                        ? `${show(base["attio"])} / ${show(base["salesforce"])}`
                        : show(base?.["salesforce"] ?? base?.["attio"])}
                    </td>
                    <td>{show(f["newer"])}</td>
                    <td>
                      {show(f["would"])}
                      {f["value"] !== undefined ? <div class="muted">{show(f["value"])}</div> : null}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      <p>
        {openCount === 0 ? "No open item on this record." : `${openCount} open item(s) on this record: `}
        {openCount > 0 ? <a href="/console/issues">see Issues</a> : null}
      </p>
      {last ? (
        <p class="muted">
          Last decision: {show(last["operation"])} {show(last["direction"])} at {show(last["at"])} by{" "}
          {show(last["actor"])}
        </p>
      ) : null}
      <details>
        <summary>The whole answer of /api/v1/explain</summary>
        <pre>{JSON.stringify(b, null, 2)}</pre>
      </details>
    </div>
  );
}

/** Timeline entries, oldest first: when, what, which way, each field's before and after, what caused it. */
function Timeline(props: { rows: Json[] }) {
  if (props.rows.length === 0) return <p class="muted">Nothing recorded yet.</p>;
  return (
    <div class="table-wrap">
      <table data-testid="timeline">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col">Fields (before → after) or detail</th>
            <th scope="col">Cause</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => {
            // A field empty before and after says nothing: left out.
            const changes = Object.fromEntries(
              Object.entries((row["changes"] ?? {}) as Record<string, { before?: unknown; after?: unknown }>).filter(
                ([, change]) => (change?.before ?? null) !== null || (change?.after ?? null) !== null,
              ),
            );
            const event = (row["event"] ?? {}) as Json;
            const detail = row["error_message"] ?? row["message"] ?? row["status"];
            return (
              <tr>
                <td>{show(row["at"])}</td>
                <td>
                  {show(row["kind"])}
                  {row["operation"] ? ` · ${show(row["operation"])}` : ""}
                  {row["status"] ? <div class="muted">{show(row["status"])}</div> : null}
                  {row["direction"] ? (
                    <div class="muted">
                      {row["direction"] === "attio_to_sf" ? "Attio → Salesforce" : "Salesforce → Attio"}
                    </div>
                  ) : null}
                </td>
                <td>
                  {Object.keys(changes).length ? (
                    <ul style="margin:0;padding-left:16px">
                      {Object.entries(changes).map(([field, change]) => (
                        <li>
                          <code>{field}</code>: {show(change?.before)} → {show(change?.after)}
                        </li>
                      ))}
                    </ul>
                  ) : (
                    show(detail)
                  )}
                </td>
                <td>
                  {show(event["kind"])}
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
