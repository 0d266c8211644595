/** The CLI's help texts, from the command table (so a command's help names the route it calls). */
import { type FlagSpec, GLOBAL_FLAGS } from "./args.ts";
import { COMMANDS } from "./commands.ts";
import { table } from "./format.ts";
import type { Command } from "./requests.ts";

/** Two aligned columns, indented, nothing cut. */
function columns(rows: readonly (readonly string[])[]): string[] {
  return table(["", ""], rows, "", Number.POSITIVE_INFINITY)
    .slice(1)
    .map((line) => `  ${line}`);
}

const SETTINGS = [
  "Settings",
  "  --url <url>, or ATTIO_SFDC_URL (then WORKER_URL)   the deployed Worker, e.g. https://attio-sfdc.acme.workers.dev",
  "  ATTIO_SFDC_TOKEN (or ADMIN_TOKEN)                  the admin token, read from the environment only",
  "",
  "Exit codes: 0 done; 1 the API refused, or doctor/validate found a failure; 2 wrong usage or settings;",
  "3 the Worker could not be reached.",
];

export function generalHelp(): string[] {
  return [
    "attio-sfdc: operate a deployment of the Attio <-> Salesforce sync through its management API (/api/v1)",
    "",
    "Usage: attio-sfdc <command> [arguments] [--json] [--url <url>]",
    "",
    "Commands",
    ...columns(COMMANDS.map((c) => [c.name, c.summary])),
    "",
    "`attio-sfdc <command> --help` shows a command's arguments, flags and the route it calls.",
    "",
    ...SETTINGS,
  ];
}

function flagLines(flags: readonly FlagSpec[]): string[] {
  return columns(flags.map((f) => [`--${f.name}${f.value ? ` <${f.value}>` : ""}`, f.description]));
}

export function commandHelp(command: Command): string[] {
  const args = command.positionals.map((p) => `<${p.name}>`).join(" ");
  const lines = [
    `attio-sfdc ${command.name}: ${command.summary}`,
    "",
    `Usage: attio-sfdc ${command.name}${args ? ` ${args}` : ""}${command.flags.length ? " [flags]" : ""}`,
    `Calls: ${command.route.method.toUpperCase()} /api/v1${command.route.path}`,
  ];
  if (command.positionals.length > 0) {
    lines.push("", "Arguments", ...columns(command.positionals.map((p) => [`<${p.name}>`, p.description])));
  }
  lines.push("", "Flags", ...flagLines([...command.flags, ...GLOBAL_FLAGS]));
  lines.push("", `Example: attio-sfdc ${command.example}`);
  return lines;
}
