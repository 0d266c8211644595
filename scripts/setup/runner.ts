import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** What a command printed and how it ended. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Written to the command's stdin (secret values: never on the command line, never in a file). */
  input?: string;
  /** Added to the command's environment. */
  env?: Record<string, string>;
}

/**
 * Runs `wrangler <args>`. Injectable so that tests record the commands setup runs and answer with
 * wrangler's documented output, without an account.
 */
export type WranglerRunner = (args: string[], options?: CommandOptions) => Promise<CommandResult>;

/** The project's own wrangler (node_modules), run with this Node; output captured, never shown raw. */
export function wranglerRunner(cwd: string): WranglerRunner {
  const require = createRequire(join(cwd, "package.json"));
  const bin = join(dirname(require.resolve("wrangler/package.json")), "bin/wrangler.js");
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [bin, ...args], {
        cwd,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", ...options.env },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      child.on("error", reject);
      child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
      child.stdin.end(options.input ?? "");
    });
}

/**
 * The JSON a wrangler command printed (`d1 list --json`, `kv namespace list`, `secret list`): from
 * the first line that opens an array or object, so a banner or warning printed before it is skipped.
 */
export function jsonOutput(stdout: string): unknown {
  const lines = stdout.split("\n");
  const start = lines.findIndex((line) => /^\s*[[{]/.test(line));
  if (start < 0) throw new Error(`expected JSON from wrangler, got: ${stdout.slice(0, 200)}`);
  return JSON.parse(lines.slice(start).join("\n"));
}
