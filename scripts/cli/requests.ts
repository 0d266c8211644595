/**
 * How a command's words become its call: the command's shape, the request builders the table
 * shares (positionals, pages, sync's body, issue actions, decisions) and the path filled in.
 * Bodies are checked with the API's own schemas where those are plain zod.
 */
import { JobParamsSchema } from "../../src/store/job-schemas.ts";
import { ISSUE_KINDS, IssueReasonSchema } from "../../src/sync/issue-reasons.ts";
import { type FlagSpec, listFlag, type ParsedArgs, stringFlag, UsageError } from "./args.ts";
import type { Method } from "./client.ts";
import type { Output } from "./render.ts";

/** `{id}` placeholders of an OpenAPI path, as a union of their names. */
type PathParams<P extends string> = P extends `${string}{${infer Name}}${infer Rest}` ? Name | PathParams<Rest> : never;

export interface Request<P extends string = string> {
  params: Record<PathParams<P>, string>;
  query?: Record<string, string | undefined>;
  body?: unknown;
}

/** What a command may read besides its words: a file (`-`: standard input). */
export interface Io {
  readText(path: string): Promise<string>;
}

export interface Positional {
  name: string;
  description: string;
}

export interface Command<P extends string = string> {
  /** One or two words: `status`, `config get`. */
  name: string;
  summary: string;
  route: { method: Method; path: P };
  positionals: readonly Positional[];
  flags: readonly FlagSpec[];
  /** The words after `attio-sfdc`, shown in help and docs/CLI.md. */
  example: string;
  request(args: ParsedArgs, io: Io): Request<P> | Promise<Request<P>>;
  render(body: unknown): Output;
  /** `sync --wait`: another command's call to follow the answer with; its view is printed instead. */
  follow?(answer: unknown, args: ParsedArgs): { command: string; params: Record<string, string> } | undefined;
}

/** Keeps each command's path and its params checked against each other, then forgets the path type. */
export function command<P extends string>(spec: Command<P>): Command {
  return spec as unknown as Command;
}

/** The positionals, all required, by name. */
export function positionals<const N extends string>(args: ParsedArgs, names: readonly N[]): Record<N, string> {
  if (args.positionals.length !== names.length) {
    const want = names.length === 0 ? "no arguments" : names.map((n) => `<${n}>`).join(" ");
    throw new UsageError(
      `expected ${want}, got ${args.positionals.length === 0 ? "none" : args.positionals.join(" ")}`,
    );
  }
  return Object.fromEntries(names.map((name, i) => [name, args.positionals[i] ?? ""])) as Record<N, string>;
}

export const none = (args: ParsedArgs) => {
  positionals(args, []);
  return { params: {} };
};

export const pageFlags = (statuses: string): FlagSpec[] => [
  { name: "status", type: "string", value: statuses, description: "Which to list (default: the first)" },
  { name: "limit", type: "string", value: "n", description: "Items per page, at most 200 (default 50)" },
  { name: "cursor", type: "string", value: "cursor", description: "The `more:` cursor of the previous page" },
];

export const pageQuery = (args: ParsedArgs) => {
  positionals(args, []);
  return {
    params: {},
    query: { status: stringFlag(args, "status"), limit: stringFlag(args, "limit"), cursor: stringFlag(args, "cursor") },
  };
};

export const syncFlags: FlagSpec[] = [
  { name: "dry-run", type: "boolean", description: "Plan every record, write nothing (runs in any mode)" },
  { name: "mode", type: "string", value: "full|incremental|records", description: "What to sync (default full)" },
  {
    name: "direction",
    type: "string",
    value: "both|attio_to_sf|sf_to_attio",
    description: "Whose records to list (default both)",
  },
  { name: "objects", type: "string", value: "a,b", description: "Mapping names (default: every enabled mapping)" },
  { name: "attio", type: "string", value: "id,id", description: "--mode records: Attio record ids" },
  { name: "salesforce", type: "string", value: "id,id", description: "--mode records: Salesforce Ids" },
  { name: "since", type: "string", value: "iso-time", description: "--mode incremental: changed since" },
  { name: "wait", type: "boolean", description: "Poll the job until it ends and print its report" },
];

/** POST /sync's body from the flags, checked with the API's own schema before anything is sent. */
export function syncBody(args: ParsedArgs) {
  const attio = listFlag(args, "attio");
  const salesforce = listFlag(args, "salesforce");
  const candidate = {
    objects: listFlag(args, "objects"),
    direction: stringFlag(args, "direction"),
    mode: stringFlag(args, "mode"),
    record_ids: attio || salesforce ? present({ attio, salesforce }) : undefined,
    since: stringFlag(args, "since"),
    dry_run: args.flags["dry-run"] === true,
  };
  const parsed = JobParamsSchema.safeParse(present(candidate));
  if (!parsed.success) {
    const flag: Record<string, string> = { record_ids: "attio/--salesforce", dry_run: "dry-run" };
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? "");
    throw new UsageError(`--${flag[name] ?? name}: ${issue?.message ?? "invalid"}`);
  }
  return parsed.data;
}

/** The members that are set: flags not given are absent from the body, not `undefined`. */
function present<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The config document named by `<file>` (`-`: standard input). */
export async function configBody(args: ParsedArgs, io: Io) {
  const { file } = positionals(args, ["file"]);
  let toml: string;
  try {
    toml = await io.readText(file);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return { params: {}, body: { toml } };
}

export function reasonFlag(args: ParsedArgs) {
  const reason = stringFlag(args, "reason");
  if (reason !== undefined && !IssueReasonSchema.safeParse(reason).success) {
    throw new UsageError(`--reason: not a reason: ${reason} (one of ${IssueReasonSchema.options.join(", ")})`);
  }
  return reason;
}

export const issueActionFlags: FlagSpec[] = [
  { name: "reason", type: "string", value: "reason", description: "A whole group (as `issues` lists it)" },
  { name: "items", type: "string", value: "kind:id,…", description: "Listed items, e.g. failure:f1,warning:w2" },
  { name: "note", type: "string", value: "text", description: "Why, kept with the audit row" },
];

/** POST /issues/retry and /dismiss: a group (`--reason`) or listed items (`--items kind:id,…`). */
export function issueAction(args: ParsedArgs) {
  positionals(args, []);
  const reason = reasonFlag(args);
  const listed = listFlag(args, "items");
  if ((reason === undefined) === (listed === undefined)) throw new UsageError("give --reason or --items (not both)");
  const items = listed?.map((item) => {
    const at = item.indexOf(":");
    const kind = item.slice(0, at);
    if (at < 1 || !(ISSUE_KINDS as readonly string[]).includes(kind) || at === item.length - 1) {
      throw new UsageError(`--items: ${item} is not kind:id (kinds: ${ISSUE_KINDS.join(", ")})`);
    }
    return { kind, id: item.slice(at + 1) };
  });
  return { params: {}, body: present({ reason, items, note: stringFlag(args, "note") }) };
}

export const decision = (value: "approve" | "reject") => (args: ParsedArgs) => ({
  params: positionals(args, ["id"]),
  body: { decision: value },
});

/** `/explain/{side}/…` with each parameter filled in, encoded. */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new UsageError(`missing <${name}>`);
    return encodeURIComponent(value);
  });
}
