/**
 * Command-line words to a command's input, with no I/O: `--flag value`, `--flag=value`, boolean
 * `--flag`, positionals, and `--` ending the flags. Errors are `UsageError`s naming the word.
 */

export interface FlagSpec {
  name: string;
  /** `boolean` takes no value; `string` takes the next word (or `=value`). */
  type: "boolean" | "string";
  description: string;
  /** Shown in help, e.g. `full|incremental|records`. */
  value?: string;
}

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, string | boolean>;
}

/** Wrong use of the CLI itself (exit code 2): an unknown flag, a missing value or argument. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Flags every command takes. */
export const GLOBAL_FLAGS: readonly FlagSpec[] = [
  {
    name: "url",
    type: "string",
    value: "url",
    description: "The Worker's URL (default: $ATTIO_SFDC_URL, then $WORKER_URL)",
  },
  { name: "json", type: "boolean", description: "Print the API's JSON answer as it is" },
  { name: "help", type: "boolean", description: "Show this help" },
];

export function parseArgs(argv: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map([...GLOBAL_FLAGS, ...specs].map((spec) => [spec.name, spec]));
  const positionals: string[] = [];
  const flags: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i] ?? "";
    if (word === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (word === "-h") {
      flags["help"] = true;
      continue;
    }
    if (!word.startsWith("--") || word === "-") {
      positionals.push(word);
      continue;
    }
    const eq = word.indexOf("=");
    const name = word.slice(2, eq === -1 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (spec.type === "boolean") {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq !== -1 ? word.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq === -1 && value.startsWith("--"))) {
      throw new UsageError(`--${name} needs a value${spec.value ? ` (${spec.value})` : ""}`);
    }
    flags[name] = value;
  }
  return { positionals, flags };
}

/** A string flag's value, if given. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  return typeof value === "string" ? value : undefined;
}

/** A comma-separated flag as a list (`--objects people,deals`), empty items dropped. */
export function listFlag(args: ParsedArgs, name: string): string[] | undefined {
  const value = stringFlag(args, name);
  return value === undefined
    ? undefined
    : value
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
}
