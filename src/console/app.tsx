/** @jsxImportSource hono/jsx */
import { type Context, Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../http/types.ts";
import { type ApiAnswer, type ApiFetch, apiError, callApi, routeMissing } from "./api-client.ts";
import { chartsPage } from "./charts.tsx";
import { configPage, type Report } from "./config.tsx";
import { makeSession, redirectWith, type Session } from "./context.ts";
import { issuesPage } from "./issues.tsx";
import { jobPage, jobsPage } from "./jobs.tsx";
import { Page } from "./layout.tsx";
import { overviewPage } from "./overview.tsx";
import { recordPage, searchPage } from "./records.tsx";
import { checkCsrf, csrfToken, endSession, sessionToken, startSession } from "./session.ts";

/**
 * `/console`: the operator console, HTML rendered on the Worker over /api/v1. It keeps no data and
 * decides nothing: each page reads the API, each button calls it, in-process, with the session's
 * token, so the API's auth, validation and errors are the console's too.
 */
export function createConsole(fetchApi: ApiFetch): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use(async (c, next) => {
    await next();
    // Pages hold operational data: never cached, never framed, no script of anyone's, forms only here.
    c.header("Cache-Control", "no-store");
    c.header(
      "Content-Security-Policy",
      "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "same-origin");
  });

  app.get("/sign-in", (c) => signInPage(c, 200));
  app.post("/sign-in", async (c) => {
    const csrf = await checkCsrf(c, undefined, undefined);
    if (!csrf.ok) return signInPage(c, 403, `Refused: ${csrf.why}.`);
    const form = z.object({ token: z.string().trim().min(1).max(1000) }).safeParse(await c.req.parseBody());
    if (!form.success) return signInPage(c, 400, "Enter the admin token.");
    // The API's own check decides: a token /api/v1 refuses cannot open the console.
    const probe = await callApi(c, fetchApi, form.data.token, "GET", "/history?limit=1");
    if (probe.status === 401) return signInPage(c, 401, "That token was refused.");
    if (probe.status !== 200) return signInPage(c, 502, `The API could not be reached: ${apiError(probe)}`);
    startSession(c, form.data.token);
    return c.redirect("/console", 303);
  });

  /** Signed-in routes: without a session (or with a token the API no longer takes) the sign-in page, no data. */
  const page = (handler: (s: Session) => Promise<Response>) => async (c: Context<AppEnv>) => {
    const token = sessionToken(c);
    if (!token) return signInPage(c, 401);
    const refused = { seen: false };
    const session = makeSession(c, fetchApi, token, await csrfToken(token));
    const response = await handler(withSignOut(session, c, refused));
    // Whatever the page made of it, a token the API refused shows the sign-in page, with no data.
    if (refused.seen) return signInPage(c, 401, "The session's token is no longer accepted: sign in again.");
    return response;
  };

  /** Signed-in POSTs: the form token and the origin are checked first. */
  const action = (handler: (s: Session, form: Record<string, unknown>) => Promise<Response>) =>
    page(async (s) => {
      const form = await s.c.req.parseBody({ all: true });
      const verdict = await checkCsrf(s.c, sessionToken(s.c), form["_csrf"]);
      if (!verdict.ok) {
        return s.c.html(<Page title="Refused" csrf={s.csrf} flash={{ error: `Refused: ${verdict.why}.` }} />, 403);
      }
      return handler(s, form);
    });

  app.post("/sign-out", async (c) => {
    const token = sessionToken(c);
    const form = await c.req.parseBody();
    const verdict = await checkCsrf(c, token, form["_csrf"]);
    if (!verdict.ok) return c.text(`Refused: ${verdict.why}.`, 403);
    endSession(c);
    return c.redirect("/console/sign-in", 303);
  });

  app.get("/", page(overviewPage));
  app.get("/charts", page(chartsPage));
  app.get("/jobs", page(jobsPage));
  app.get(
    "/jobs/:id",
    page((s) => jobPage(s, s.c.req.param("id") ?? "")),
  );
  app.get("/issues", page(issuesPage));
  app.get("/records", page(searchPage));
  app.get(
    "/records/:side/:object/:id",
    page((s) => recordPage(s, s.c.req.param("side") ?? "", s.c.req.param("object") ?? "", s.c.req.param("id") ?? "")),
  );
  app.get(
    "/config",
    page((s) => configPage(s)),
  );

  app.post(
    "/mode/:step",
    action(async (s) => {
      const step = z.enum(["start", "pause", "resume"]).safeParse(s.c.req.param("step"));
      if (!step.success) return redirectWith(s.c, "/console", { error: "Unknown mode change" });
      const answer = await s.api("POST", `/${step.data}`);
      if (routeMissing(answer)) {
        return redirectWith(s.c, "/console", {
          error: `Modes are not available on this deployment (no POST /api/v1/${step.data}).`,
        });
      }
      return outcome(s, answer, "/console", modeDone(step.data, answer as ApiAnswer<ModeAnswer>));
    }),
  );

  app.post(
    "/jobs",
    action(async (s, form) => {
      const parsed = JobForm.safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/jobs", { error: formError(parsed.error) });
      const { objects, mode, direction, dry_run } = parsed.data;
      const answer = await s.api<{ id: string }>("POST", "/sync", {
        ...(objects.length ? { objects } : {}),
        mode,
        direction,
        dry_run,
      });
      if (answer.status !== 202) return redirectWith(s.c, "/console/jobs", { error: apiError(answer) });
      return redirectWith(s.c, `/console/jobs/${answer.body.id}`, { ok: `Job started${dry_run ? " (dry run)" : ""}.` });
    }),
  );
  app.post(
    "/jobs/:id/cancel",
    action(async (s) => {
      const id = s.c.req.param("id") ?? "";
      const answer = await s.api("DELETE", `/sync/${encodeURIComponent(id)}`);
      return outcome(s, answer, "/console/jobs", "Job cancelled: records already queued still finish.");
    }),
  );

  app.post(
    "/issues/:verb",
    action(async (s, form) => {
      const verb = z.enum(["retry", "dismiss"]).safeParse(s.c.req.param("verb"));
      const parsed = IssueForm.safeParse(form);
      if (!verb.success || !parsed.success) {
        return redirectWith(s.c, "/console/issues", {
          error: parsed.success ? "Unknown action" : formError(parsed.error),
        });
      }
      const body =
        "reason" in parsed.data
          ? { reason: parsed.data.reason }
          : { items: [{ kind: parsed.data.kind, id: parsed.data.id }] };
      const answer = await s.api<{ acted: number; refused: { message?: string }[] }>(
        "POST",
        `/issues/${verb.data}`,
        body,
      );
      if (answer.status === 200 && answer.body.acted === 0 && answer.body.refused.length) {
        return redirectWith(s.c, "/console/issues", { error: answer.body.refused[0]?.message ?? "Nothing was done" });
      }
      const done = verb.data === "retry" ? "retried" : "dismissed";
      return outcome(
        s,
        answer,
        "/console/issues",
        answer.status === 200 ? `${answer.body.acted} item(s) ${done}.` : "",
      );
    }),
  );

  app.post(
    "/conflicts/:id",
    action(async (s, form) => {
      const parsed = z.object({ side: z.enum(["attio", "salesforce"]) }).safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/issues", { error: formError(parsed.error) });
      const id = s.c.req.param("id") ?? "";
      const answer = await s.api<{ field: string; value: unknown }>(
        "POST",
        `/conflicts/${encodeURIComponent(id)}`,
        parsed.data,
      );
      const ok =
        answer.status === 200 ? `${answer.body.field} set to ${JSON.stringify(answer.body.value)} on both sides.` : "";
      return outcome(s, answer, "/console/issues", ok);
    }),
  );

  app.post(
    "/deletes/:id",
    action(async (s, form) => {
      const parsed = Decision.safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/issues", { error: formError(parsed.error) });
      const id = s.c.req.param("id") ?? "";
      const answer = await s.api("POST", `/deletes/${encodeURIComponent(id)}`, parsed.data);
      return outcome(
        s,
        answer,
        "/console/issues",
        `Delete ${parsed.data.decision === "approve" ? "approved" : "rejected"}.`,
      );
    }),
  );
  app.post(
    "/deletes/batches/:id",
    action(async (s, form) => {
      const parsed = Decision.safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/issues", { error: formError(parsed.error) });
      const id = s.c.req.param("id") ?? "";
      const answer = await s.api<{ decided: number; remaining: number }>(
        "POST",
        `/deletes/batches/${encodeURIComponent(id)}`,
        parsed.data,
      );
      const ok =
        answer.status === 200 ? `${answer.body.decided} delete(s) decided; ${answer.body.remaining} left.` : "";
      return outcome(s, answer, "/console/issues", ok);
    }),
  );

  app.post(
    "/holds/:id",
    action(async (s, form) => {
      const parsed = Decision.safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/issues", { error: formError(parsed.error) });
      const id = s.c.req.param("id") ?? "";
      const answer = await s.api<{ records: number }>("POST", `/holds/${encodeURIComponent(id)}`, parsed.data);
      if (routeMissing(answer)) {
        return redirectWith(s.c, "/console/issues", {
          error: "The mass-update breaker is not available on this deployment.",
        });
      }
      const ok =
        answer.status === 200
          ? parsed.data.decision === "approve"
            ? `Approved: ${answer.body.records} record(s) are being written.`
            : `Rejected: nothing is written for ${answer.body.records} record(s).`
          : "";
      return outcome(s, answer, "/console/issues", ok);
    }),
  );

  app.post(
    "/matches/:id",
    action(async (s, form) => {
      const parsed = z.object({ candidate_id: z.string().min(1).max(100) }).safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/issues", { error: formError(parsed.error) });
      const id = s.c.req.param("id") ?? "";
      const answer = await s.api("POST", `/matches/${encodeURIComponent(id)}`, {
        action: "link",
        candidate_id: parsed.data.candidate_id,
      });
      return outcome(s, answer, "/console/issues", `Linked to ${parsed.data.candidate_id}; the record is queued.`);
    }),
  );

  app.post(
    "/config",
    action(async (s, form) => {
      const parsed = z.object({ toml: z.string().max(200_000), intent: z.enum(["validate", "save"]) }).safeParse(form);
      if (!parsed.success) return redirectWith(s.c, "/console/config", { error: formError(parsed.error) });
      // Browsers send textarea line breaks as CRLF; the document is stored as typed.
      const toml = parsed.data.toml.replace(/\r\n/g, "\n");
      if (parsed.data.intent === "validate") {
        const answer = await s.api<Report>("POST", "/validate", { toml });
        if (answer.status !== 200) return configPage(s, { toml, flash: { error: apiError(answer) } });
        return configPage(s, { toml, report: answer.body });
      }
      const answer = await s.api<{ version: number } & Partial<Report>>("PUT", "/config", { toml });
      if (answer.status === 422) return configPage(s, { toml, report: answer.body as Report });
      if (answer.status !== 200) return configPage(s, { toml, flash: { error: apiError(answer) } });
      return redirectWith(s.c, "/console/config", { ok: `Stored as version ${answer.body.version}.` });
    }),
  );

  return app;
}

/** A session whose API calls end it when the API stops taking its token (rotated, removed). */
function withSignOut(session: Session, c: Context<AppEnv>, refused: { seen: boolean }): Session {
  return {
    ...session,
    api: async (method, path, body) => {
      const answer = await session.api(method, path, body);
      if (answer.status === 401) {
        refused.seen = true;
        endSession(c);
      }
      return answer as never;
    },
  };
}

const JobForm = z.object({
  objects: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : Array.isArray(v) ? v : [v])),
  mode: z.enum(["full", "incremental"]).default("full"),
  direction: z.enum(["both", "attio_to_sf", "sf_to_attio"]).default("both"),
  dry_run: z
    .string()
    .optional()
    .transform((v) => v === "true"),
});
const IssueForm = z.union([
  z.object({ reason: z.string().min(1).max(100) }),
  z.object({ kind: z.string().min(1).max(40), id: z.string().min(1).max(500) }),
]);
const Decision = z.object({ decision: z.enum(["approve", "reject"]) });

function formError(error: z.ZodError): string {
  return `Invalid form: ${error.issues.map((i) => `${i.path.join(".") || "(form)"}: ${i.message}`).join("; ")}`;
}

interface ModeAnswer {
  changed?: boolean;
  delivery?: { state?: string; sent?: number } | null;
  first_catch_up?:
    | {
        mapping: string;
        salesforce?: { ok?: boolean; records?: number };
        attio?: { ok?: boolean; records?: number; linked?: number };
      }[]
    | null;
}

/** What a mode change did, in a sentence: the first catch-up's size on start, what was delivered on resume. */
export function modeDone(step: "start" | "pause" | "resume", answer: ApiAnswer<ModeAnswer>): string {
  if (answer.status !== 200) return "";
  const body = answer.body ?? {};
  const delivered = body.delivery?.sent ? ` ${body.delivery.sent} held change(s) sent.` : "";
  switch (step) {
    case "start": {
      if (body.changed === false) return "Already running.";
      const plan = (body.first_catch_up ?? [])
        .map((m) => {
          const sf = m.salesforce?.ok ? `${m.salesforce.records ?? 0} changed in Salesforce` : "Salesforce not counted";
          const attio = m.attio?.ok
            ? `${Math.max(0, (m.attio.records ?? 0) - (m.attio.linked ?? 0))} unlinked in Attio`
            : "Attio not counted";
          return `${m.mapping}: ${sf}, ${attio}`;
        })
        .join("; ");
      return `Started: the sync now writes to both CRMs.${delivered}${plan ? ` First catch-up: ${plan}.` : ""}`;
    }
    case "pause":
      return body.changed === false ? "Already paused." : "Paused: nothing is written to either CRM; changes are kept.";
    case "resume":
      return `Resumed: the sync writes again.${delivered}`;
  }
}

/** After an action: back to the page, with the API's verdict (its own error message when it refused). */
function outcome(s: Session, answer: ApiAnswer, path: string, ok: string): Response {
  if (answer.status === 401)
    return redirectWith(s.c, "/console/sign-in", { error: "The session's token is no longer accepted." });
  if (answer.status >= 200 && answer.status < 300) return redirectWith(s.c, path, { ok: ok || "Done." });
  return redirectWith(s.c, path, { error: apiError(answer) });
}

function signInPage(
  c: Context<AppEnv>,
  status: 200 | 400 | 401 | 403 | 502,
  error?: string,
): Response | Promise<Response> {
  const flash = { error: error ?? c.req.query("error")?.slice(0, 300) };
  return c.html(
    <Page title="Sign in" flash={flash}>
      <form method="post" action="/console/sign-in" class="card" style="max-width:520px">
        <div class="field">
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="off" required aria-describedby="token-help" />
          <span id="token-help" class="muted">
            ADMIN_TOKEN, or ADMIN_READ_TOKEN to look without changing anything. It is kept for this browser session
            only.
          </span>
        </div>
        <button type="submit">Sign in</button>
      </form>
    </Page>,
    status,
  );
}
