/**
 * `attio-sfdc <command>`: finds the command, builds its call from the words, calls the Worker and
 * prints the answer (a readable view, or `--json`). Everything the process touches comes in
 * through `Io`, so tests run it in-process as well as through bin.mjs.
 */
import { GLOBAL_FLAGS, type ParsedArgs, parseArgs, stringFlag, UsageError } from "./args.ts";
import { CliError, callApi, type Target } from "./client.ts";
import { COMMANDS, findCommand } from "./commands.ts";
import { commandHelp, generalHelp } from "./help.ts";
import type { Output } from "./render.ts";
import { type Command, fillPath, type Io } from "./requests.ts";

export interface MainIo extends Io {
  out(line: string): void;
  err(line: string): void;
  fetch?: typeof fetch;
  /** Between two polls of `sync --wait`. */
  sleep?(ms: number): Promise<void>;
}

const TERMINAL_JOB_STATES = new Set(["done", "failed", "cancelled"]);
const POLL_MS = 1000;

/** Runs one command line; resolves with the exit code. */
export async function main(argv: readonly string[], env: Record<string, string | undefined>, io: MainIo) {
  try {
    return await run(argv, env, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`attio-sfdc: ${err.message}`);
      return 2;
    }
    if (err instanceof CliError) {
      io.err(err.message);
      return err.exitCode;
    }
    throw err;
  }
}

async function run(argv: readonly string[], env: Record<string, string | undefined>, io: MainIo): Promise<number> {
  const { lead, words } = splitLeadingFlags(argv);
  const found = findCommand(words);
  if (!found) {
    const asked = words[0];
    if (asked === undefined || asked === "help") {
      // Asked for: on standard output. No command at all is wrong usage: on standard error.
      const asking = asked === "help" || lead.some((w) => w === "--help" || w === "-h");
      for (const line of generalHelp()) (asking ? io.out : io.err)(line);
      return asking ? 0 : 2;
    }
    const group = COMMANDS.filter((c) => c.name.startsWith(`${asked} `)).map((c) => c.name);
    throw new UsageError(
      group.length > 0
        ? `${asked} needs one of: ${group.map((name) => name.split(" ")[1]).join(", ")}`
        : `unknown command: ${asked} (attio-sfdc --help lists them)`,
    );
  }
  const { command } = found;
  let args: ParsedArgs;
  try {
    args = parseArgs([...lead, ...found.rest], command.flags);
  } catch (err) {
    throw err instanceof UsageError ? new UsageError(`${command.name}: ${err.message}`) : err;
  }
  if (args.flags["help"] === true) {
    for (const line of commandHelp(command)) io.out(line);
    return 0;
  }
  const target = targetOf(args, env, io);
  const request = await withName(command, () => command.request(args, io));
  let body = await callApi(target, {
    method: command.route.method,
    path: fillPath(command.route.path, request.params),
    ...(request.query ? { query: request.query } : {}),
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  let view = command;
  const follow = command.follow?.(body, args);
  if (follow) {
    const next = COMMANDS.find((c) => c.name === follow.command);
    if (!next) throw new Error(`no command ${follow.command}`);
    if (args.flags["json"] !== true) for (const line of command.render(body).lines) io.err(line);
    view = next;
    body = await poll(target, next, follow.params, io);
  }
  return print(view, body, args.flags["json"] === true, io);
}

/** Global flags may come before the command's words: `attio-sfdc --json status`. */
function splitLeadingFlags(argv: readonly string[]): { lead: string[]; words: string[] } {
  const takesValue = new Set(GLOBAL_FLAGS.filter((f) => f.type === "string").map((f) => `--${f.name}`));
  let i = 0;
  while (i < argv.length && (argv[i] ?? "").startsWith("-") && argv[i] !== "--") {
    i += takesValue.has(argv[i] ?? "") ? 2 : 1;
  }
  return { lead: argv.slice(0, i), words: argv.slice(i) };
}

function targetOf(args: ParsedArgs, env: Record<string, string | undefined>, io: MainIo): Target {
  const url = stringFlag(args, "url") || env["ATTIO_SFDC_URL"] || env["WORKER_URL"];
  if (!url) throw new CliError("no Worker URL: pass --url <url> or set ATTIO_SFDC_URL", 2);
  const token = env["ATTIO_SFDC_TOKEN"] || env["ADMIN_TOKEN"];
  if (!token) throw new CliError("no admin token: set ATTIO_SFDC_TOKEN (the Worker's ADMIN_TOKEN)", 2);
  return { url, token, ...(io.fetch ? { fetch: io.fetch } : {}) };
}

async function withName<T>(command: Command, build: () => T | Promise<T>): Promise<T> {
  try {
    return await build();
  } catch (err) {
    throw err instanceof UsageError ? new UsageError(`${command.name}: ${err.message}`) : err;
  }
}

/** `sync --wait`: the job's report, read each second until the job has ended. */
async function poll(target: Target, command: Command, params: Record<string, string>, io: MainIo): Promise<unknown> {
  const sleep = io.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  for (;;) {
    const body = await callApi(target, { method: command.route.method, path: fillPath(command.route.path, params) });
    const state = (body as { state?: unknown }).state;
    if (typeof state === "string" && TERMINAL_JOB_STATES.has(state)) return body;
    await sleep(POLL_MS);
  }
}

function print(command: Command, body: unknown, json: boolean, io: MainIo): number {
  if (json) {
    io.out(JSON.stringify(body, null, 2));
    return exitCodeOf(command, body);
  }
  const output: Output = command.render(body);
  for (const line of output.lines) io.out(line);
  return output.exitCode ?? 0;
}

/** With --json the answer is printed as it is; a failure it reports still sets the exit code. */
function exitCodeOf(command: Command, body: unknown): number {
  try {
    return command.render(body).exitCode ?? 0;
  } catch {
    return 0;
  }
}
