/**
 * Every CLI command as the route of the management API it calls (method, path, parameters) and
 * how its words become that call. test/node/cli/routes.test.ts checks each against the OpenAPI
 * document the Worker builds from its route definitions, so a renamed route fails there.
 */
import { stringFlag, UsageError } from "./args.ts";
import * as render from "./render.ts";
import * as work from "./render-work.ts";
import {
  type Command,
  command,
  configBody,
  decision,
  issueAction,
  issueActionFlags,
  none,
  pageFlags,
  pageQuery,
  positionals,
  reasonFlag,
  syncBody,
  syncFlags,
} from "./requests.ts";

export const COMMANDS: readonly Command[] = [
  command({
    name: "status",
    summary: "Health, mode, open work and each mapping's linked records",
    route: { method: "get", path: "/status" },
    positionals: [],
    flags: [],
    example: "status",
    request: none,
    render: render.renderStatus,
  }),
  command({
    name: "start",
    summary: "Start a new deployment (setup -> running): held changes are delivered, the catch-up begins",
    route: { method: "post", path: "/start" },
    positionals: [],
    flags: [],
    example: "start",
    request: none,
    render: render.renderMode,
  }),
  command({
    name: "pause",
    summary: "Stop every write to both CRMs; what arrives meanwhile is held",
    route: { method: "post", path: "/pause" },
    positionals: [],
    flags: [],
    example: "pause",
    request: none,
    render: render.renderMode,
  }),
  command({
    name: "resume",
    summary: "Deliver what was held, each change once, and sync again",
    route: { method: "post", path: "/resume" },
    positionals: [],
    flags: [],
    example: "resume",
    request: none,
    render: render.renderMode,
  }),
  command({
    name: "sync",
    summary: "Start a sync job (full, incremental or given records; --dry-run plans without writing)",
    route: { method: "post", path: "/sync" },
    positionals: [],
    flags: syncFlags,
    example: "sync --dry-run --objects people --wait",
    request: (args) => {
      positionals(args, []);
      return { params: {}, body: syncBody(args) };
    },
    render: render.renderJobCreated,
    follow: (answer, args) => {
      const id = (answer as { id?: unknown }).id;
      return args.flags["wait"] === true && typeof id === "string"
        ? { command: "jobs show", params: { id } }
        : undefined;
    },
  }),
  command({
    name: "jobs",
    summary: "The newest sync jobs, with their state and counts",
    route: { method: "get", path: "/sync" },
    positionals: [],
    flags: [{ name: "limit", type: "string", value: "n", description: "How many, at most 50 (default 20)" }],
    example: "jobs --limit 5",
    request: (args) => {
      positionals(args, []);
      return { params: {}, query: { limit: stringFlag(args, "limit") } };
    },
    render: render.renderJobs,
  }),
  command({
    name: "jobs show",
    summary: "One job: state, counts, errors and (dry runs) what each record would get",
    route: { method: "get", path: "/sync/{id}" },
    positionals: [{ name: "id", description: "The job's id (from `sync` or `jobs`)" }],
    flags: [],
    example: "jobs show 0b7c1f52-5a1e-4a5e-9d7e-3f0c2a9b8e11",
    request: (args) => ({ params: positionals(args, ["id"]) }),
    render: render.renderJob,
  }),
  command({
    name: "jobs cancel",
    summary: "Cancel a queued or running job (records already queued still finish)",
    route: { method: "delete", path: "/sync/{id}" },
    positionals: [{ name: "id", description: "The job's id" }],
    flags: [],
    example: "jobs cancel 0b7c1f52-5a1e-4a5e-9d7e-3f0c2a9b8e11",
    request: (args) => ({ params: positionals(args, ["id"]) }),
    render: render.renderCancelled,
  }),
  command({
    name: "issues",
    summary: "Open issues grouped by reason: what happened, what to do, the items",
    route: { method: "get", path: "/issues" },
    positionals: [],
    flags: [
      { name: "reason", type: "string", value: "reason", description: "One group only (e.g. write_rejected)" },
      { name: "limit", type: "string", value: "n", description: "Items per group, at most 200 (default 50)" },
      { name: "cursor", type: "string", value: "cursor", description: "With --reason: the next page" },
    ],
    example: "issues --limit 5",
    request: (args) => {
      positionals(args, []);
      const reason = reasonFlag(args);
      return {
        params: {},
        query: { reason, limit: stringFlag(args, "limit"), cursor: stringFlag(args, "cursor") },
      };
    },
    render: render.renderIssues,
  }),
  command({
    name: "issues retry",
    summary: "Retry a group or listed items: failures replayed, warnings and ambiguous matches synced again",
    route: { method: "post", path: "/issues/retry" },
    positionals: [],
    flags: issueActionFlags,
    example: "issues retry --reason unmatched_user",
    request: issueAction,
    render: work.renderIssueAction,
  }),
  command({
    name: "issues dismiss",
    summary: "Dismiss a group or listed items: each leaves every count until it happens again",
    route: { method: "post", path: "/issues/dismiss" },
    positionals: [],
    flags: issueActionFlags,
    example: "issues dismiss --items warning:1264d38e578e2973115c4b905f9cd41e --note expected",
    request: issueAction,
    render: work.renderIssueAction,
  }),
  command({
    name: "explain",
    summary: "Why a record is or is not in sync: reason, next step and the field-by-field table",
    route: { method: "get", path: "/explain/{side}/{object}/{record_id}" },
    positionals: [
      { name: "side", description: "attio or salesforce: the side the id is from" },
      { name: "object", description: "As that side names it: people, Contact, …" },
      { name: "record_id", description: "An Attio record id or a Salesforce Id" },
    ],
    flags: [],
    example: "explain salesforce Contact 003000000000001AAA",
    request: (args) => ({ params: positionals(args, ["side", "object", "record_id"]) }),
    render: render.renderExplain,
  }),
  command({
    name: "conflicts",
    summary: "Fields changed on both sides to different values",
    route: { method: "get", path: "/conflicts" },
    positionals: [],
    flags: pageFlags("open|resolved|dismissed"),
    example: "conflicts",
    request: pageQuery,
    render: work.renderConflicts,
  }),
  command({
    name: "conflicts resolve",
    summary: "Resolve a conflict with one side's value or your own: written to both sides and audited",
    route: { method: "post", path: "/conflicts/{id}" },
    positionals: [{ name: "id", description: "The conflict's id (from `conflicts`)" }],
    flags: [
      { name: "side", type: "string", value: "attio|salesforce", description: "Take that side's value" },
      { name: "value", type: "string", value: "text", description: "Set this value instead (text)" },
    ],
    example: "conflicts resolve c_01hx --side salesforce",
    request: (args) => {
      const params = positionals(args, ["id"]);
      const side = stringFlag(args, "side");
      const value = stringFlag(args, "value");
      if ((side === undefined) === (value === undefined)) throw new UsageError("give --side or --value (not both)");
      if (side !== undefined && side !== "attio" && side !== "salesforce") {
        throw new UsageError(`--side: attio or salesforce, not ${side}`);
      }
      return { params, body: side !== undefined ? { side } : { value } };
    },
    render: work.renderResolved,
  }),
  command({
    name: "deletes",
    summary: "Deletes held for a decision (the delete policy, the mass-delete breaker)",
    route: { method: "get", path: "/deletes" },
    positionals: [],
    flags: pageFlags("pending|approved|rejected"),
    example: "deletes --status pending",
    request: pageQuery,
    render: work.renderDeletes,
  }),
  command({
    name: "deletes approve",
    summary: "Approve a held delete: the counterpart is deleted too",
    route: { method: "post", path: "/deletes/{id}" },
    positionals: [{ name: "id", description: "The delete's id (from `deletes`)" }],
    flags: [],
    example: "deletes approve d_01hx",
    request: decision("approve"),
    render: work.renderDecided,
  }),
  command({
    name: "deletes reject",
    summary: "Reject a held delete: the counterpart is kept",
    route: { method: "post", path: "/deletes/{id}" },
    positionals: [{ name: "id", description: "The delete's id" }],
    flags: [],
    example: "deletes reject d_01hx",
    request: decision("reject"),
    render: work.renderDecided,
  }),
  command({
    name: "deletes approve-batch",
    summary: "Approve every pending delete of a batch the mass-delete breaker held (status lists them)",
    route: { method: "post", path: "/deletes/batches/{id}" },
    positionals: [{ name: "id", description: "The batch's id (`held_delete_batches` in status)" }],
    flags: [],
    example: "deletes approve-batch b_01hx",
    request: decision("approve"),
    render: work.renderBatchDecided,
  }),
  command({
    name: "deletes reject-batch",
    summary: "Reject every pending delete of a held batch: the counterparts are kept",
    route: { method: "post", path: "/deletes/batches/{id}" },
    positionals: [{ name: "id", description: "The batch's id" }],
    flags: [],
    example: "deletes reject-batch b_01hx",
    request: decision("reject"),
    render: work.renderBatchDecided,
  }),
  command({
    name: "matches",
    summary: "Records that matched several candidates on the other side",
    route: { method: "get", path: "/matches" },
    positionals: [],
    flags: pageFlags("open|resolved|retried|dismissed"),
    example: "matches",
    request: pageQuery,
    render: work.renderMatches,
  }),
  command({
    name: "matches link",
    summary: "Link an ambiguous record to the candidate you choose",
    route: { method: "post", path: "/matches/{id}" },
    positionals: [
      { name: "id", description: "The match's id (from `matches`)" },
      { name: "candidate_id", description: "One of its candidates" },
    ],
    flags: [],
    example: "matches link m_01hx 003Sb0000004C93IAE",
    request: (args) => {
      const { id, candidate_id } = positionals(args, ["id", "candidate_id"]);
      return { params: { id }, body: { action: "link", candidate_id } };
    },
    render: work.renderLinked,
  }),
  command({
    name: "config get",
    summary: "The configuration in force, as TOML (`config get > config.toml`)",
    route: { method: "get", path: "/config" },
    positionals: [],
    flags: [],
    example: "config get",
    request: none,
    render: work.renderConfig,
  }),
  command({
    name: "config put",
    summary: "Store a new configuration version (refused, with every problem, when invalid)",
    route: { method: "put", path: "/config" },
    positionals: [{ name: "file", description: "A config.toml (`-`: standard input)" }],
    flags: [],
    example: "config put config.toml",
    request: configBody,
    render: work.renderConfigStored,
  }),
  command({
    name: "config validate",
    summary: "Check a configuration against both live schemas without storing it",
    route: { method: "post", path: "/validate" },
    positionals: [{ name: "file", description: "A config.toml (`-`: standard input)" }],
    flags: [],
    example: "config validate config.toml",
    request: configBody,
    render: work.renderValidation,
  }),
  command({
    name: "doctor",
    summary: "Check the deployment: Attio key, scopes, webhook; Salesforce access, CDC; relay; cron",
    route: { method: "get", path: "/doctor" },
    positionals: [],
    flags: [],
    example: "doctor",
    request: none,
    render: work.renderDoctor,
  }),
];

/**
 * The command the words name, longest name first (`jobs show` before `jobs`), and the words
 * left for it; undefined when none matches.
 */
export function findCommand(words: readonly string[]): { command: Command; rest: string[] } | undefined {
  const sorted = [...COMMANDS].sort((a, b) => b.name.split(" ").length - a.name.split(" ").length);
  for (const command of sorted) {
    const name = command.name.split(" ");
    if (name.every((word, i) => words[i] === word)) return { command, rest: words.slice(name.length) };
  }
  return undefined;
}
